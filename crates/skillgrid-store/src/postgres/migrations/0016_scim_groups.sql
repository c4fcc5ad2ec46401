-- SCIM Groups: skill profiles an identity provider assigns by membership.
--
-- An agent's assignments (the table `assignments`) stay what every reader sees: its effective
-- skills. What they are made of is kept beside them only where a group is involved:
-- `skill_layers` has a row for each (agent, skill) that some group of the agent gives, with
-- `given` (the highest proficiency its groups give) and the agent's own, direct assignment of
-- that skill (NULL proficiency: none). The effective assignment is the higher of the two. An
-- organization without such rows writes skill sets as before: one probe of `skill_layers` by
-- organization is all a write pays.
CREATE TABLE scim_groups (
    id           BIGSERIAL PRIMARY KEY,
    uuid         UUID NOT NULL UNIQUE,
    org_id       BIGINT NOT NULL REFERENCES orgs(id),
    display_name TEXT NOT NULL,
    display_key  TEXT NOT NULL,   -- lower-cased: displayName is unique case-insensitively
    external_id  TEXT,
    version      BIGINT NOT NULL DEFAULT 1,   -- moves with every change: meta.version
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    CONSTRAINT scim_groups_org_name UNIQUE (org_id, display_key)
);

-- A member's `display` and `type` are kept as the identity provider sent them (NULL: not
-- sent; the agent's name and "User" are shown).
CREATE TABLE scim_group_members (
    group_id BIGINT NOT NULL REFERENCES scim_groups(id),
    agent_id BIGINT NOT NULL REFERENCES agents(id),
    display  TEXT,
    kind     TEXT,
    PRIMARY KEY (group_id, agent_id)
);

CREATE INDEX scim_group_members_by_agent ON scim_group_members (agent_id);

CREATE TABLE scim_group_skills (
    group_id    BIGINT NOT NULL REFERENCES scim_groups(id),
    skill_id    BIGINT NOT NULL REFERENCES skills(id),
    proficiency BIGINT NOT NULL,
    PRIMARY KEY (group_id, skill_id)
);

CREATE TABLE skill_layers (
    org_id       BIGINT NOT NULL,
    agent_id     BIGINT NOT NULL REFERENCES agents(id),
    skill_id     BIGINT NOT NULL REFERENCES skills(id),
    given        BIGINT NOT NULL,
    direct       BIGINT,          -- the direct assignment's proficiency; NULL: none
    effective_at BIGINT,          -- and its dates
    expires_at   BIGINT,
    PRIMARY KEY (agent_id, skill_id)
);

CREATE INDEX skill_layers_by_org ON skill_layers (org_id);
