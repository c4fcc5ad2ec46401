-- The console's people and their signed-in sessions.
--
-- A user belongs to one organization; their e-mail is unique in it case-insensitively
-- (email_key is its lower case, as for agents). password_hash is Argon2id in the PHC string
-- format. client_uuid names the API client (made with the user, without scopes or a usable
-- secret) that the user's changes are recorded under in the audit trail; it is no foreign key
-- so that the audit keeps naming it whatever becomes of the client's row.
CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    uuid                 BLOB NOT NULL UNIQUE,
    org_id               INTEGER NOT NULL REFERENCES orgs(id),
    email                TEXT NOT NULL,
    email_key            TEXT NOT NULL,
    role                 TEXT NOT NULL,      -- viewer, editor or admin
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL,
    active               INTEGER NOT NULL,
    client_uuid          BLOB NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    CONSTRAINT users_org_email UNIQUE (org_id, email_key)
);

-- A session is found by the SHA-256 of the token its cookie holds; the token itself is never
-- stored. It ends at idle_expires_at (moved forward as it is used) or absolute_expires_at,
-- whichever comes first, or when its user is disabled (in that change's transaction).
CREATE TABLE sessions (
    token_hash          BLOB PRIMARY KEY,
    user_id             INTEGER NOT NULL REFERENCES users(id),
    org_id              INTEGER NOT NULL REFERENCES orgs(id),
    csrf_token          TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    last_seen_at        INTEGER NOT NULL,
    idle_expires_at     INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL
);

CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (idle_expires_at);
