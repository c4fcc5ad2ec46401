//! The routes of other products that skillgrid recognises, one row per method and path.
//!
//! Each row says what the route does in its product, which skillgrid routes do the same job
//! (method and path exactly as in the OpenAPI document, which a test checks), and how the body
//! differs. `{scale}` in a body stands for this organization's proficiency scale and its
//! defaults. The rows were checked against each product's published API reference: Genesys
//! Cloud's Platform API, NICE CXone's Admin API, Amazon Connect's API reference, and
//! Salesforce's object reference for `ServiceResourceSkill`.

use super::{ForeignRoute, Product};

const fn row(
    product: Product,
    method: &'static str,
    path: &'static str,
    job: &'static str,
    equivalent: &'static [(&'static str, &'static str)],
    body: &'static str,
) -> ForeignRoute {
    ForeignRoute {
        product,
        method,
        path,
        job,
        equivalent,
        body,
    }
}

use Product::{AmazonConnect, GenesysCloud, NiceCxone, Salesforce};

const AGENT_SKILLS: &str = "/api/v2/agents/users/{userId}/skills";
const AGENT_SKILL: &str = "/api/v2/agents/users/{userId}/skills/{skillId}";
const SKILLS: &str = "/api/v2/admin/skills";
const SKILL: &str = "/api/v2/admin/skills/{skillId}";
const SKILL_AGENTS: &str = "/api/v2/admin/skills/{skillId}/agents";
const USERS: &str = "/api/v2/admin/users";
const USER: &str = "/api/v2/admin/users/{userId}";
const BULK: &str = "/api/v2/agents/skills/bulk";

