-- Idempotency keys of bulk requests: claimed before the work starts (state 0), completed with
-- the answer to replay (state 1). Keys are per organization and client; rows older than 24
-- hours are pruned.
CREATE TABLE idempotency_keys (
    org_id      INTEGER NOT NULL,
    client_uuid BLOB NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state       INTEGER NOT NULL,   -- 0 in progress, 1 completed
    status      INTEGER,
    body        BLOB,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, client_uuid, key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- The holders of a skill, in agent order.
CREATE INDEX assignments_by_skill_agent ON assignments (skill_id, agent_id);
DROP INDEX assignments_by_skill;
