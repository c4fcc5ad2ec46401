-- The dispatcher's state of each webhook: the retries of the event after delivered_through
-- (attempts made, since when it fails, when the next attempt is due, in Unix milliseconds),
-- and the lease of the process delivering to it (one at a time; another may take it once
-- lease_until is past).
ALTER TABLE webhooks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN failing_since BIGINT;
ALTER TABLE webhooks ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN lease_owner TEXT;
ALTER TABLE webhooks ADD COLUMN lease_until BIGINT;

CREATE INDEX webhooks_due ON webhooks (next_attempt_at) WHERE active;
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (at);
