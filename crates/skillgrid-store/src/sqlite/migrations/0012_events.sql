-- The outbox of events: one row per committed change a consumer may follow (an agent's skill
-- set, an agent, a skill, the settings, an API client), written in the change's own
-- transaction, so a change that rolls back has none and one that commits always has one.
--
-- `sequence` counts an organization's events from 1, with no gap, in commit order: it is
-- taken from the organization's row of `event_counters`, updated in the writing transaction,
-- whose lock is held until that transaction ends, so two writers take their numbers in the
-- order they commit.
CREATE TABLE event_counters (
    org_id INTEGER PRIMARY KEY,
    last   INTEGER NOT NULL
);

CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    uuid         BLOB NOT NULL,
    org_id       INTEGER NOT NULL,
    sequence     INTEGER NOT NULL,
    kind         TEXT NOT NULL,      -- the event type, e.g. assignment.changed
    occurred_at  INTEGER NOT NULL,    -- milliseconds since the epoch
    request_id   TEXT NOT NULL,
    actor_uuid   BLOB,               -- the client whose token made the change; NULL: the database directly
    subject_uuid BLOB NOT NULL,      -- the agent, skill, organization (settings) or client
    version      INTEGER,             -- assignment.changed: the agent's skill-set version afterwards
    entries      BLOB,               -- assignment.changed: the changes, packed as the audit trail packs them
    action       TEXT,               -- client.updated: created, updated, secretRotated or deleted
    before       TEXT,               -- the other kinds: the store's own JSON documents, as admin_audit
    after        TEXT
);

CREATE UNIQUE INDEX events_by_org_sequence ON events (org_id, sequence);
CREATE INDEX events_by_time ON events (occurred_at);
