-- What SCIM knows of an agent beyond the agent itself. An identity provider's userName, name
-- parts and emails need not be the agent's email and name: they are kept as it sent them
-- (`profile`, JSON) so that it reads back what it wrote. Agents are never deleted (their
-- history stays): a SCIM DELETE deactivates the agent and sets `retired_at`, and SCIM then
-- answers 404 for it, as RFC 7644 requires, while the API still shows it.
CREATE TABLE scim_users (
    agent_id      INTEGER PRIMARY KEY REFERENCES agents(id),
    org_id        INTEGER NOT NULL REFERENCES orgs(id),
    user_name     TEXT NOT NULL,
    user_name_key TEXT NOT NULL,   -- lower-cased: userName is unique case-insensitively
    profile       TEXT NOT NULL,
    retired_at    INTEGER,
    CONSTRAINT scim_users_org_name UNIQUE (org_id, user_name_key)
);

-- How long an API client's access tokens last, in seconds; NULL: the default hour. An identity
-- provider keeps one token for months (its SCIM client is given a long lifetime); disabling the
-- client or rotating its secret still refuses its tokens at once.
ALTER TABLE api_clients ADD COLUMN token_lifetime_secs INTEGER;
