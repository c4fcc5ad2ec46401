-- An organization's generation: a number that grows with every change to its settings or its
-- skills, made by these triggers in the transaction of the change, so no change can miss it.
-- A server keeps the settings and catalog it read with their generation and reads them again
-- only when the stored generation has moved: each request then checks one integer instead of
-- reading the settings and the whole catalog, and still sees every change committed before
-- it, by any instance.
ALTER TABLE orgs ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION skills_bump_org_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE orgs SET generation = generation + 1 WHERE id = OLD.org_id;
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.org_id <> OLD.org_id) THEN
        UPDATE orgs SET generation = generation + 1 WHERE id = NEW.org_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER skills_generation AFTER INSERT OR UPDATE OR DELETE ON skills
    FOR EACH ROW EXECUTE FUNCTION skills_bump_org_generation();

CREATE FUNCTION orgs_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.generation := OLD.generation + 1;
    RETURN NEW;
END $$;

CREATE TRIGGER orgs_settings_generation BEFORE UPDATE ON orgs
    FOR EACH ROW WHEN (OLD.settings IS DISTINCT FROM NEW.settings)
    EXECUTE FUNCTION orgs_bump_generation();
