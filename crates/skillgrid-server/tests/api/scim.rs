//! SCIM 2.0 under `/scim/v2`: discovery, Users, filters, PATCH as identity providers send it,
//! If-Match, errors in SCIM's own format, and the agents and skills the regular API then shows.

use crate::helpers::{spawn_app, Resp, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

const EXT: &str = "urn:ietf:params:scim:schemas:extension:skillgrid:2.0:User";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub struct Scim {
    pub app: TestApp,
    pub token: String,
}

pub async fn scim_app() -> Scim {
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let token = app.token_with(&["scim"]).await;
    Scim { app, token }
}

impl Scim {
    pub async fn send(
        &self,
        m: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        send_as(&self.app, &self.token, m, path, body, headers).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, body: Value) -> Resp {
        self.send(Method::POST, "/scim/v2/Users", Some(&body), &[])
            .await
    }

    pub async fn patch(&self, id: &str, ops: Value) -> Resp {
        let body = json!({"schemas": [PATCH_OP], "Operations": ops});
        self.send(
            Method::PATCH,
            &format!("/scim/v2/Users/{id}"),
            Some(&body),
            &[],
        )
        .await
    }

    /// Creates a User and returns its id.
    pub async fn create(&self, body: Value) -> String {
        let r = self.post(body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// The agent as the regular API shows it.
    pub async fn agent(&self, id: &str) -> Value {
        let r = self.app.get(&format!("/api/v2/admin/users/{id}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body
    }

    /// The agent's skills as the regular API shows them: (name, proficiency), by name.
    pub async fn skills(&self, id: &str) -> Vec<(String, i64)> {
        let b = self.app.skills_of(id.parse().unwrap()).await;
        let mut v: Vec<(String, i64)> = b["skills"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["skillName"].as_str().unwrap().to_string(),
                    s["proficiency"].as_i64().unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    }
}

/// A SCIM request as an identity provider sends it: `application/scim+json`.
pub async fn send_as(
    app: &TestApp,
    token: &str,
    m: Method,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Resp {
    let mut h: Vec<(&str, &str)> = headers.to_vec();
    let bytes = body
        .map(|b| serde_json::to_vec(b).unwrap())
        .unwrap_or_default();
    if body.is_some()
        && !h
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        h.push(("content-type", "application/scim+json"));
    }
    let mut b = app
        .http
        .request(m, app.url(path))
        .bearer_auth(token)
        .body(bytes);
    for (k, v) in h {
        b = b.header(k, v);
    }
    let r = b.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    Resp {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

/// Asserts a SCIM error: status, `scimType` (if any), SCIM's content type and schema.
#[track_caller]
pub fn assert_scim_error(r: &Resp, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.text);
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("application/scim+json"),
        "{:?}",
        r.headers
    );
    assert_eq!(
        r.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "{}",
        r.text
    );
    assert_eq!(r.body["status"], status.to_string(), "{}", r.text);
    assert_eq!(r.body["scimType"].as_str(), scim_type, "{}", r.text);
    assert!(
        !r.body["detail"].as_str().unwrap_or("").is_empty(),
        "{}",
        r.text
    );
}

fn ana() -> Value {
    json!({
        "schemas": [USER, EXT],
        "userName": "ana@example.com",
        "name": {"givenName": "Ana", "familyName": "Lopez"},
        "emails": [{"value": "ana@example.com", "type": "work", "primary": true}],
        "externalId": "00u1",
        "active": true,
        "nickName": "an unknown attribute, ignored",
        EXT: {"skills": [{"skill": "billing", "proficiency": 80},
                         {"skill": "Sales", "proficiency": "Expert"}]}
    })
}

#[tokio::test]
async fn discovery_says_what_is_supported() {
    let s = scim_app().await;
    let r = s.get("/scim/v2/ServiceProviderConfig").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/scim+json"));
    let b = &r.body;
    assert_eq!(b["patch"]["supported"], true);
    assert_eq!(b["bulk"]["supported"], false);
    assert_eq!(b["filter"]["supported"], true);
    assert_eq!(b["filter"]["maxResults"], 1000);
    assert_eq!(b["changePassword"]["supported"], false);
    assert_eq!(b["sort"]["supported"], true);
    assert_eq!(b["etag"]["supported"], true);
    assert_eq!(b["authenticationSchemes"][0]["type"], "oauthbearertoken");

    let r = s.get("/scim/v2/ResourceTypes").await;
    assert_eq!(r.body["totalResults"], 2, "Users and Groups: {}", r.text);
    assert_eq!(r.body["Resources"][0]["id"], "User");
    assert_eq!(r.body["Resources"][0]["schemaExtensions"][0]["schema"], EXT);
    assert_eq!(r.body["Resources"][1]["id"], "Group");
    let r = s.get("/scim/v2/ResourceTypes/User").await;
    assert_eq!(r.body["endpoint"], "/Users");
    let r = s.get("/scim/v2/ResourceTypes/Group").await;
    assert_eq!(r.body["endpoint"], "/Groups");
    assert_scim_error(&s.get("/scim/v2/ResourceTypes/Role").await, 404, None);

    let r = s.get("/scim/v2/Schemas").await;
    let ids: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            USER,
            EXT,
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "urn:ietf:params:scim:schemas:extension:skillgrid:2.0:Group"
        ]
    );
    let r = s.get(&format!("/scim/v2/Schemas/{EXT}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["attributes"][0]["name"], "skills");
    assert_scim_error(&s.get("/scim/v2/Schemas/urn:nothing").await, 404, None);
}

#[tokio::test]
async fn a_user_becomes_an_agent_with_its_skills() {
    let s = scim_app().await;
    s.app.create_skill("Billing").await;
    s.app.create_skill("Sales").await;
    let r = s.post(ana()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let loc = r.header("location").unwrap().to_string();
    assert!(loc.ends_with(&format!("/scim/v2/Users/{id}")), "{loc}");
    assert_eq!(r.body["meta"]["location"], loc);
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert_eq!(r.header("etag"), r.body["meta"]["version"].as_str());
    assert!(r.body["meta"]["version"]
        .as_str()
        .unwrap()
        .starts_with("W/\""));
    assert_eq!(r.body["userName"], "ana@example.com");
    // Read back as sent: the name parts, no displayName (the agent's name is "Ana Lopez").
    assert!(r.body.get("displayName").is_none(), "{}", r.text);
    assert_eq!(
        r.body["name"],
        json!({"givenName": "Ana", "familyName": "Lopez"})
    );
    assert_eq!(r.body["name"]["familyName"], "Lopez");
    assert_eq!(r.body["externalId"], "00u1");
    assert_eq!(
        r.body[EXT]["skills"],
        json!([{"skill": "Billing", "proficiency": "80"}, {"skill": "Sales", "proficiency": "Expert"}])
    );
    assert!(r.body.get("nickName").is_none());

    // The regular API sees the same agent and skills.
    let a = s.agent(&id).await;
    assert_eq!(a["email"], "ana@example.com");
    assert_eq!(a["name"], "Ana Lopez");
    assert_eq!(a["externalId"], "00u1");
    assert_eq!(a["active"], true);
    assert_eq!(
        s.skills(&id).await,
        [("Billing".to_string(), 80), ("Sales".to_string(), 100)]
    );

    // GET by id, and the same userName again is a uniqueness conflict (any case).
    let r = s.get(&format!("/scim/v2/Users/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["id"], id);
    let mut again = ana();
    again["userName"] = json!("ANA@example.com");
    assert_scim_error(&s.post(again).await, 409, Some("uniqueness"));
}

/// What the identity provider sent reads back as it sent it, until the API changes the agent.
#[tokio::test]
async fn a_user_reads_back_as_sent() {
    let s = scim_app().await;
    let sent = json!({
        "userName": "alopez",
        "name": {"givenName": "Ana María", "familyName": "López", "formatted": "Dr. Ana María López"},
        "displayName": "Ana",
        "emails": [{"value": "home@example.org", "type": "home"},
                   {"value": "ana@example.com", "type": "work", "primary": true}],
    });
    let id = s.create(sent.clone()).await;
    let a = s.agent(&id).await;
    assert_eq!(
        (a["email"].as_str(), a["name"].as_str()),
        (Some("ana@example.com"), Some("Ana"))
    );
    let u = s.get(&format!("/scim/v2/Users/{id}")).await.body;
    for attr in ["userName", "name", "displayName", "emails"] {
        assert_eq!(u[attr], sent[attr], "{attr}");
    }
    // The userName is unique, in any case.
    let r = s
        .post(json!({"userName": "ALOPEZ", "emails": [{"value": "other@example.com"}]}))
        .await;
    assert_scim_error(&r, 409, Some("uniqueness"));
    // A name change through the API: SCIM shows the agent's name from then on.
    let r = s
        .app
        .patch(
            &format!("/api/v2/admin/users/{id}"),
            &json!({"name": "Ana Lopez"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let u = s.get(&format!("/scim/v2/Users/{id}")).await.body;
    assert_eq!(u["displayName"], "Ana Lopez");
    assert_eq!(
        u["name"],
        json!({"formatted": "Ana Lopez", "givenName": "Ana", "familyName": "Lopez"})
    );
    assert_eq!(u["userName"], "alopez", "the email did not change");
    // Neither a userName nor an email that is an address: refused.
    let r = s.post(json!({"userName": "bo"})).await;
    assert_scim_error(&r, 400, Some("invalidValue"));
}

#[tokio::test]
async fn skill_mistakes_name_every_entry() {
    let s = scim_app().await;
    s.app.create_skill("Billing").await;
    let mut u = ana();
    u[EXT] = json!({"skills": [
        {"skill": "Billing", "proficiency": 900},
        {"skill": "Nope", "proficiency": 10},
        {"skill": "billing", "proficiency": "Advansed"},
        {"proficiency": 3}
    ]});
    let r = s.post(u).await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    let d = r.body["detail"].as_str().unwrap();
    for p in [
        "skills[0].proficiency",
        "skills[1].skill",
        "skills[2]",
        "skills[3].skill",
    ] {
        assert!(d.contains(&format!("{EXT}:{p}")), "{p} in {d}");
    }
    assert!(d.contains("Nope"), "{d}");
    // Nothing was created.
    let r = s.get("/scim/v2/Users").await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.text);

    // More skills than an agent may hold: the list as a whole is named.
    let r = s
        .app
        .patch(
            "/api/v2/organizations/settings",
            &json!({"limits": {"maxSkillsPerAgent": 1}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    s.app.create_skill("Sales").await;
    let r = s
        .post(ana_with_skills(
            json!([{"skill": "Billing", "proficiency": 80},
                                     {"skill": "Sales", "proficiency": 60}]),
        ))
        .await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    assert_eq!(
        r.body["detail"],
        format!("{EXT}:skills: 2 skills were sent; an agent may hold at most 1"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn filters_paging_and_sorting() {
    let s = scim_app().await;
    for (i, who) in ["cy", "ana", "bo", "dee"].iter().enumerate() {
        let active = i != 2;
        s.create(
            json!({"userName": format!("{who}@example.com"), "displayName": who.to_uppercase(),
            "externalId": format!("X{i}"), "active": active}),
        )
        .await;
    }
    let filtered = |f: &str| {
        format!(
            "/scim/v2/Users?filter={}",
            form_urlencoded::byte_serialize(f.as_bytes()).collect::<String>()
        )
    };
    let cases: &[(&str, &[&str])] = &[
        (r#"userName eq "ANA@example.com""#, &["ana"]),
        (r#"userName sw "a" or userName sw "d""#, &["ana", "dee"]),
        (r#"active eq false"#, &["bo"]),
        (r#"not (active eq false) and displayName co "E""#, &["dee"]),
        (r#"externalId eq "X1""#, &["ana"]),
        (r#"externalId eq "x1""#, &[]),
        (
            r#"emails[type eq "work" and value ew "@example.com"] and userName eq "cy@example.com""#,
            &["cy"],
        ),
        (r#"emails.value eq "bo@example.com""#, &["bo"]),
        (
            r#"meta.lastModified gt "2000-01-01T00:00:00Z" and userName ew "y@example.com""#,
            &["cy"],
        ),
        (r#"meta.lastModified lt "2000-01-01T00:00:00Z""#, &[]),
        (
            r#"externalId pr and (userName eq "bo@example.com" or userName eq "dee@example.com")"#,
            &["bo", "dee"],
        ),
    ];
    for (f, want) in cases {
        let r = s.get(&filtered(f)).await;
        assert_eq!(r.status, 200, "{f}: {}", r.text);
        let mut got: Vec<String> = r.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                u["userName"]
                    .as_str()
                    .unwrap()
                    .split('@')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect();
        got.sort();
        assert_eq!(got, *want, "{f}");
        assert_eq!(r.body["totalResults"], want.len(), "{f}");
    }
    for f in [
        r#"nickName eq "x""#,
        r#"userName eq"#,
        r#"active gt true"#,
        r#"userName eq "a" oops"#,
    ] {
        assert_scim_error(&s.get(&filtered(f)).await, 400, Some("invalidFilter"));
    }

    // Pages over a stable order, and sorting.
    let r = s
        .get("/scim/v2/Users?sortBy=userName&startIndex=2&count=2")
        .await;
    let names: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bo@example.com", "cy@example.com"]);
    assert_eq!(r.body["totalResults"], 4);
    assert_eq!(r.body["startIndex"], 2);
    assert_eq!(r.body["itemsPerPage"], 2);
    let r = s
        .get("/scim/v2/Users?sortBy=displayName&sortOrder=descending&count=1")
        .await;
    assert_eq!(r.body["Resources"][0]["displayName"], "DEE");
    let r = s.get("/scim/v2/Users?count=0").await;
    assert_eq!(r.body["totalResults"], 4);
    assert_eq!(r.body["Resources"], json!([]));
    assert_scim_error(
        &s.get("/scim/v2/Users?count=many").await,
        400,
        Some("invalidValue"),
    );
    assert_scim_error(
        &s.get("/scim/v2/Users?sortOrder=up").await,
        400,
        Some("invalidValue"),
    );
}

/// Microsoft Entra ID's provisioning sequence: a query by userName, the create, attribute
/// changes with `Replace` and filtered paths, then `active` set to the string "False".
#[tokio::test]
async fn entra_id_provisions_and_deprovisions() {
    let s = scim_app().await;
    s.app.create_skill("Billing").await;
    let r = s
        .get("/scim/v2/Users?filter=userName+eq+%22Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1%40example.com%22")
        .await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.text);
    assert_eq!(r.body["Resources"], json!([]));
    let id = s
        .create(json!({
            "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@example.com",
            "active": true,
            "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@example.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "roles": [],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Support"}
        }))
        .await;
    let a = s.agent(&id).await;
    assert_eq!(
        a["email"], "Test_User_fd0ea19b@example.com",
        "the primary email is the agent's"
    );
    assert_eq!(a["name"], "givenName familyName");
    // The userName reads back as sent, and finds the User (in any case).
    let r = s
        .get("/scim/v2/Users?filter=userName+eq+%22test_user_ab6490ee-1e48-479e-a20b-2d77186b5dd1%40example.com%22")
        .await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.text);
    assert_eq!(
        r.body["Resources"][0]["userName"],
        "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@example.com"
    );

    let r = s
        .patch(&id, json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@example.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
            {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0100"},
            {"op": "Add", "path": format!("{EXT}:skills"), "value": [{"skill": "Billing", "proficiency": 60}]}
        ]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let a = s.agent(&id).await;
    assert_eq!(
        a["email"], "updatedEmail@example.com",
        "the changed work email moves the address"
    );
    assert_eq!(a["name"], "givenName updatedFamilyName");
    assert_eq!(s.skills(&id).await, [("Billing".to_string(), 60)]);

    let r = s
        .patch(
            &id,
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["active"], false);
    assert_eq!(s.agent(&id).await["active"], false);
    // Its skills stay; the agent is only inactive.
    assert_eq!(s.skills(&id).await, [("Billing".to_string(), 60)]);
    // A filter by externalId, as Entra matches on it too.
    let r = s
        .get("/scim/v2/Users?filter=externalId+eq+%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22")
        .await;
    assert_eq!(r.body["Resources"][0]["active"], false);

    // Entra's "True" turns it back on; then it is deleted.
    let r = s
        .patch(&id, json!([{"op": "replace", "value": {"active": "True"}}]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.agent(&id).await["active"], true);
    let r = s
        .send(Method::DELETE, &format!("/scim/v2/Users/{id}"), None, &[])
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_scim_error(&s.get(&format!("/scim/v2/Users/{id}")).await, 404, None);
    assert_scim_error(
        &s.patch(
            &id,
            json!([{"op": "replace", "path": "active", "value": true}]),
        )
        .await,
        404,
        None,
    );
    let r = s.get("/scim/v2/Users").await;
    assert_eq!(r.body["totalResults"], 0);
    // The regular API keeps the agent, inactive, with its history.
    assert_eq!(s.agent(&id).await["active"], false);
}

/// Okta's sequence: a query by userName, the create, `replace` without a path (profile
/// changes, then `active: false`), a reactivation by PUT, and skills removed by a filter path.
#[tokio::test]
async fn okta_provisions_updates_and_deactivates() {
    let s = scim_app().await;
    s.app.create_skill("Billing").await;
    s.app.create_skill("Chat").await;
    let r = s
        .get("/scim/v2/Users?filter=userName%20eq%20%22ana%40example.com%22&startIndex=1&count=100")
        .await;
    assert_eq!(r.body["totalResults"], 0);
    let id = s
        .create(ana_with_skills(
            json!([{"skill": "Billing", "proficiency": 50}, {"skill": "Chat", "proficiency": 30}]),
        ))
        .await;

    let r = s
        .patch(
            &id,
            json!([{"op": "replace", "value": {
            "name": {"givenName": "Anna"}, "displayName": "Anna Lopez"}}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.agent(&id).await["name"], "Anna Lopez");

    let path = format!("{EXT}:skills[skill eq \"billing\"]");
    let r = s.patch(&id, json!([{"op": "remove", "path": path}])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.skills(&id).await, [("Chat".to_string(), 30)]);
    let r = s
        .patch(&id, json!([{"op": "replace", "path": format!("{EXT}:skills[skill eq \"Chat\"].proficiency"), "value": "Expert"}]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.skills(&id).await, [("Chat".to_string(), 100)]);

    let r = s
        .patch(&id, json!([{"op": "replace", "value": {"active": false}}]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.agent(&id).await["active"], false);

    // Reactivation: Okta PUTs the whole user, with a new skill set, in one request.
    let mut u = r.body.clone();
    u["active"] = json!(true);
    u[EXT] = json!({"skills": [{"skill": "Billing", "proficiency": 70}]});
    let r = s
        .send(Method::PUT, &format!("/scim/v2/Users/{id}"), Some(&u), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.agent(&id).await["active"], true);
    assert_eq!(s.skills(&id).await, [("Billing".to_string(), 70)]);

    // A PUT without the extension leaves the skills alone.
    let mut u = r.body.clone();
    u.as_object_mut().unwrap().remove(EXT);
    u["displayName"] = json!("Ana L.");
    let r = s
        .send(Method::PUT, &format!("/scim/v2/Users/{id}"), Some(&u), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.agent(&id).await["name"], "Ana L.");
    assert_eq!(s.skills(&id).await, [("Billing".to_string(), 70)]);
}

fn ana_with_skills(skills: Value) -> Value {
    let mut u = ana();
    u[EXT] = json!({ "skills": skills });
    u
}

#[tokio::test]
async fn attributes_and_searches() {
    let s = scim_app().await;
    s.app.create_skill("Billing").await;
    let id = s
        .create(
            json!({"userName": "ana@example.com", "displayName": "Ana", "externalId": "x1",
            EXT: {"skills": [{"skill": "Billing", "proficiency": 50}]}}),
        )
        .await;
    let r = s
        .get(&format!(
            "/scim/v2/Users/{id}?attributes=userName,{EXT}:skills.skill"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4, "{}", r.text);
    assert_eq!(r.body[EXT], json!({"skills": [{"skill": "Billing"}]}));
    let r = s
        .get(&format!(
            "/scim/v2/Users/{id}?excludedAttributes=displayName,id,{EXT}"
        ))
        .await;
    assert!(
        r.body.get("displayName").is_none() && r.body.get(EXT).is_none(),
        "{}",
        r.text
    );
    assert_eq!(r.body["id"], id, "id is always returned");
    assert_eq!(r.body["externalId"], "x1");

    for path in ["/scim/v2/Users/.search", "/scim/v2/.search"] {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName eq \"ANA@example.com\"", "attributes": ["externalId"],
            "startIndex": 1, "count": 10});
        let r = s.send(Method::POST, path, Some(&body), &[]).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.body["totalResults"], 1);
        assert_eq!(r.body["Resources"][0]["externalId"], "x1");
        assert!(r.body["Resources"][0].get("userName").is_none());
    }
    let r = s
        .send(
            Method::POST,
            "/scim/v2/.search",
            Some(&json!({"filter": "nickName eq \"a\""})),
            &[],
        )
        .await;
    assert_scim_error(&r, 400, Some("invalidFilter"));

    // Without skills, no extension; removing the extension removes the skills.
    let r = s.patch(&id, json!([{"op": "remove", "path": EXT}])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get(EXT).is_none(), "{}", r.text);
    assert_eq!(r.body["schemas"], json!([USER]));
    assert!(s.skills(&id).await.is_empty());
}

#[tokio::test]
async fn if_match_guards_every_write() {
    let s = scim_app().await;
    let id = s.create(json!({"userName": "ana@example.com"})).await;
    let r = s.get(&format!("/scim/v2/Users/{id}")).await;
    let tag = r.header("etag").unwrap().to_string();
    let path = format!("/scim/v2/Users/{id}");
    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "Ana"}]});
    let r = s
        .send(
            Method::PATCH,
            &path,
            Some(&body),
            &[("if-match", "W/\"1-0\"")],
        )
        .await;
    assert_scim_error(&r, 412, None);
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    assert_eq!(
        s.agent(&id).await["name"],
        "ana@example.com",
        "nothing changed"
    );
    let r = s
        .send(Method::PATCH, &path, Some(&body), &[("if-match", &tag)])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let new_tag = r.header("etag").unwrap().to_string();
    assert_ne!(new_tag, tag);
    // The old tag no longer matches, for PUT and DELETE alike.
    let put = json!({"userName": "ana@example.com"});
    assert_scim_error(
        &s.send(Method::PUT, &path, Some(&put), &[("if-match", &tag)])
            .await,
        412,
        None,
    );
    assert_scim_error(
        &s.send(Method::DELETE, &path, None, &[("if-match", &tag)])
            .await,
        412,
        None,
    );
    let r = s
        .send(Method::DELETE, &path, None, &[("if-match", "*")])
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
}

/// A User's write is one transaction: a PUT or PATCH that deactivates the User, changes its
/// skills and gives it another agent's email is refused whole, its skills included (they are
/// written before an agent is deactivated).
#[tokio::test]
async fn a_refused_write_changes_nothing() {
    let s = scim_app().await;
    for name in ["Billing", "Sales", "Support"] {
        s.app.create_skill(name).await;
    }
    s.app.create_agent("bo@example.com").await;
    let id = s
        .create(ana_with_skills(
            json!([{"skill": "Billing", "proficiency": 80}]),
        ))
        .await;
    let path = format!("/scim/v2/Users/{id}");
    let before = s.get(&path).await;
    let other = json!([{"skill": "Sales", "proficiency": 60},
                       {"skill": "Support", "proficiency": 40}]);

    let mut put = ana_with_skills(other.clone());
    put["name"] = json!({"givenName": "Ann", "familyName": "Other"});
    put["emails"] = json!([{"value": "bo@example.com", "primary": true}]);
    put["active"] = json!(false);
    let r = s.send(Method::PUT, &path, Some(&put), &[]).await;
    assert_scim_error(&r, 409, Some("uniqueness"));
    assert!(r.text.contains("bo@example.com"), "{}", r.text);
    let r = s
        .patch(
            &id,
            json!([{"op": "replace", "path": "active", "value": false},
                   {"op": "replace", "path": "emails", "value": [{"value": "bo@example.com", "primary": true}]},
                   {"op": "replace", "path": format!("{EXT}:skills"), "value": other}]),
        )
        .await;
    assert_scim_error(&r, 409, Some("uniqueness"));

    let after = s.get(&path).await;
    assert_eq!(after.body, before.body);
    assert_eq!(after.header("etag"), before.header("etag"));
    let a = s.agent(&id).await;
    assert_eq!(
        (&a["name"], &a["email"], &a["active"]),
        (&json!("Ana Lopez"), &json!("ana@example.com"), &json!(true))
    );
    assert_eq!(s.skills(&id).await, [("Billing".to_string(), 80)]);
}

#[tokio::test]
async fn a_deleted_user_created_again_is_the_same_agent() {
    let s = scim_app().await;
    let id = s
        .create(json!({"userName": "ana@example.com", "displayName": "Ana"}))
        .await;
    let r = s
        .send(Method::DELETE, &format!("/scim/v2/Users/{id}"), None, &[])
        .await;
    assert_eq!(r.status, 204);
    let r = s
        .post(json!({"userName": "Ana@Example.com", "displayName": "Ana Again"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["id"], id);
    let a = s.agent(&id).await;
    assert_eq!(
        (a["active"].clone(), a["name"].clone()),
        (json!(true), json!("Ana Again"))
    );
    assert_eq!(s.get(&format!("/scim/v2/Users/{id}")).await.status, 200);
}

#[tokio::test]
async fn every_error_is_a_scim_error() {
    let s = scim_app().await;
    let app = &s.app;
    let id = s.create(json!({"userName": "ana@example.com"})).await;
    let user = format!("/scim/v2/Users/{id}");

    // Authentication and scope.
    let r = app
        .call(Method::GET, "/scim/v2/Users", None, None, &[])
        .await;
    assert_scim_error(&r, 401, None);
    assert!(r.header("www-authenticate").is_some());
    let r = send_as(app, "not-a-token", Method::GET, "/scim/v2/Users", None, &[]).await;
    assert_scim_error(&r, 401, None);
    let other = app
        .token_with(&["admin:agent:read", "admin:agent:write"])
        .await;
    let r = send_as(app, &other, Method::GET, &user, None, &[]).await;
    assert_scim_error(&r, 403, None);
    assert!(r.body["detail"].as_str().unwrap().contains("scim"));
    // And a SCIM token is no API token.
    let r = app
        .call(
            Method::GET,
            "/api/v2/admin/users",
            Some(&s.token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 403);

    // Bodies.
    let r = app
        .http
        .post(app.url("/scim/v2/Users"))
        .bearer_auth(&s.token)
        .header("content-type", "application/scim+json")
        .body("{\"userName\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["scimType"],
        "invalidSyntax"
    );
    let r = s
        .send(
            Method::POST,
            "/scim/v2/Users",
            Some(&json!({"userName": "a@b.co"})),
            &[("content-type", "text/plain")],
        )
        .await;
    assert_scim_error(&r, 415, None);
    let r = s.post(json!({"displayName": "No userName"})).await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    let r = s.post(json!({"userName": "not an email"})).await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("userName"),
        "{}",
        r.text
    );
    let r = s
        .post(json!({"userName": "b@example.com", "active": "maybe"}))
        .await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    let r = s
        .send(Method::POST, "/scim/v2/Users", Some(&json!([1])), &[])
        .await;
    assert_scim_error(&r, 400, Some("invalidSyntax"));
    let r = app
        .http
        .post(app.url("/scim/v2/Users"))
        .bearer_auth(&s.token)
        .header("content-type", "application/json")
        .body(r#"{"userName": "c@example.com", "userName": "d@example.com"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // PATCH mistakes.
    let cases = [
        (
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            "mutability",
        ),
        (json!([{"op": "remove"}]), "noTarget"),
        (json!([{"op": "jump", "path": "active"}]), "invalidSyntax"),
        (
            json!([{"op": "replace", "path": "emails[type zz \"work\"].value", "value": "x"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "active", "value": "perhaps"}]),
            "invalidValue",
        ),
        (
            json!([{"op": "remove", "path": "userName"}]),
            "invalidValue",
        ),
    ];
    for (ops, ty) in cases {
        assert_scim_error(&s.patch(&id, ops.clone()).await, 400, Some(ty));
    }
    let r = s
        .send(Method::PATCH, &user, Some(&json!({"Operations": "x"})), &[])
        .await;
    assert_scim_error(&r, 400, Some("invalidSyntax"));
    let r = s
        .send(
            Method::PUT,
            &user,
            Some(&json!({"id": "other", "userName": "ana@example.com"})),
            &[],
        )
        .await;
    assert_scim_error(&r, 400, Some("mutability"));
    assert_eq!(
        s.agent(&id).await["email"],
        "ana@example.com",
        "nothing changed"
    );

    // Ids, paths and methods.
    for p in [
        "/scim/v2/Users/0190ffff-0000-7000-8000-000000000000",
        "/scim/v2/Users/nope",
        "/scim/v2/Groups/0190ffff-0000-7000-8000-000000000000",
        "/scim/v2/Nothing/here",
    ] {
        assert_scim_error(&s.get(p).await, 404, None);
    }
    let r = s.send(Method::POST, &user, Some(&json!({})), &[]).await;
    assert_scim_error(&r, 405, None);
    let r = app
        .patch(
            "/api/v2/organizations/settings",
            &json!({"limits": {"maxBodyBytes": 1024}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let big = json!({"userName": "e@example.com", "x": "a".repeat(2000)});
    assert_scim_error(&s.post(big).await, 413, None);
}

#[tokio::test]
async fn the_rate_limit_answers_in_scim() {
    let s = scim_app().await;
    let r = s
        .app
        .patch(
            "/api/v2/organizations/settings",
            &json!({"rateLimit": {"requestsPerMinute": 1, "burst": 1}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut last = None;
    for _ in 0..3 {
        last = Some(s.get("/scim/v2/Users").await);
    }
    let r = last.unwrap();
    assert_scim_error(&r, 429, None);
    assert!(r.header("retry-after").is_some());
    assert!(r.header("ratelimit-limit").is_some());
}

/// An identity provider keeps one token: its client's tokens last as long as the client was
/// given, and disabling the client still refuses them at once.
#[tokio::test]
async fn an_identity_providers_token_lasts_and_is_still_revocable() {
    use base64::Engine;
    let s = scim_app().await;
    let app = &s.app;
    let year = 31_536_000u64;
    let org = app.org.to_string();
    for bad in [299, year + 1] {
        let e = skillgrid_server::bootstrap::create_client_lasting(
            &app.store,
            &org,
            "idp",
            "scim",
            Some(bad),
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("--token-lifetime"), "{e}");
    }
    let r = app.get("/api/v2/admin/clients").await;
    assert!(!r.text.contains("\"idp\""), "no client made: {}", r.text);

    let c = skillgrid_server::bootstrap::create_client_lasting(
        &app.store,
        &org,
        "idp",
        "scim",
        Some(year),
    )
    .await
    .unwrap();
    let r = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(c.client_id.to_string(), Some(&c.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["expires_in"], year);
    let token = t["access_token"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        year
    );
    let r = send_as(app, token, Method::GET, "/scim/v2/Users", None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Other clients keep the hour.
    let r = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(app.client_id.to_string(), Some(&app.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["expires_in"], 3600);

    let r = app
        .patch(
            &format!("/api/v2/admin/clients/{}", c.client_id),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = send_as(app, token, Method::GET, "/scim/v2/Users", None, &[]).await;
    assert_scim_error(&r, 401, None);
}
