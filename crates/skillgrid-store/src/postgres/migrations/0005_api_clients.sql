-- API clients that can be disabled, rotated and deleted, with an audit trail of their changes.
--
-- A token carries its client's token_epoch; disabling the client or rotating its secret moves
-- it, so every token issued before is refused, even after the client is enabled again.
-- updated_at and secret_at are NULL on rows made before this migration: read as created_at.
ALTER TABLE api_clients ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE api_clients ADD COLUMN token_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_clients ADD COLUMN updated_at BIGINT;
ALTER TABLE api_clients ADD COLUMN secret_at BIGINT;

CREATE INDEX api_clients_by_org ON api_clients (org_id, id);

-- The organization's generation (0004) moves with its clients too. A server reads the
-- organization's clients with its settings and catalog, and checks each request's token
-- against them: a client disabled, deleted or narrowed on any instance is seen by the next
-- request everywhere, at the cost of the one integer every request already reads.
-- skills_bump_org_generation (0004) reads only org_id of the changed row: it serves here too.
CREATE TRIGGER api_clients_generation_insert_delete AFTER INSERT OR DELETE ON api_clients
    FOR EACH ROW EXECUTE FUNCTION skills_bump_org_generation();

CREATE TRIGGER api_clients_generation_update
    AFTER UPDATE OF org_id, scopes, active, token_epoch ON api_clients
    FOR EACH ROW EXECUTE FUNCTION skills_bump_org_generation();

-- One row per change to a client, written in the change's transaction. before and after are
-- the client's name, scopes and state as JSON (see src/clients.rs): entries outlive the client.
CREATE TABLE client_audit (
    id          BIGSERIAL PRIMARY KEY,
    uuid        UUID NOT NULL,
    org_id      BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    request_id  TEXT NOT NULL,
    actor_uuid  UUID,               -- the client whose token made the change; NULL: the database directly
    client_uuid UUID NOT NULL,
    action      SMALLINT NOT NULL,  -- 1 created, 2 updated, 3 secret rotated, 4 deleted
    before      TEXT,
    after       TEXT
);

CREATE INDEX client_audit_by_org ON client_audit (org_id, id);
