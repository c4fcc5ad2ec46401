-- The administrative audit trail: one row per change to an organization's skills, agents,
-- settings or console users, written in the change's own transaction. `before` and `after`
-- are the store's own JSON documents (see `admin_audit.rs`); a user's hold no password.
CREATE TABLE admin_audit (
    id           BIGSERIAL PRIMARY KEY,
    uuid         UUID NOT NULL,
    org_id       BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    request_id   TEXT NOT NULL,
    actor_uuid   UUID,               -- the client whose token made the change; NULL: the database directly
    kind         SMALLINT NOT NULL,   -- 1 skill, 2 agent, 3 settings, 4 user
    subject_uuid UUID NOT NULL,      -- the skill, agent, organization (settings) or user
    action       SMALLINT NOT NULL,   -- 1 created, 2 updated
    before       TEXT,
    after        TEXT NOT NULL
);

CREATE INDEX admin_audit_by_org ON admin_audit (org_id, id);
