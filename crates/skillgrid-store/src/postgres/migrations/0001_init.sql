-- skillgrid schema, PostgreSQL: the SQLite migrations 0001 and 0002 in one.
-- Rows are keyed by BIGINT surrogates inside the database; UUIDs exist only at the API
-- boundary. Times are BIGINT milliseconds since the Unix epoch, UTC.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE orgs (
    id         BIGSERIAL PRIMARY KEY,
    uuid       UUID NOT NULL,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,          -- lower-cased name: names are unique case-insensitively
    settings   TEXT NOT NULL,          -- JSON, the full settings object
    created_at BIGINT NOT NULL,
    CONSTRAINT orgs_uuid UNIQUE (uuid),
    CONSTRAINT orgs_name UNIQUE (name_key)
);

CREATE TABLE api_clients (
    id          BIGSERIAL PRIMARY KEY,
    uuid        UUID NOT NULL,
    org_id      BIGINT NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,         -- never the secret itself
    scopes      TEXT NOT NULL,         -- space-separated
    created_at  BIGINT NOT NULL,
    CONSTRAINT api_clients_uuid UNIQUE (uuid)
);

CREATE TABLE skills (
    id          BIGSERIAL PRIMARY KEY,
    uuid        UUID NOT NULL,
    org_id      BIGINT NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    description TEXT,
    active      BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CONSTRAINT skills_uuid UNIQUE (uuid),
    CONSTRAINT skills_org_name UNIQUE (org_id, name_key)
);

CREATE TABLE agents (
    id          BIGSERIAL PRIMARY KEY,
    uuid        UUID NOT NULL,
    org_id      BIGINT NOT NULL REFERENCES orgs(id),
    email       TEXT NOT NULL,
    email_key   TEXT NOT NULL,
    name        TEXT NOT NULL,
    external_id TEXT,
    active      BOOLEAN NOT NULL,
    version     BIGINT NOT NULL DEFAULT 0,   -- of the agent's skill set: the ETag
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CONSTRAINT agents_uuid UNIQUE (uuid),
    CONSTRAINT agents_org_email UNIQUE (org_id, email_key)
);

CREATE TABLE assignments (
    agent_id     BIGINT NOT NULL REFERENCES agents(id),
    skill_id     BIGINT NOT NULL REFERENCES skills(id),
    proficiency  BIGINT NOT NULL,
    effective_at BIGINT,
    expires_at   BIGINT,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (agent_id, skill_id)
);

-- The holders of a skill, in agent order.
CREATE INDEX assignments_by_skill_agent ON assignments (skill_id, agent_id);

-- One row per changed assignment, written in the same transaction as the change.
CREATE TABLE audit (
    id           BIGSERIAL PRIMARY KEY,
    uuid         UUID NOT NULL,
    org_id       BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    request_id   TEXT NOT NULL,
    client_uuid  UUID NOT NULL,
    agent_id     BIGINT NOT NULL,
    skill_id     BIGINT NOT NULL,
    agent_uuid   UUID NOT NULL,      -- copies: audit entries outlive deleted skills
    skill_uuid   UUID NOT NULL,
    action       SMALLINT NOT NULL,  -- 1 added, 2 updated, 3 removed
    before_proficiency BIGINT, before_effective BIGINT, before_expires BIGINT, before_updated BIGINT,
    after_proficiency  BIGINT, after_effective  BIGINT, after_expires  BIGINT, after_updated  BIGINT
);

CREATE INDEX audit_by_agent ON audit (agent_id, id);
CREATE INDEX audit_by_org ON audit (org_id, id);

-- Idempotency keys of bulk requests: claimed before the work starts (state 0), completed with
-- the answer to replay (state 1). Keys are per organization and client; rows older than 24
-- hours are pruned.
CREATE TABLE idempotency_keys (
    org_id      BIGINT NOT NULL,
    client_uuid UUID NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state       SMALLINT NOT NULL,  -- 0 in progress, 1 completed
    status      INTEGER,
    body        BYTEA,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, client_uuid, key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
