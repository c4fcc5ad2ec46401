-- An organization's generation: a number that grows with every change to its settings or its
-- skills, made by these triggers in the transaction of the change, so no change can miss it.
-- A server keeps the settings and catalog it read with their generation and reads them again
-- only when the stored generation has moved: each request then checks one integer instead of
-- reading the settings and the whole catalog, and still sees every change committed before
-- it, by any process.
ALTER TABLE orgs ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER skills_generation_insert AFTER INSERT ON skills BEGIN
    UPDATE orgs SET generation = generation + 1 WHERE id = NEW.org_id;
END;

CREATE TRIGGER skills_generation_update AFTER UPDATE ON skills BEGIN
    UPDATE orgs SET generation = generation + 1 WHERE id IN (OLD.org_id, NEW.org_id);
END;

CREATE TRIGGER skills_generation_delete AFTER DELETE ON skills BEGIN
    UPDATE orgs SET generation = generation + 1 WHERE id = OLD.org_id;
END;

CREATE TRIGGER orgs_settings_generation AFTER UPDATE OF settings ON orgs
    WHEN OLD.settings IS NOT NEW.settings BEGIN
    UPDATE orgs SET generation = generation + 1 WHERE id = NEW.id;
END;
