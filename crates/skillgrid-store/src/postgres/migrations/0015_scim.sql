-- Agents a SCIM client deleted. Agents are never deleted (their history stays), so a SCIM
-- DELETE deactivates the agent and records it here: SCIM then answers 404 for it, as RFC 7644
-- requires, while the API still shows it. A SCIM create of the same email removes the row.
CREATE TABLE scim_retired (
    agent_id   BIGINT PRIMARY KEY REFERENCES agents(id),
    retired_at BIGINT NOT NULL
);
