-- Webhook endpoints, and the attempts to deliver events to them.
--
-- The signing secret is kept as it is: an HMAC needs the key itself, so it cannot be hashed
-- like an API client's. It is shown once (creation, rotation), never again, never logged.
-- During a rotation's overlap the previous secret signs too, until previous_expires_at.
-- delivered_through is the sequence number of the organization's last event delivered to the
-- endpoint: the dispatcher resumes after it; a replay sets it back.
CREATE TABLE webhooks (
    id                  INTEGER PRIMARY KEY,
    uuid                BLOB NOT NULL UNIQUE,
    org_id              INTEGER NOT NULL REFERENCES orgs (id),
    url                 TEXT NOT NULL,
    event_types         TEXT NOT NULL,     -- space-separated; "*": every type
    active              INTEGER NOT NULL,
    disabled_reason     TEXT,              -- set when the server disabled it
    delivered_through   INTEGER NOT NULL DEFAULT 0,
    secret              TEXT NOT NULL,
    secret_at           INTEGER NOT NULL,
    previous_secret     TEXT,
    previous_expires_at INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE INDEX webhooks_by_org ON webhooks (org_id, id);

-- One row per attempt. event_uuid and sequence name the event (its row may be pruned before
-- the attempts are); status is NULL when the endpoint gave no answer, error then says why.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    uuid            BLOB NOT NULL,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_uuid      BLOB NOT NULL,
    sequence        INTEGER NOT NULL,
    attempt         INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    status          INTEGER,
    error           TEXT,
    latency_ms      INTEGER NOT NULL,
    response_head   TEXT,              -- the first bytes of the answer (1 KB at most)
    next_attempt_at INTEGER
);

CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
