-- skillgrid schema, SQLite.
-- Rows are keyed by INTEGER surrogates inside the database (about 3x faster upserts than
-- UUID keys, see shared/anchors); UUIDs (16-byte BLOBs) exist only at the API boundary.
-- Times are INTEGER milliseconds since the Unix epoch, UTC.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE orgs (
    id         INTEGER PRIMARY KEY,
    uuid       BLOB NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL UNIQUE,   -- lower-cased name: names are unique case-insensitively
    settings   TEXT NOT NULL,          -- JSON, the full settings object
    created_at INTEGER NOT NULL
);

CREATE TABLE api_clients (
    id          INTEGER PRIMARY KEY,
    uuid        BLOB NOT NULL UNIQUE,
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,         -- never the secret itself
    scopes      TEXT NOT NULL,         -- space-separated
    created_at  INTEGER NOT NULL
);

CREATE TABLE skills (
    id          INTEGER PRIMARY KEY,
    uuid        BLOB NOT NULL UNIQUE,
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    description TEXT,
    active      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CONSTRAINT skills_org_name UNIQUE (org_id, name_key)
);

CREATE TABLE agents (
    id          INTEGER PRIMARY KEY,
    uuid        BLOB NOT NULL UNIQUE,
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    email       TEXT NOT NULL,
    email_key   TEXT NOT NULL,
    name        TEXT NOT NULL,
    external_id TEXT,
    active      INTEGER NOT NULL,
    version     INTEGER NOT NULL DEFAULT 0,   -- of the agent's skill set: the ETag
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CONSTRAINT agents_org_email UNIQUE (org_id, email_key)
);

CREATE TABLE assignments (
    agent_id     INTEGER NOT NULL REFERENCES agents(id),
    skill_id     INTEGER NOT NULL REFERENCES skills(id),
    proficiency  INTEGER NOT NULL,
    effective_at INTEGER,
    expires_at   INTEGER,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (agent_id, skill_id)
) WITHOUT ROWID;

CREATE INDEX assignments_by_skill ON assignments (skill_id);

-- One row per changed assignment, written in the same transaction as the change.
CREATE TABLE audit (
    id           INTEGER PRIMARY KEY,
    uuid         BLOB NOT NULL,
    org_id       INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    request_id   TEXT NOT NULL,
    client_uuid  BLOB NOT NULL,
    agent_id     INTEGER NOT NULL,
    skill_id     INTEGER NOT NULL,
    agent_uuid   BLOB NOT NULL,      -- copies: audit entries outlive deleted skills
    skill_uuid   BLOB NOT NULL,
    action       INTEGER NOT NULL,   -- 1 added, 2 updated, 3 removed
    before_proficiency INTEGER, before_effective INTEGER, before_expires INTEGER, before_updated INTEGER,
    after_proficiency  INTEGER, after_effective  INTEGER, after_expires  INTEGER, after_updated  INTEGER
);

CREATE INDEX audit_by_agent ON audit (agent_id, id);
CREATE INDEX audit_by_org ON audit (org_id, id);
