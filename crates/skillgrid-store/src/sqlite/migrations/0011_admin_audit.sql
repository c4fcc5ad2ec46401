-- The administrative audit trail: one row per change to an organization's skills, agents,
-- settings or console users, written in the change's own transaction. `before` and `after`
-- are the store's own JSON documents (see `admin_audit.rs`); a user's hold no password.
CREATE TABLE admin_audit (
    id           INTEGER PRIMARY KEY,
    uuid         BLOB NOT NULL,
    org_id       INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    request_id   TEXT NOT NULL,
    actor_uuid   BLOB,               -- the client whose token made the change; NULL: the database directly
    kind         INTEGER NOT NULL,   -- 1 skill, 2 agent, 3 settings, 4 user
    subject_uuid BLOB NOT NULL,      -- the skill, agent, organization (settings) or user
    action       INTEGER NOT NULL,   -- 1 created, 2 updated
    before       TEXT,
    after        TEXT NOT NULL
);

CREATE INDEX admin_audit_by_org ON admin_audit (org_id, id);
