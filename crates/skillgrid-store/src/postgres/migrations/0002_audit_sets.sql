-- The audit trail, one row per agent per write instead of one per changed assignment: the
-- agent's entries of the write packed into one value (formats and entry ids: see
-- src/audit.rs). A 100,000-assignment bulk write now records 10,000 narrow rows, not 100,000
-- rows of 18 columns.
CREATE TABLE audit_sets (
    id          BIGSERIAL PRIMARY KEY,
    uuid        UUID NOT NULL,      -- entry i's id is this with i XORed into its last two bytes
    org_id      BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    request_id  TEXT NOT NULL,
    client_uuid UUID NOT NULL,
    agent_id    BIGINT NOT NULL,
    agent_uuid  UUID NOT NULL,
    entries     BYTEA NOT NULL,     -- binary; rows moved in below hold the text form
    n           INTEGER NOT NULL    -- how many entries
);

-- Every earlier entry moves as a row of one, keeping its id (as the row's and as the base of
-- entry 0), so cursors and ids handed out before stay valid.
INSERT INTO audit_sets (id, uuid, org_id, at, request_id, client_uuid, agent_id, agent_uuid, entries, n)
SELECT id, uuid, org_id, at, request_id, client_uuid, agent_id, agent_uuid, convert_to(
       replace(skill_uuid::text, '-', '') || ',' || action
       || ',' || coalesce(before_proficiency::text, '') || ',' || coalesce(before_effective::text, '')
       || ',' || coalesce(before_expires::text, '') || ',' || coalesce(before_updated::text, '')
       || ',' || coalesce(after_proficiency::text, '') || ',' || coalesce(after_effective::text, '')
       || ',' || coalesce(after_expires::text, '') || ',' || coalesce(after_updated::text, ''), 'UTF8'), 1
FROM audit ORDER BY id;

SELECT setval(pg_get_serial_sequence('audit_sets', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM audit_sets), false);

DROP TABLE audit;

CREATE INDEX audit_sets_by_agent ON audit_sets (agent_id, id);
CREATE INDEX audit_sets_by_org ON audit_sets (org_id, id);
