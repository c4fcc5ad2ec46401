-- Each agent's skill-set version (its ETag) in a narrow table of its own: a bulk write bumps
-- the versions of thousands of agents, and rewriting these rows of two integers dirties about
-- a tenth of the pages that rewriting the agents' own rows did (pages the commit writes to
-- the WAL). An agent without a row is at version 0.
CREATE TABLE agent_versions (
    agent_id INTEGER PRIMARY KEY,   -- agents.id; agents are never deleted
    version  INTEGER NOT NULL
);

INSERT INTO agent_versions (agent_id, version) SELECT id, version FROM agents WHERE version <> 0;

ALTER TABLE agents DROP COLUMN version;
