-- The two foreign keys of assignments are enforced by the store's locks instead of row by
-- row. PostgreSQL checks a foreign key with a trigger per inserted row (a query and a row
-- lock each): about half of the time of a 100,000-assignment bulk write. What they guarded
-- against cannot happen while the locks below are held:
--   - agents are never deleted, and every write locks the rows of the agents it writes
--     (FOR UPDATE) before reading them;
--   - a skill is deleted only under its organization's advisory lock held exclusively, and
--     every skill-set write holds that lock shared from its first statement, reading the
--     organization's skills after taking it: a deletion waits for the writes under way and
--     then counts their assignments (and refuses), and a write that starts later no longer
--     sees the skill (409).
-- The SQLite schema keeps its foreign keys (SQLite checks them cheaply, and large writes there
-- turn the check off for their own transaction).
ALTER TABLE assignments DROP CONSTRAINT assignments_agent_id_fkey;
ALTER TABLE assignments DROP CONSTRAINT assignments_skill_id_fkey;
