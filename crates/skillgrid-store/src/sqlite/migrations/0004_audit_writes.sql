-- What the audit rows of one large write share, stored once instead of on each of its rows:
-- when, which request, which client, and the skills its entries name (an entry then names its
-- skill by its place in that list; formats: see src/audit.rs). A 100,000-assignment bulk write
-- records its 10,000 rows in about a third of the pages it took before, and commits faster.
CREATE TABLE audit_writes (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    request_id  TEXT NOT NULL,
    client_uuid BLOB NOT NULL,
    skills      BLOB NOT NULL       -- 16-byte skill ids, one after another
);

-- audit_sets rebuilt so that a row may leave those values to its write: they become NULL-able
-- and write_id names the write (NULL on rows that hold them themselves, as every earlier row
-- does). agent_uuid is NULL on rows of a write: agents are never deleted, so their id is read
-- from agents.
CREATE TABLE audit_sets_new (
    id          INTEGER PRIMARY KEY,
    uuid        BLOB NOT NULL,      -- entry i's id is this with i XORed into its last two bytes
    org_id      INTEGER NOT NULL,
    write_id    INTEGER,
    at          INTEGER,
    request_id  TEXT,
    client_uuid BLOB,
    agent_id    INTEGER NOT NULL,
    agent_uuid  BLOB,
    entries     BLOB NOT NULL,
    n           INTEGER NOT NULL    -- how many entries
);

INSERT INTO audit_sets_new (id, uuid, org_id, at, request_id, client_uuid, agent_id, agent_uuid, entries, n)
SELECT id, uuid, org_id, at, request_id, client_uuid, agent_id, agent_uuid, entries, n
FROM audit_sets ORDER BY id;

DROP TABLE audit_sets;
ALTER TABLE audit_sets_new RENAME TO audit_sets;

CREATE INDEX audit_sets_by_agent ON audit_sets (agent_id, id);
CREATE INDEX audit_sets_by_org ON audit_sets (org_id, id);
