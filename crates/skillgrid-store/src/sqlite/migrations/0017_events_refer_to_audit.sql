-- An `assignment.changed` event refers to the audit row of the same change instead of holding
-- a copy of its entries: the write stores an agent's changes once. `audit_set_id` names that
-- row (in the same organization, written in the same transaction); `entries` and `skills` are
-- filled from it, and `audit_set_id` cleared, when audit retention removes the row before the
-- event (events are kept at least three days, the audit trail possibly less). Events written
-- before this migration keep their own entries.
ALTER TABLE events ADD COLUMN audit_set_id INTEGER;
ALTER TABLE events ADD COLUMN skills BLOB;   -- entries in the listed form: the write's skills

CREATE INDEX events_by_audit_set ON events (audit_set_id) WHERE audit_set_id IS NOT NULL;

-- Old events are pruned in sequence order, oldest first, through `events_by_org_sequence`.
DROP INDEX events_by_time;
