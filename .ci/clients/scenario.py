"""The scenario every generated client runs against a live server, here with the client
openapi-python-client generates from the served document (on PYTHONPATH).

Environment: API (base URL), CLIENT_ID, CLIENT_SECRET.
"""

import os
import time

from skillgrid_admin_api_client import AuthenticatedClient, Client
from skillgrid_admin_api_client.api.agents import create_agent
from skillgrid_admin_api_client.api.assignments import get_agent_skills, put_agent_skill
from skillgrid_admin_api_client.api.bulk import bulk_agent_skills
from skillgrid_admin_api_client.api.oauth import get_token
from skillgrid_admin_api_client.api.settings import get_settings
from skillgrid_admin_api_client.api.skills import list_skills
from skillgrid_admin_api_client.models import (
    Agent,
    AgentCreate,
    AgentSkills,
    AssignmentFields,
    AssignmentIn,
    BulkItem,
    BulkMode,
    BulkRequest,
    BulkResponse,
    OrgSettings,
    PageSkill,
    Problem,
    Skill,
    TokenRequest,
    TokenResponse,
)

api = os.environ["API"]

# 1. A token: client credentials as HTTP Basic (the token route's first security requirement).
anonymous = Client(base_url=api, httpx_args={"auth": (os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"])})
token = get_token.sync(client=anonymous, body=TokenRequest(grant_type="client_credentials"))
assert isinstance(token, TokenResponse), token
assert token.token_type == "Bearer" and token.expires_in == 3600, token
assert "admin:agent:write" in token.scope.split(), token.scope
client = AuthenticatedClient(base_url=api, token=token.access_token)

# The level names are the organization's: read the value of "Advanced" from its settings.
settings = get_settings.sync(client=client)
assert isinstance(settings, OrgSettings), settings
advanced = settings.proficiency_scale.levels["Advanced"]

# 2. The skill catalog: a page of the named Skill model.
page = list_skills.sync(client=client, active=True, limit=100)
assert isinstance(page, PageSkill), page
assert page.items and all(isinstance(s, Skill) and s.active for s in page.items), page
skill = page.items[0]


# 3. Two new agents.
def new_agent(n: int) -> Agent:
    email = f"python-{n}-{time.time_ns()}@example.com"
    r = create_agent.sync_detailed(client=client, body=AgentCreate(email=email, name=f"Python client {n}"))
    assert r.status_code == 201 and isinstance(r.parsed, Agent), r
    assert r.parsed.email == email and r.parsed.active and r.parsed.external_id is None, r.parsed
    return r.parsed


first, second = new_agent(1), new_agent(2)

# 4. One skill set by its level name, stored as the level's value.
r = put_agent_skill.sync_detailed(first.id, skill.id, client=client, body=AssignmentFields(proficiency="Advanced"))
assert isinstance(r.parsed, AgentSkills), r
held = [a for a in r.parsed.skills if a.skill_id == skill.id]
assert len(held) == 1 and held[0].proficiency == advanced and held[0].level == "Advanced", r.parsed
assert r.parsed.version == 1 and r.headers["ETag"] == '"1"', r

# 5. A bad PUT: the parsed problem says where the mistake is.
bad = put_agent_skill.sync_detailed(
    first.id, skill.id, client=client, body=AssignmentFields(proficiency=settings.proficiency_scale.max_ + 1)
)
assert bad.status_code == 400 and isinstance(bad.parsed, Problem), bad
assert bad.parsed.code == "validation_failed", bad.parsed
entry = bad.parsed.errors[0]
assert entry.pointer == "/proficiency" and entry.code == "out_of_range", bad.parsed

# 6. Both agents in one bulk request: the first one's skill updated, the second one's added.
bulk = bulk_agent_skills.sync(
    client=client,
    body=BulkRequest(
        mode=BulkMode.MERGE,
        items=[
            BulkItem(agent_id=first.id, skills=[AssignmentIn(skill_id=skill.id, proficiency="Expert")], if_match='"1"'),
            BulkItem(agent_id=second.id, skills=[AssignmentIn(skill_id=skill.id, proficiency=40)]),
        ],
    ),
)
assert isinstance(bulk, BulkResponse), bulk
s = bulk.summary
assert not bulk.dry_run and (s.items, s.succeeded, s.failed, s.added, s.updated) == (2, 2, 0, 1, 1), s
r0, r1 = bulk.results
assert (r0.agent_id, r0.status, r0.version) == (first.id, 200, 2), r0
assert (r1.agent_id, r1.status, r1.version) == (second.id, 200, 1), r1
after = get_agent_skills.sync(second.id, client=client)
assert isinstance(after, AgentSkills) and after.skills[0].proficiency == 40, after

print(f"python client: {len(page.items)} skills listed, agents {first.id} and {second.id} written, a problem at {entry.pointer}")
