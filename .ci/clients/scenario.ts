// The scenario every generated client runs against a live server, here with the types
// openapi-typescript generates from the served document (schema.d.ts) and openapi-fetch.
// Under `tsc --strict`, every call and answer is checked against the types the document gives.
// Environment: API (base URL), CLIENT_ID, CLIENT_SECRET.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Problem = components["schemas"]["Problem"];

// Node's globals, without @types/node.
declare const process: { env: Record<string, string | undefined> };

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

function check(cond: boolean, what: string, got?: unknown): asserts cond {
  if (!cond) throw new Error(`${what}${got === undefined ? "" : `: ${JSON.stringify(got)}`}`);
}

const api = env("API");
const anonymous = createClient<paths>({ baseUrl: api });

// 1. A token: client credentials as HTTP Basic (the token route's first security requirement).
const basic = btoa(`${encodeURIComponent(env("CLIENT_ID"))}:${encodeURIComponent(env("CLIENT_SECRET"))}`);
const token = await anonymous.POST("/oauth/token", {
  body: { grant_type: "client_credentials" },
  headers: { Authorization: `Basic ${basic}`, "Content-Type": "application/x-www-form-urlencoded" },
  bodySerializer: (body) => new URLSearchParams({ grant_type: body.grant_type }),
});
check(token.data !== undefined, "a token", token.error);
check(token.data.token_type === "Bearer" && token.data.expires_in === 3600, "a one-hour bearer token", token.data);
check(token.data.scope.split(" ").includes("admin:agent:write"), "the client's scopes", token.data.scope);

const client = createClient<paths>({
  baseUrl: api,
  headers: { Authorization: `Bearer ${token.data.access_token}` },
});

// The level names are the organization's: read the value of "Advanced" from its settings.
const settings = await client.GET("/api/v2/organizations/settings");
check(settings.data !== undefined, "the settings", settings.error);
const advanced = settings.data.proficiencyScale.levels["Advanced"];
check(advanced !== undefined, "a level named Advanced", settings.data.proficiencyScale);

// 2. The skill catalog.
const skills = await client.GET("/api/v2/admin/skills", { params: { query: { active: true, limit: 100 } } });
check(skills.data !== undefined, "a page of skills", skills.error);
check(skills.data.items.length > 0 && skills.data.items.every((s) => s.active), "active skills", skills.data);
const skill = skills.data.items[0]!;

// 3. Two new agents.
async function newAgent(n: number) {
  const email = `typescript-${n}-${Date.now()}@example.com`;
  const r = await client.POST("/api/v2/admin/users", { body: { email, name: `TypeScript client ${n}` } });
  check(r.data !== undefined && r.response.status === 201, "a created agent", r.error);
  check(r.data.email === email && r.data.active && r.data.externalId === null, "the agent as sent", r.data);
  return r.data;
}
const first = await newAgent(1);
const second = await newAgent(2);

// 4. One skill set by its level name, stored as the level's value.
const path = { userId: first.id, skillId: skill.id };
const put = await client.PUT("/api/v2/agents/users/{userId}/skills/{skillId}", {
  params: { path },
  body: { proficiency: "Advanced" },
});
check(put.data !== undefined, "the agent's skills", put.error);
const held = put.data.skills.find((a) => a.skillId === skill.id);
check(held?.proficiency === advanced && held.level === "Advanced", "the skill at Advanced", put.data);
check(put.data.version === 1 && put.response.headers.get("ETag") === '"1"', "version 1", put.data);

// 5. A bad PUT: the typed problem says where the mistake is.
const bad = await client.PUT("/api/v2/agents/users/{userId}/skills/{skillId}", {
  params: { path },
  body: { proficiency: settings.data.proficiencyScale.max + 1 },
});
check(bad.data === undefined && bad.response.status === 400, "a refused PUT", bad.data);
const problem: Problem = bad.error;
check(problem.code === "validation_failed", "validation_failed", problem);
const entry = problem.errors?.[0];
check(entry?.pointer === "/proficiency" && entry.code === "out_of_range", "an entry at /proficiency", problem);

// 6. Both agents in one bulk request: the first one's skill updated, the second one's added.
const bulk = await client.POST("/api/v2/agents/skills/bulk", {
  body: {
    mode: "merge",
    items: [
      { agentId: first.id, skills: [{ skillId: skill.id, proficiency: "Expert" }], ifMatch: '"1"' },
      { agentId: second.id, skills: [{ skillId: skill.id, proficiency: 40 }] },
    ],
  },
});
check(bulk.data !== undefined, "a bulk answer", bulk.error);
const s = bulk.data.summary;
check(!bulk.data.dryRun && s.items === 2 && s.succeeded === 2 && s.failed === 0, "two items written", s);
check(s.added === 1 && s.updated === 1, "one added, one updated", s);
const [r0, r1] = bulk.data.results;
check(r0?.agentId === first.id && r0.status === 200 && r0.version === 2, "the first agent at version 2", r0);
check(r1?.agentId === second.id && r1.status === 200 && r1.version === 1, "the second agent at version 1", r1);
const after = await client.GET("/api/v2/agents/users/{userId}/skills", { params: { path: { userId: second.id } } });
check(after.data?.skills[0]?.proficiency === 40, "the second agent's skill", after.data);

console.log(`typescript client: ${skills.data.items.length} skills listed, agents ${first.id} and ${second.id} written, a problem at ${entry.pointer}`);
