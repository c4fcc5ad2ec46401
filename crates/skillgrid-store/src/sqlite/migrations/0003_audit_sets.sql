-- The audit trail, one row per agent per write instead of one per changed assignment: the
-- agent's entries of the write packed into one value (formats and entry ids: see
-- src/audit.rs). A 100,000-assignment bulk write now records 10,000 narrow rows, not 100,000
-- rows of 18 columns.
CREATE TABLE audit_sets (
    id          INTEGER PRIMARY KEY,
    uuid        BLOB NOT NULL,      -- entry i's id is this with i XORed into its last two bytes
    org_id      INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    request_id  TEXT NOT NULL,
    client_uuid BLOB NOT NULL,
    agent_id    INTEGER NOT NULL,
    agent_uuid  BLOB NOT NULL,
    entries     BLOB NOT NULL,      -- binary; rows moved in below hold the text form
    n           INTEGER NOT NULL    -- how many entries
);

-- Every earlier entry moves as a row of one, keeping its id (as the row's and as the base of
-- entry 0), so cursors and ids handed out before stay valid.
INSERT INTO audit_sets (id, uuid, org_id, at, request_id, client_uuid, agent_id, agent_uuid, entries, n)
SELECT id, uuid, org_id, at, request_id, client_uuid, agent_id, agent_uuid, CAST(
       lower(hex(skill_uuid)) || ',' || action
       || ',' || ifnull(before_proficiency, '') || ',' || ifnull(before_effective, '')
       || ',' || ifnull(before_expires, '') || ',' || ifnull(before_updated, '')
       || ',' || ifnull(after_proficiency, '') || ',' || ifnull(after_effective, '')
       || ',' || ifnull(after_expires, '') || ',' || ifnull(after_updated, '') AS BLOB), 1
FROM audit ORDER BY id;

DROP TABLE audit;

CREATE INDEX audit_sets_by_agent ON audit_sets (agent_id, id);
CREATE INDEX audit_sets_by_org ON audit_sets (org_id, id);