pub const ROUTES: &[ForeignRoute] = &[
    // Genesys Cloud: routing skills of a user, the skill catalog, users.
    row(
        GenesysCloud,
        "GET",
        "/api/v2/users/{userId}/routingskills",
        "list a user's routing skills",
        &[("GET", AGENT_SKILLS)],
        "none; the answer holds every skill at once (`{agentId, version, skills: [{skillId, skillName, proficiency, level, …}]}`) instead of pages of `entities`, with proficiencies on {scale}",
    ),
    row(
        GenesysCloud,
        "POST",
        "/api/v2/users/{userId}/routingskills",
        "add one routing skill to a user",
        &[("PUT", AGENT_SKILL), ("PATCH", AGENT_SKILLS)],
        "Genesys' `{id, proficiency 0–5}` → the skill's id goes into the path and the body is `{proficiency}` on {scale}; to add several at once, send `{\"skills\": [{skillId, proficiency}]}` to `PATCH …/skills`",
    ),
    row(
        GenesysCloud,
        "PUT",
        "/api/v2/users/{userId}/routingskills/{skillId}",
        "change the proficiency of a routing skill a user holds",
        &[("PUT", AGENT_SKILL)],
        "Genesys' `{proficiency 0–5, state}` → `{proficiency}` on {scale}, optionally with `effectiveDate` and `expirationDate`; there is no `state`",
    ),
    row(
        GenesysCloud,
        "DELETE",
        "/api/v2/users/{userId}/routingskills/{skillId}",
        "remove a routing skill from a user",
        &[("DELETE", AGENT_SKILL)],
        "none, as in Genesys; the answer is 204, or 404 when the agent does not hold the skill",
    ),
    row(
        GenesysCloud,
        "PUT",
        "/api/v2/users/{userId}/routingskills/bulk",
        "replace a user's routing skills",
        &[("PUT", AGENT_SKILLS)],
        "Genesys' bare array of `{id, proficiency 0–5}` → a bare array (or `{\"skills\": […]}`) of `{skillId, proficiency}` on {scale}",
    ),
    row(
        GenesysCloud,
        "PATCH",
        "/api/v2/users/{userId}/routingskills/bulk",
        "add routing skills to a user",
        &[("PATCH", AGENT_SKILLS)],
        "Genesys' bare array of `{id, proficiency 0–5}` → a bare array (or `{\"skills\": […]}`) of `{skillId, proficiency}` on {scale}; skills not listed are kept, and `\"remove\": [skillId, …]` drops some in the same request",
    ),
    row(
        GenesysCloud,
        "GET",
        "/api/v2/routing/skills",
        "list the organization's routing skills",
        &[("GET", SKILLS)],
        "none; filter with `?name=` and `?active=`, page with `limit` and `cursor` (`{items, nextCursor}`) instead of `pageNumber` and `pageSize`",
    ),
    row(
        GenesysCloud,
        "POST",
        "/api/v2/routing/skills",
        "create a routing skill",
        &[("POST", SKILLS)],
        "`{name}` as in Genesys, with an optional `description`; names are unique in the organization regardless of case",
    ),
    row(
        GenesysCloud,
        "GET",
        "/api/v2/routing/skills/{skillId}",
        "read a routing skill",
        &[("GET", SKILL)],
        "none; a skill is `{id, name, description, active, createdAt, updatedAt}`",
    ),
    row(
        GenesysCloud,
        "DELETE",
        "/api/v2/routing/skills/{skillId}",
        "delete a routing skill",
        &[("DELETE", SKILL)],
        "none; a skill that agents still hold is not deleted (409): deactivate it with `PATCH` and `{\"active\": false}`",
    ),
    row(
        GenesysCloud,
        "GET",
        "/api/v2/users",
        "list users",
        &[("GET", USERS)],
        "none; an agent is `{id, email, name, externalId, active, …}`; filter with `?email=` and `?active=`, page with `limit` and `cursor`",
    ),
    row(
        GenesysCloud,
        "POST",
        "/api/v2/users",
        "create a user",
        &[("POST", USERS)],
        "Genesys' `{name, email, …}` → `{email, name, externalId}`; there are no passwords, divisions or addresses",
    ),
    row(
        GenesysCloud,
        "GET",
        "/api/v2/users/{userId}",
        "read a user",
        &[("GET", USER)],
        "none; the agent's skills are read from `GET /api/v2/agents/users/{userId}/skills`, not with `?expand=skills`",
    ),
    row(
        GenesysCloud,
        "PATCH",
        "/api/v2/users/{userId}",
        "update a user",
        &[("PATCH", USER)],
        "any of `email`, `name`, `externalId`, `active`; no `version` field",
    ),
    row(
        GenesysCloud,
        "DELETE",
        "/api/v2/users/{userId}",
        "delete a user",
        &[("PATCH", USER)],
        "agents are never deleted, so that their audit trail stays: send `{\"active\": false}`",
    ),
    // NICE CXone's Admin API: an agent's skills, a skill's agents, the catalog, agents.
    row(
        NiceCxone,
        "GET",
        "/inContactAPI/services/v{N}/agents/{agentId}/skills",
        "list an agent's skills",
        &[("GET", AGENT_SKILLS)],
        "none; proficiencies are on {scale}, where higher is better (CXone's 1 is its best)",
    ),
    row(
        NiceCxone,
        "POST",
        "/inContactAPI/services/v{N}/agents/{agentId}/skills",
        "assign skills to an agent",
        &[("PATCH", AGENT_SKILLS)],
        "CXone's `{\"skills\": [{skillId, proficiency 1–20, isActive}]}` → `{\"skills\": [{skillId, proficiency}]}` with the proficiency on {scale}, where higher is better (CXone's 1 is its best); `effectiveDate` and `expirationDate` take the place of `isActive`",
    ),
    row(
        NiceCxone,
        "PUT",
        "/inContactAPI/services/v{N}/agents/{agentId}/skills",
        "change an agent's skill assignments",
        &[("PATCH", AGENT_SKILLS)],
        "CXone's `{\"skills\": [{skillId, proficiency 1–20, isActive}]}` → `{\"skills\": [{skillId, proficiency}]}` with the proficiency on {scale}, where higher is better (CXone's 1 is its best); skills not listed are kept",
    ),
    row(
        NiceCxone,
        "DELETE",
        "/inContactAPI/services/v{N}/agents/{agentId}/skills",
        "remove skills from an agent",
        &[("PATCH", AGENT_SKILLS), ("DELETE", AGENT_SKILL)],
        "CXone's `{\"skills\": [{skillId}]}` → `{\"remove\": [skillId, …]}` sent with `PATCH`, or one `DELETE …/skills/{skillId}` per skill",
    ),
    row(
        NiceCxone,
        "GET",
        "/inContactAPI/services/v{N}/skills/agents",
        "list the agents assigned to several skills",
        &[("GET", SKILL_AGENTS)],
        "none; one request per skill, each answering `{items: [{agentId, proficiency, …}], nextCursor}`",
    ),
    row(
        NiceCxone,
        "GET",
        "/inContactAPI/services/v{N}/skills/{skillId}/agents",
        "list the agents assigned to a skill",
        &[("GET", SKILL_AGENTS)],
        "none; proficiencies are on {scale}, where higher is better (CXone's 1 is its best)",
    ),
    row(
        NiceCxone,
        "POST",
        "/inContactAPI/services/v{N}/skills/{skillId}/agents",
        "assign a skill to many agents",
        &[("POST", SKILL_AGENTS)],
        "CXone's `{\"agents\": [{agentId, proficiency 1–20, isActive}]}` → `{\"agents\": [{agentId, proficiency}]}` with the proficiency on {scale}, where higher is better; atomic: every mistake is reported at once and nothing is written",
    ),
    row(
        NiceCxone,
        "PUT",
        "/inContactAPI/services/v{N}/skills/{skillId}/agents",
        "change many agents' assignments of a skill",
        &[("POST", SKILL_AGENTS)],
        "CXone's `{\"agents\": [{agentId, proficiency 1–20, isActive}]}` → `{\"agents\": [{agentId, proficiency}]}` with the proficiency on {scale}, where higher is better; agents that hold the skill already get the new proficiency",
    ),
    row(
        NiceCxone,
        "DELETE",
        "/inContactAPI/services/v{N}/skills/{skillId}/agents",
        "remove a skill from many agents",
        &[("POST", BULK)],
        "one item per agent, `mode` `merge`: `{\"items\": [{\"agentId\": …, \"remove\": [skillId]}]}`",
    ),
    row(
        NiceCxone,
        "GET",
        "/inContactAPI/services/v{N}/skills",
        "list skills",
        &[("GET", SKILLS)],
        "none; filter with `?name=` and `?active=`; there are no media types or outbound strategies",
    ),
    row(
        NiceCxone,
        "POST",
        "/inContactAPI/services/v{N}/skills",
        "create skills",
        &[("POST", SKILLS)],
        "CXone's `{\"skills\": [{skillName, mediaTypeId, …}]}` → one `{name, description}` per request; there are no media types, campaigns or outbound settings",
    ),
    row(
        NiceCxone,
        "GET",
        "/inContactAPI/services/v{N}/skills/{skillId}",
        "read a skill",
        &[("GET", SKILL)],
        "none; a skill is `{id, name, description, active, createdAt, updatedAt}`",
    ),
    row(
        NiceCxone,
        "PUT",
        "/inContactAPI/services/v{N}/skills/{skillId}",
        "update a skill",
        &[("PATCH", SKILL)],
        "CXone's `{\"skill\": {skillName, isActive, notes, …}}` → `{name, active, description}`, not wrapped",
    ),
    row(
        NiceCxone,
        "GET",
        "/inContactAPI/services/v{N}/agents",
        "list agents",
        &[("GET", USERS)],
        "none; an agent is `{id, email, name, externalId, active, …}`; page with `limit` and `cursor`",
    ),
    // Amazon Connect: a user's proficiencies, predefined attributes, routing profile queues.
    row(
        AmazonConnect,
        "POST",
        "/users/{InstanceId}/{UserId}/associate-proficiencies",
        "associate proficiencies with a user",
        &[("PATCH", AGENT_SKILLS)],
        "Connect's `{\"UserProficiencies\": [{AttributeName, AttributeValue, Level 1–5}]}` → `{\"skills\": [{skillId, proficiency}]}`: each attribute name and value is one skill here (create it with `POST /api/v2/admin/skills`), and `Level` becomes a proficiency on {scale}",
    ),
    row(
        AmazonConnect,
        "POST",
        "/users/{InstanceId}/{UserId}/disassociate-proficiencies",
        "disassociate proficiencies from a user",
        &[("PATCH", AGENT_SKILLS)],
        "Connect's `{\"UserProficiencies\": [{AttributeName, AttributeValue}]}` → `{\"remove\": [skillId, …]}`",
    ),
    row(
        AmazonConnect,
        "POST",
        "/users/{InstanceId}/{UserId}/proficiencies",
        "update the levels of a user's proficiencies",
        &[("PATCH", AGENT_SKILLS)],
        "Connect's `{\"UserProficiencies\": [{AttributeName, AttributeValue, Level 1–5}]}` → `{\"skills\": [{skillId, proficiency}]}` with the proficiency on {scale}; a skill the agent does not hold yet is added rather than refused",
    ),
    row(
        AmazonConnect,
        "GET",
        "/users/{InstanceId}/{UserId}/proficiencies",
        "list a user's proficiencies",
        &[("GET", AGENT_SKILLS)],
        "none; one answer with every skill (`{skillId, skillName, proficiency, level, …}`) instead of `NextToken` pages",
    ),
    row(
        AmazonConnect,
        "PUT",
        "/predefined-attributes/{InstanceId}",
        "create a predefined attribute",
        &[("POST", SKILLS)],
        "Connect's `{Name, Values: {StringList}}` → one skill per value, e.g. `{\"name\": \"Language: Spanish\"}`",
    ),
    row(
        AmazonConnect,
        "GET",
        "/predefined-attributes/{InstanceId}",
        "list predefined attributes",
        &[("GET", SKILLS)],
        "none; each attribute value is a skill of its own; page with `limit` and `cursor`",
    ),
    row(
        AmazonConnect,
        "POST",
        "/routing-profiles/{InstanceId}/{RoutingProfileId}/associate-queues",
        "add queues to a routing profile",
        &[("POST", SKILL_AGENTS), ("POST", BULK)],
        "there are no routing profiles or queues: a queue an agent serves is a skill it holds. Connect's `{\"QueueConfigs\": [{QueueReference, Priority, Delay}]}` → `{\"agents\": [{agentId, proficiency}]}` for the profile's agents; priority and delay have no counterpart",
    ),
    // Salesforce: the ServiceResourceSkill object, one assignment per record.
    row(
        Salesforce,
        "POST",
        "/services/data/v{N}/sobjects/ServiceResourceSkill",
        "give a service resource a skill",
        &[("PUT", AGENT_SKILL)],
        "Salesforce's `{ServiceResourceId, SkillId, SkillLevel 0–99.99, EffectiveStartDate, EffectiveEndDate}` → the agent and skill ids go into the path and the body is `{proficiency, effectiveDate, expirationDate}`, the proficiency an integer on {scale}",
    ),
    row(
        Salesforce,
        "GET",
        "/services/data/v{N}/sobjects/ServiceResourceSkill/{id}",
        "read a skill assignment",
        &[("GET", AGENT_SKILLS)],
        "none; an assignment has no id of its own: it is found by the agent's id and the skill's id",
    ),
    row(
        Salesforce,
        "PATCH",
        "/services/data/v{N}/sobjects/ServiceResourceSkill/{id}",
        "update a skill assignment",
        &[("PUT", AGENT_SKILL)],
        "Salesforce's `{SkillLevel, EffectiveStartDate, EffectiveEndDate}` → `{proficiency, effectiveDate, expirationDate}` with the proficiency an integer on {scale}, addressed by the agent's and the skill's ids",
    ),
    row(
        Salesforce,
        "DELETE",
        "/services/data/v{N}/sobjects/ServiceResourceSkill/{id}",
        "remove a skill assignment",
        &[("DELETE", AGENT_SKILL)],
        "none; addressed by the agent's and the skill's ids instead of a record id",
    ),
];
