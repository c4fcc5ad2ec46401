-- The console's grid sorts an organization's agents by name and pages through them by keyset
-- on (name, id): with this index a page reads its 50 rows, not every agent of the
-- organization. (Sorting by e-mail uses the unique (org_id, email_key) index.)
CREATE INDEX agents_org_name ON agents (org_id, name, id);
