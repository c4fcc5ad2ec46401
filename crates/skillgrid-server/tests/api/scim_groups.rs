//! SCIM Groups: skill profiles whose members hold their skills, layered over the members' own
//! assignments; the request sequences Okta and Microsoft Entra ID send for group push, and
//! what the regular API then shows (skills, their sources, the audit trail, events).

use super::scim::{assert_scim_error, scim_app, Scim};
use reqwest::Method;
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const GEXT: &str = "urn:ietf:params:scim:schemas:extension:skillgrid:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

impl Scim {
    async fn group_patch(&self, id: &str, ops: Value) -> crate::helpers::Resp {
        let body = json!({"schemas": [PATCH_OP], "Operations": ops});
        self.send(
            Method::PATCH,
            &format!("/scim/v2/Groups/{id}"),
            Some(&body),
            &[],
        )
        .await
    }

    async fn create_group(&self, body: Value) -> String {
        let r = self
            .send(Method::POST, "/scim/v2/Groups", Some(&body), &[])
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_str().unwrap().to_string()
    }

    async fn user(&self, email: &str) -> String {
        self.create(json!({"schemas": [USER], "userName": email, "active": true}))
            .await
    }

    /// The agent's skills with `?include=sources`, by name: (name, proficiency, sources).
    async fn sources(&self, id: &str) -> Vec<(String, i64, Value)> {
        let r = self
            .app
            .get(&format!("/api/v2/agents/users/{id}/skills?include=sources"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let mut v: Vec<(String, i64, Value)> = r.body["skills"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let mut src = s["sources"].clone();
                for x in src.as_array_mut().unwrap() {
                    x.as_object_mut().unwrap().remove("groupId");
                }
                (
                    s["skillName"].as_str().unwrap().to_string(),
                    s["proficiency"].as_i64().unwrap(),
                    src,
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

fn held(v: &[(&str, i64)]) -> Vec<(String, i64)> {
    v.iter().map(|(n, p)| (n.to_string(), *p)).collect()
}

/// The three facts: joining a group with three skills gives them; a direct assignment at a
/// higher proficiency wins; leaving removes only what the group gave.
#[tokio::test]
async fn group_skills_layer_over_direct_ones() {
    let s = scim_app().await;
    let billing = s.app.create_skill("Billing").await;
    s.app.create_skill("Chat").await;
    s.app.create_skill("Sales").await;
    let spanish = s.app.create_skill("Spanish").await;
    let ana = s.user("ana@example.com").await;
    // Ana's own assignments, through the regular API.
    let r = s
        .app
        .put(
            &format!("/api/v2/agents/users/{ana}/skills"),
            &json!({"skills": [{"skillId": billing, "proficiency": 90},
                               {"skillId": spanish, "proficiency": 40}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let g = s
        .create_group(json!({
            "schemas": [GROUP, GEXT],
            "displayName": "Tier 1",
            GEXT: {"skills": [{"skill": "Billing", "proficiency": 50},
                              {"skill": "chat", "proficiency": "Advanced"},
                              {"skill": "Sales", "proficiency": 60}]}
        }))
        .await;

    let r = s
        .group_patch(
            &g,
            json!([{"op": "add", "path": "members", "value": [{"value": ana}]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["members"][0]["value"], ana);
    assert_eq!(r.body["members"][0]["display"], "ana@example.com");
    assert!(r.body["members"][0]["$ref"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/scim/v2/Users/{ana}")));
    // The group's three skills; Billing stays at Ana's own 90.
    assert_eq!(
        s.skills(&ana).await,
        held(&[
            ("Billing", 90),
            ("Chat", 75),
            ("Sales", 60),
            ("Spanish", 40)
        ])
    );
    let src = s.sources(&ana).await;
    assert_eq!(
        src[0].2,
        json!([{"type": "direct", "proficiency": 90},
               {"type": "group", "proficiency": 50, "displayName": "Tier 1"}])
    );
    assert_eq!(
        src[1].2,
        json!([{"type": "group", "proficiency": 75, "displayName": "Tier 1"}])
    );
    assert_eq!(src[3].2, json!([{"type": "direct", "proficiency": 40}]));
    // The User lists its group.
    let r = s.get(&format!("/scim/v2/Users/{ana}")).await;
    assert_eq!(r.body["groups"][0]["value"], g, "{}", r.text);
    assert_eq!(r.body["groups"][0]["display"], "Tier 1");

    // A direct write to a skill the group gives changes the direct layer: Sales at 80 wins
    // over the group's 60; Chat at 10 stays at the group's 75; removing Chat directly keeps
    // what the group gives.
    let chat = s.app.get("/api/v2/admin/skills?name=Chat").await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .app
        .patch(
            &format!("/api/v2/agents/users/{ana}/skills"),
            &json!({"skills": [{"skillId": chat, "proficiency": 10}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s.app.get("/api/v2/admin/skills?name=Sales").await;
    let sales = r.body["items"][0]["id"].as_str().unwrap().to_string();
    let r = s
        .app
        .put(
            &format!("/api/v2/agents/users/{ana}/skills/{sales}"),
            &json!({"proficiency": 80}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        s.skills(&ana).await,
        held(&[
            ("Billing", 90),
            ("Chat", 75),
            ("Sales", 80),
            ("Spanish", 40)
        ])
    );
    assert_eq!(
        s.sources(&ana).await[1].2,
        json!([{"type": "direct", "proficiency": 10},
               {"type": "group", "proficiency": 75, "displayName": "Tier 1"}])
    );

    // Leaving: what only the group gave goes; the direct assignments stay as they were set.
    let r = s
        .group_patch(
            &g,
            json!([{"op": "remove", "path": format!("members[value eq \"{ana}\"]")}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["members"], json!([]));
    assert_eq!(
        s.skills(&ana).await,
        held(&[
            ("Billing", 90),
            ("Chat", 10),
            ("Sales", 80),
            ("Spanish", 40)
        ])
    );
    assert!(s
        .sources(&ana)
        .await
        .iter()
        .all(|(_, p, src)| *src == json!([{"type": "direct", "proficiency": p}])));
    let r = s.get(&format!("/scim/v2/Users/{ana}")).await;
    assert!(r.body.get("groups").is_none(), "{}", r.text);

    // Every change is in the agent's audit trail and the event feed.
    let r = s
        .app
        .get(&format!(
            "/api/v2/agents/users/{ana}/skills/history?limit=100"
        ))
        .await;
    let actions: Vec<(&str, &str)> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["after"]["skillName"]
                    .as_str()
                    .or(e["before"]["skillName"].as_str())
                    .unwrap(),
            )
        })
        .collect();
    assert!(actions.contains(&("added", "Chat")), "{actions:?}");
    assert!(actions.contains(&("added", "Sales")), "{actions:?}");
    assert!(actions.contains(&("updated", "Chat")), "{actions:?}");
    let r = s
        .app
        .get("/api/v2/events?after=0&types=assignment.changed&limit=1000")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mine = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["data"]["agentId"] == ana || e["subject"] == ana || e.to_string().contains(&ana)
        })
        .count();
    // The PUT, the join, the PATCH of Chat (no effective change: no event), the PUT of Sales,
    // the leave.
    assert!(mine >= 4, "{}", r.text);
}

/// Deleting a group, or taking a skill from it, lowers its members back to what remains.
#[tokio::test]
async fn a_group_losing_a_skill_or_deleted_lowers_its_members() {
    let s = scim_app().await;
    s.app.create_skill("Billing").await;
    s.app.create_skill("Chat").await;
    let ana = s.user("ana@example.com").await;
    let ext = |skills: Value| json!({ "skills": skills });
    let high = s
        .create_group(json!({"displayName": "High", "members": [{"value": ana}],
            GEXT: ext(json!([{"skill": "Billing", "proficiency": 90}, {"skill": "Chat", "proficiency": 30}]))}))
        .await;
    let low = s
        .create_group(json!({"displayName": "Low", "members": [{"value": ana}],
            GEXT: ext(json!([{"skill": "Billing", "proficiency": 40}]))}))
        .await;
    assert_eq!(s.skills(&ana).await, held(&[("Billing", 90), ("Chat", 30)]));
    // High gives Billing no more: Low's 40 remains.
    let r = s
        .group_patch(
            &high,
            json!([{"op": "replace", "path": format!("{GEXT}:skills"),
                    "value": [{"skill": "Chat", "proficiency": 30}]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body[GEXT]["skills"],
        json!([{"skill": "Chat", "proficiency": "30"}])
    );
    assert_eq!(s.skills(&ana).await, held(&[("Billing", 40), ("Chat", 30)]));
    let r = s
        .send(Method::DELETE, &format!("/scim/v2/Groups/{low}"), None, &[])
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_scim_error(&s.get(&format!("/scim/v2/Groups/{low}")).await, 404, None);
    assert_eq!(s.skills(&ana).await, held(&[("Chat", 30)]));
    let r = s
        .send(
            Method::DELETE,
            &format!("/scim/v2/Groups/{high}"),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(s.skills(&ana).await, held(&[]));
}

/// Okta's group push: a look-up by displayName, the create, members added and removed by
/// PATCH, `replace` of the name (with the id in the value) and of the whole members, then
/// the group deleted. The agents' skills follow through the regular API.
#[tokio::test]
async fn okta_pushes_a_group() {
    let s = scim_app().await;
    s.app.create_skill("Billing").await;
    s.app.create_skill("Chat").await;
    let ana = s.user("ana@example.com").await;
    let bo = s.user("bo@example.com").await;
    let r = s
        .get("/scim/v2/Groups?filter=displayName%20eq%20%22Support%22&startIndex=1&count=100")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["totalResults"], 0);
    let r = s
        .send(
            Method::POST,
            "/scim/v2/Groups",
            Some(&json!({"schemas": [GROUP], "displayName": "Support", "members": []})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let g = r.body["id"].as_str().unwrap().to_string();
    assert!(r
        .header("location")
        .unwrap()
        .ends_with(&format!("/scim/v2/Groups/{g}")));
    assert_eq!(r.header("etag").unwrap(), r.body["meta"]["version"]);
    // The skills are the administrator's to give: here through SCIM too.
    let r = s
        .group_patch(&g, json!([{"op": "add", "path": format!("{GEXT}:skills"),
            "value": [{"skill": "Billing", "proficiency": "Expert"}, {"skill": "Chat", "proficiency": 50}]}]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s
        .group_patch(
            &g,
            json!([{"op": "add", "path": "members",
                "value": [{"value": ana, "display": "ana@example.com"}, {"value": bo, "display": "bo@example.com"}]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for u in [&ana, &bo] {
        assert_eq!(s.skills(u).await, held(&[("Billing", 100), ("Chat", 50)]));
    }
    let r = s
        .get(&format!(
            "/scim/v2/Groups?filter=members.value%20eq%20%22{bo}%22"
        ))
        .await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.text);
    // Renamed, with the group's id in the value as Okta sends it.
    let r = s
        .group_patch(
            &g,
            json!([{"op": "replace", "value": {"id": g, "displayName": "Support EMEA"}}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["displayName"], "Support EMEA");
    // Bo removed.
    let r = s
        .group_patch(
            &g,
            json!([{"op": "remove", "path": format!("members[value eq \"{bo}\"]")}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.skills(&bo).await, held(&[]));
    assert_eq!(
        s.skills(&ana).await,
        held(&[("Billing", 100), ("Chat", 50)])
    );
    // The whole membership replaced: Bo in, Ana out.
    let r = s
        .group_patch(
            &g,
            json!([{"op": "replace", "path": "members", "value": [{"value": bo}]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.skills(&ana).await, held(&[]));
    assert_eq!(s.skills(&bo).await, held(&[("Billing", 100), ("Chat", 50)]));
    // A deactivated member keeps the group's skills (only inactive).
    let r = s
        .patch(&bo, json!([{"op": "replace", "value": {"active": false}}]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.agent(&bo).await["active"], false);
    assert_eq!(s.skills(&bo).await, held(&[("Billing", 100), ("Chat", 50)]));
    // PUT of the whole group, without the extension: its skills stay, members as sent.
    let r = s
        .send(
            Method::PUT,
            &format!("/scim/v2/Groups/{g}"),
            Some(&json!({"schemas": [GROUP], "id": g, "displayName": "Support EMEA", "members": [{"value": ana}]})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        s.skills(&ana).await,
        held(&[("Billing", 100), ("Chat", 50)])
    );
    assert_eq!(s.skills(&bo).await, held(&[]));
    let r = s
        .send(Method::DELETE, &format!("/scim/v2/Groups/{g}"), None, &[])
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(s.skills(&ana).await, held(&[]));
}

/// Microsoft Entra ID's group provisioning: look-ups by displayName and externalId, the
/// create, `Add` and `Remove` of members (by value list and by filter path), `Replace` of
/// displayName, a read without members, the delete.
#[tokio::test]
async fn entra_id_provisions_a_group() {
    let s = scim_app().await;
    s.app.create_skill("Billing").await;
    let ana = s.user("ana@example.com").await;
    let bo = s.user("bo@example.com").await;
    let r = s
        .get("/scim/v2/Groups?excludedAttributes=members&filter=displayName+eq+%22Group1DisplayName%22")
        .await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.text);
    let g = s
        .create_group(json!({
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Group1DisplayName",
            "meta": {"resourceType": "Group"},
            "members": [],
            GEXT: {"skills": [{"skill": "Billing", "proficiency": 70}]}
        }))
        .await;
    let r = s
        .get("/scim/v2/Groups?filter=externalId+eq+%228aa1a0c0-c4c3-4bc0-b4a5-2ef676900159%22")
        .await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.text);
    assert_eq!(r.body["Resources"][0]["id"], g);
    let r = s
        .group_patch(
            &g,
            json!([{"op": "Add", "path": "members", "value": [{"value": ana}, {"value": bo}]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.skills(&ana).await, held(&[("Billing", 70)]));
    let r = s
        .get(&format!("/scim/v2/Groups/{g}?excludedAttributes=members"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("members").is_none(), "{}", r.text);
    assert_eq!(r.body["displayName"], "Group1DisplayName");
    // Entra's Remove names the members in `value`: only those go.
    let r = s
        .group_patch(
            &g,
            json!([{"op": "Remove", "path": "members", "value": [{"value": ana}]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["members"].as_array().unwrap().len(), 1);
    assert_eq!(s.skills(&ana).await, held(&[]));
    assert_eq!(s.skills(&bo).await, held(&[("Billing", 70)]));
    let r = s
        .group_patch(
            &g,
            json!([{"op": "Remove", "path": format!("members[value eq \"{bo}\"]")}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.skills(&bo).await, held(&[]));
    let r = s
        .group_patch(
            &g,
            json!([{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["displayName"],
        "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    );
    let r = s
        .send(Method::DELETE, &format!("/scim/v2/Groups/{g}"), None, &[])
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = s.get("/scim/v2/Groups").await;
    assert_eq!(r.body["totalResults"], 0);
}

/// A wrong Group is refused with every mistake named, and changes nothing; a taken name is a
/// conflict; If-Match guards every write.
#[tokio::test]
async fn group_mistakes_and_preconditions() {
    let s = scim_app().await;
    s.app.create_skill("Billing").await;
    let ana = s.user("ana@example.com").await;
    let r = s
        .send(
            Method::POST,
            "/scim/v2/Groups",
            Some(&json!({
                "externalId": "x\u{0}y",
                "members": [{"value": ana, "display": "a".repeat(300)}, {"value": "0190a0b0-0000-7000-8000-000000000000"}, {"value": "nope"}],
                GEXT: {"skills": [{"skill": "Billing", "proficiency": 190},
                                  {"skill": "Cooking", "proficiency": 50}]}
            })),
            &[],
        )
        .await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    let detail = r.body["detail"].as_str().unwrap();
    for part in [
        "displayName: required",
        "externalId: contains control characters",
        "members[0].display: at most 256 characters",
        "members[1].value",
        "members[2].value",
        &format!("{GEXT}:skills[0].proficiency"),
        &format!("{GEXT}:skills[1].skill"),
    ] {
        assert!(detail.contains(part), "{part} in {detail}");
    }
    assert_eq!(s.get("/scim/v2/Groups").await.body["totalResults"], 0);
    assert_eq!(s.skills(&ana).await, held(&[]));

    let g = s
        .create_group(json!({"displayName": "Tier 1", GEXT: {"skills": [{"skill": "Billing", "proficiency": 50}]}}))
        .await;
    let r = s
        .send(
            Method::POST,
            "/scim/v2/Groups",
            Some(&json!({"displayName": "tier 1"})),
            &[],
        )
        .await;
    assert_scim_error(&r, 409, Some("uniqueness"));
    let r = s
        .send(
            Method::PATCH,
            &format!("/scim/v2/Groups/{g}"),
            Some(&json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": ana}]}]})),
            &[("if-match", "W/\"99\"")],
        )
        .await;
    assert_scim_error(&r, 412, None);
    assert_eq!(s.skills(&ana).await, held(&[]));
    let tag = s.get(&format!("/scim/v2/Groups/{g}")).await.body["meta"]["version"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .send(
            Method::PATCH,
            &format!("/scim/v2/Groups/{g}"),
            Some(&json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": ana}]}]})),
            &[("if-match", &tag)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_ne!(r.body["meta"]["version"], tag);
    assert_eq!(s.skills(&ana).await, held(&[("Billing", 50)]));
    let r = s
        .send(
            Method::DELETE,
            &format!("/scim/v2/Groups/{g}"),
            None,
            &[("if-match", &tag)],
        )
        .await;
    assert_scim_error(&r, 412, None);
    // Discovery declares Groups.
    let r = s.get("/scim/v2/ResourceTypes/Group").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["schemaExtensions"][0]["schema"], GEXT);
    let r = s.get(&format!("/scim/v2/Schemas/{GEXT}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_scim_error(&s.get("/scim/v2/Groups/not-an-id").await, 404, None);
}

/// A search at the root spans Groups and Users (Groups first); `/Groups/.search` searches
/// Groups; a member's `display` and `type` read back as sent, else the agent's name and User.
#[tokio::test]
async fn searches_span_groups_and_users() {
    let s = scim_app().await;
    let ana = s.user("ana@example.com").await;
    let bo = s.user("bo@example.com").await;
    let g = s
        .create_group(json!({"displayName": "Tier 1", "members": [
            {"value": ana, "display": "Ana (Okta)", "type": "direct"}, {"value": bo}]}))
        .await;
    let r = s.get(&format!("/scim/v2/Groups/{g}")).await;
    assert_eq!(r.body["members"][0]["display"], "Ana (Okta)", "{}", r.text);
    assert_eq!(r.body["members"][0]["type"], "direct");
    assert_eq!(r.body["members"][1]["display"], "bo@example.com");
    assert_eq!(r.body["members"][1]["type"], "User");
    let r = s
        .send(
            Method::POST,
            "/scim/v2/.search",
            Some(&json!({"startIndex": 1, "count": 2})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["totalResults"], 3, "{}", r.text);
    assert_eq!(r.body["Resources"][0]["id"], g);
    assert_eq!(r.body["Resources"][1]["id"], ana);
    let r = s
        .send(
            Method::POST,
            "/scim/v2/.search",
            Some(&json!({"startIndex": 3, "count": 2})),
            &[],
        )
        .await;
    assert_eq!(r.body["Resources"][0]["id"], bo, "{}", r.text);
    assert_eq!(r.body["itemsPerPage"], 1);
    let r = s
        .send(
            Method::POST,
            "/scim/v2/Groups/.search",
            Some(&json!({"filter": format!("members[value eq \"{bo}\"]"), "excludedAttributes": ["members"]})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["totalResults"], 1, "{}", r.text);
    assert!(r.body["Resources"][0].get("members").is_none());
}

/// A bulk write large enough to be pipelined (on SQLite) layers the members of a group like
/// a single write: the group's skill stays at the group's proficiency for its member, and a
/// removal keeps what the group gives; agents outside the group get what the write says.
#[tokio::test]
async fn a_large_bulk_write_respects_group_skills() {
    let s = scim_app().await;
    let billing = s.app.create_skill("Billing").await;
    let mut agents = Vec::new();
    for i in 0..80 {
        agents.push(s.app.create_agent(&format!("agent{i}@example.com")).await);
    }
    let member = agents[40].to_string();
    s.create_group(
        json!({"displayName": "Billing", "members": [{"value": member}],
        GEXT: {"skills": [{"skill": "Billing", "proficiency": 70}]}}),
    )
    .await;
    let items: Vec<Value> = agents
        .iter()
        .map(|a| json!({"agentId": a, "skills": [{"skillId": billing, "proficiency": 30}]}))
        .collect();
    let r = s
        .app
        .post(
            "/api/v2/agents/skills/bulk",
            &json!({"mode": "merge", "items": items}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.skills(&member).await, held(&[("Billing", 70)]));
    assert_eq!(
        s.skills(&agents[0].to_string()).await,
        held(&[("Billing", 30)])
    );
    assert_eq!(
        s.sources(&member).await[0].2,
        json!([{"type": "direct", "proficiency": 30},
               {"type": "group", "proficiency": 70, "displayName": "Billing"}])
    );
    let items: Vec<Value> = agents
        .iter()
        .map(|a| json!({"agentId": a, "remove": [billing]}))
        .collect();
    let r = s
        .app
        .post(
            "/api/v2/agents/skills/bulk",
            &json!({"mode": "merge", "items": items}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.skills(&member).await, held(&[("Billing", 70)]));
    assert_eq!(s.skills(&agents[79].to_string()).await, held(&[]));
    assert_eq!(
        s.sources(&member).await[0].2,
        json!([{"type": "group", "proficiency": 70, "displayName": "Billing"}])
    );
}

/// A skill only a group without members gives can be deleted: the group gives it no more. One
/// a member holds through a group is in use (409), like any held skill.
#[tokio::test]
async fn a_skill_a_group_gives_is_deleted_or_in_use_as_its_holders_say() {
    let s = scim_app().await;
    let billing = s.app.create_skill("Billing").await;
    let chat = s.app.create_skill("Chat").await;
    let ana = s.user("ana@example.com").await;
    let empty = s
        .create_group(json!({"displayName": "Empty",
            GEXT: {"skills": [{"skill": "Billing", "proficiency": 50}, {"skill": "Chat", "proficiency": 50}]}}))
        .await;
    s.create_group(json!({"displayName": "Chat", "members": [{"value": ana}],
        GEXT: {"skills": [{"skill": "Chat", "proficiency": 60}]}}))
        .await;
    let r = s.app.delete(&format!("/api/v2/admin/skills/{chat}")).await;
    assert_eq!(r.status, 409, "{}", r.text);
    let r = s
        .app
        .delete(&format!("/api/v2/admin/skills/{billing}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = s.get(&format!("/scim/v2/Groups/{empty}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body[GEXT]["skills"],
        json!([{"skill": "Chat", "proficiency": "Intermediate"}])
    );
    assert_eq!(s.skills(&ana).await, held(&[("Chat", 60)]));
}
