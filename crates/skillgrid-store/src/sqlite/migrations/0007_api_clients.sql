-- API clients that can be disabled, rotated and deleted, with an audit trail of their changes.
--
-- A token carries its client's token_epoch; disabling the client or rotating its secret moves
-- it, so every token issued before is refused, even after the client is enabled again.
-- updated_at and secret_at are NULL on rows made before this migration: read as created_at.
ALTER TABLE api_clients ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
ALTER TABLE api_clients ADD COLUMN token_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_clients ADD COLUMN updated_at INTEGER;
ALTER TABLE api_clients ADD COLUMN secret_at INTEGER;

CREATE INDEX api_clients_by_org ON api_clients (org_id, id);

-- The organization's generation (0006) moves with its clients too. A server reads the
-- organization's clients with its settings and catalog, and checks each request's token
-- against them: a client disabled, deleted or narrowed on any process is seen by the next
-- request everywhere, at the cost of the one integer every request already reads.
CREATE TRIGGER api_clients_generation_insert AFTER INSERT ON api_clients BEGIN
    UPDATE orgs SET generation = generation + 1 WHERE id = NEW.org_id;
END;

CREATE TRIGGER api_clients_generation_update
    AFTER UPDATE OF org_id, scopes, active, token_epoch ON api_clients BEGIN
    UPDATE orgs SET generation = generation + 1 WHERE id IN (OLD.org_id, NEW.org_id);
END;

CREATE TRIGGER api_clients_generation_delete AFTER DELETE ON api_clients BEGIN
    UPDATE orgs SET generation = generation + 1 WHERE id = OLD.org_id;
END;

-- One row per change to a client, written in the change's transaction. before and after are
-- the client's name, scopes and state as JSON (see src/clients.rs): entries outlive the client.
CREATE TABLE client_audit (
    id          INTEGER PRIMARY KEY,
    uuid        BLOB NOT NULL,
    org_id      INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    request_id  TEXT NOT NULL,
    actor_uuid  BLOB,               -- the client whose token made the change; NULL: the database directly
    client_uuid BLOB NOT NULL,
    action      INTEGER NOT NULL,   -- 1 created, 2 updated, 3 secret rotated, 4 deleted
    before      TEXT,
    after       TEXT
);

CREATE INDEX client_audit_by_org ON client_audit (org_id, id);
