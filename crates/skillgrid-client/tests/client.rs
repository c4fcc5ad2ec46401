//! The client against a real skillgrid server on a loopback port (SQLite in a temp dir), and a
//! few retry cases against a small fake server that fails on purpose.

use serde_json::json;
use skillgrid_api::{AuditAction, OrgSettings};
use skillgrid_client::{
    assignment, AgentAssignment, AgentPatch, AgentQuery, AssignmentFields, AuditQuery, BulkItem,
    BulkOptions, BulkRequest, Client, Error, NewAgent, NewSkill, PageQuery, RetryPolicy,
    SkillPatch, SkillQuery,
};
use skillgrid_store::{DynStore, OrgId};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

struct App {
    base: String,
    store: DynStore,
    org: OrgId,
    client_id: Uuid,
    client_secret: String,
    _server: skillgrid_testkit::TestServer,
    _db: skillgrid_testkit::TestDb,
}

async fn spawn_app() -> App {
    let db = skillgrid_testkit::test_db(false).await;
    let server = skillgrid_testkit::spawn_server(&db.url).await;
    let (base, store, boot) = (
        server.base.clone(),
        server.store.clone(),
        server.boot.clone(),
    );
    App {
        base,
        store,
        org: boot.org_id,
        client_id: boot.client_id.get(),
        client_secret: boot.client_secret,
        _server: server,
        _db: db,
    }
}

impl App {
    fn client(&self) -> Client {
        self.builder().build().unwrap()
    }

    fn builder(&self) -> skillgrid_client::ClientBuilder {
        Client::builder(&self.base, self.client_id.to_string(), &self.client_secret).no_proxy()
    }

    async fn set_rate_limit(&self, per_minute: u64, burst: u64) {
        let mut s: OrgSettings = self.store.settings(self.org).await.unwrap();
        s.rate_limit.requests_per_minute = per_minute;
        s.rate_limit.burst = burst;
        self.store
            .update_settings(self.org, &s)
            .await
            .unwrap()
            .expect("no stranded assignments");
    }
}

#[track_caller]
fn problem_of(e: &Error, status: u16, code: &str) {
    match e {
        Error::Problem {
            status: s, problem, ..
        } => {
            assert_eq!(*s, status, "{e}");
            assert_eq!(problem.status, status, "{e}");
            assert_eq!(problem.code, code, "{e}");
            assert!(!problem.request_id.is_empty(), "{e}");
        }
        other => panic!("expected a {status} {code} problem, got {other:?}"),
    }
}

#[tokio::test]
async fn token_is_cached_refreshed_on_401_and_oauth_errors_are_typed() {
    let app = spawn_app().await;
    let c = app.client();
    for _ in 0..3 {
        let s = c.settings().await.unwrap();
        assert_eq!(s, OrgSettings::default());
    }
    assert_eq!(c.stats().token_requests, 1, "one token serves every call");

    // Clones share the cache.
    let c2 = c.clone();
    c2.list_skills(&SkillQuery::default()).await.unwrap();
    assert_eq!(c.stats().token_requests, 1);

    // A token the server refuses: one 401, a new token, the call succeeds.
    c.set_token("not-a-real-token", Duration::from_secs(3600))
        .await;
    c.settings().await.unwrap();
    assert_eq!(c.stats().token_requests, 2);
    assert_eq!(c.stats().retries, 0, "a 401 refresh is not a retry");

    // A wrong secret: the OAuth error, not retried.
    let bad = Client::builder(&app.base, app.client_id.to_string(), "wrong")
        .no_proxy()
        .build()
        .unwrap();
    let e = bad.settings().await.unwrap_err();
    match &e {
        Error::OAuth { status, error } => {
            assert_eq!(*status, 401);
            assert_eq!(error.error, "invalid_client");
        }
        other => panic!("expected an OAuth error, got {other:?}"),
    }
    assert_eq!(bad.stats().token_requests, 1);
    assert!(e.to_string().contains("invalid_client"), "{e}");

    // A scope the client asks for but lacks → invalid_scope; a narrower token → 403.
    let narrow = app.builder().scope("admin:skill:read").build().unwrap();
    narrow.list_skills(&SkillQuery::default()).await.unwrap();
    let e = narrow.settings().await.unwrap_err();
    problem_of(&e, 403, "insufficient_scope");
    let e = app
        .builder()
        .scope("admin:everything")
        .build()
        .unwrap()
        .settings()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("invalid_scope"), "{e}");
}

#[tokio::test]
async fn settings_skills_and_agents_crud() {
    let app = spawn_app().await;
    let c = app.client();

    let s = c
        .patch_settings(&skillgrid_client::SettingsPatch {
            require_if_match: Some(true),
            limits: Some(skillgrid_client::LimitsPatch {
                max_skills_per_agent: Some(50),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(s.require_if_match);
    assert_eq!(s.limits.max_skills_per_agent, 50);
    assert_eq!(s.limits.max_items_per_bulk, 10_000, "nested objects merge");
    assert_eq!(c.settings().await.unwrap(), s);

    // Skills.
    let billing = c
        .create_skill(&NewSkill::new("Billing").description("invoices"))
        .await
        .unwrap();
    assert_eq!(billing.name, "Billing");
    assert_eq!(billing.description.as_deref(), Some("invoices"));
    assert!(billing.active);
    assert_eq!(c.skill(billing.id).await.unwrap(), billing);
    let e = c.create_skill(&NewSkill::new("BILLING")).await.unwrap_err();
    problem_of(&e, 409, "conflict");
    assert_eq!(e.entries()[0].pointer.as_deref(), Some("/name"), "{e}");

    let patched = c
        .patch_skill(
            billing.id,
            &SkillPatch {
                description: Some(None),
                active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.description, None);
    assert!(!patched.active);
    let sales = c.create_skill(&NewSkill::new("Sales")).await.unwrap();
    let inactive = c
        .list_skills(&SkillQuery {
            active: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(inactive.items.len(), 1);
    assert_eq!(inactive.items[0].id, billing.id);
    assert_eq!(inactive.next_cursor, None);
    let by_name = c
        .list_skills(&SkillQuery {
            name: Some("sales".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_name.items.iter().map(|s| s.id).collect::<Vec<_>>(),
        [sales.id]
    );

    c.delete_skill(billing.id).await.unwrap();
    let e = c.skill(billing.id).await.unwrap_err();
    problem_of(&e, 404, "not_found");
    assert_eq!(e.status(), Some(404));

    // Agents.
    let ana = c
        .create_agent(&NewAgent::new("ana@example.com", "Ana").external_id("E-1"))
        .await
        .unwrap();
    assert_eq!(ana.external_id.as_deref(), Some("E-1"));
    assert_eq!(c.agent(ana.id).await.unwrap(), ana);
    let ana2 = c
        .patch_agent(
            ana.id,
            &AgentPatch {
                name: Some("Ana María".into()),
                external_id: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ana2.name, "Ana María");
    assert_eq!(ana2.external_id, None);
    c.create_agent(&NewAgent::new("bo@example.com", "Bo"))
        .await
        .unwrap();
    let found = c
        .list_agents(&AgentQuery {
            email: Some("ANA@example.com".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.items, vec![ana2]);

    // requireIfMatch is on: a write without If-Match → 428.
    let e = c
        .put_agent_skills(ana.id, &[assignment(sales.id, 50)], None, false)
        .await
        .unwrap_err();
    problem_of(&e, 428, "precondition_required");
    c.put_agent_skills(ana.id, &[assignment(sales.id, 50)], Some(0), false)
        .await
        .unwrap();
    // A held skill cannot be deleted.
    let e = c.delete_skill(sales.id).await.unwrap_err();
    problem_of(&e, 409, "conflict");
}

#[tokio::test]
async fn agent_skill_writes_with_if_match_and_dry_run() {
    let app = spawn_app().await;
    let c = app.client();
    let a = c
        .create_agent(&NewAgent::new("ana@example.com", "Ana"))
        .await
        .unwrap();
    let billing = c.create_skill(&NewSkill::new("Billing")).await.unwrap();
    let sales = c.create_skill(&NewSkill::new("Sales")).await.unwrap();

    let s0 = c.agent_skills(a.id).await.unwrap();
    assert_eq!(s0.version, 0);
    assert!(s0.skills.is_empty());

    let s1 = c
        .put_agent_skills(
            a.id,
            &[assignment(billing.id, 90), assignment(sales.id, "novice")],
            Some(s0.version),
            false,
        )
        .await
        .unwrap();
    assert_eq!(s1.version, 1);
    assert_eq!(s1.changes.as_ref().unwrap().added.len(), 2);
    assert_eq!(s1.dry_run, Some(false));
    let got = c.agent_skills(a.id).await.unwrap();
    assert_eq!(got.version, 1);
    let billing_out = got
        .skills
        .iter()
        .find(|x| x.skill_id == billing.id)
        .unwrap();
    assert_eq!(billing_out.proficiency, 90);
    assert_eq!(billing_out.level.as_deref(), Some("Advanced"));

    // A stale If-Match: 412 with the current version, nothing written.
    let e = c
        .put_agent_skills(a.id, &[], Some(0), false)
        .await
        .unwrap_err();
    problem_of(&e, 412, "precondition_failed");
    assert_eq!(e.current_version(), Some(1), "{e}");
    assert!(e.to_string().contains("current version: 1"), "{e}");
    assert_eq!(c.agent_skills(a.id).await.unwrap().version, 1);

    // Dry run: the diff, no write.
    let dry = c
        .patch_agent_skills(a.id, &[], &[sales.id], Some(1), true)
        .await
        .unwrap();
    assert_eq!(dry.dry_run, Some(true));
    assert_eq!(dry.changes.as_ref().unwrap().removed.len(), 1);
    assert_eq!(dry.version, 1);
    assert_eq!(c.agent_skills(a.id).await.unwrap().skills.len(), 2);

    // Merge: update one, remove the other.
    let s2 = c
        .patch_agent_skills(
            a.id,
            &[assignment(billing.id, 100)],
            &[sales.id],
            Some(1),
            false,
        )
        .await
        .unwrap();
    assert_eq!(s2.version, 2);
    let ch = s2.changes.unwrap();
    assert_eq!((ch.updated.len(), ch.removed.len()), (1, 1));

    // One assignment.
    let s3 = c
        .put_agent_skill(
            a.id,
            sales.id,
            &AssignmentFields {
                proficiency: Some(json!("Expert")),
                expiration_date: Some("2099-01-01T00:00:00Z".into()),
                ..Default::default()
            },
            None,
            false,
        )
        .await
        .unwrap();
    assert_eq!(s3.version, 3);
    let sales_out = s3.skills.iter().find(|x| x.skill_id == sales.id).unwrap();
    assert_eq!(sales_out.proficiency, 100);
    assert_eq!(
        sales_out.expiration_date.as_deref(),
        Some("2099-01-01T00:00:00.000Z")
    );
    assert_eq!(
        c.delete_agent_skill(a.id, sales.id, Some(3), false)
            .await
            .unwrap(),
        4
    );
    let e = c
        .delete_agent_skill(a.id, sales.id, None, false)
        .await
        .unwrap_err();
    problem_of(&e, 404, "not_found");

    // History, newest first, and the helper that pages through it.
    let h = c
        .all_agent_skill_history(
            a.id,
            &PageQuery {
                limit: Some(2),
                cursor: None,
            },
        )
        .await
        .unwrap();
    let actions: Vec<AuditAction> = h.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::Removed,
            AuditAction::Added,
            AuditAction::Removed,
            AuditAction::Updated,
            AuditAction::Added,
            AuditAction::Added
        ]
    );
    assert!(h.iter().all(|e| e.client_id == app.client_id));
}

#[tokio::test]
async fn validation_errors_surface_every_entry() {
    let app = spawn_app().await;
    let c = app.client();
    let a = c
        .create_agent(&NewAgent::new("ana@example.com", "Ana"))
        .await
        .unwrap();
    let billing = c.create_skill(&NewSkill::new("Billing")).await.unwrap();
    let sales = c.create_skill(&NewSkill::new("Sales")).await.unwrap();
    let unknown = Uuid::now_v7();
    let e = c
        .put_agent_skills(
            a.id,
            &[
                assignment(unknown, 50),
                assignment(billing.id, 190),
                assignment(sales.id, "Expret"),
            ],
            None,
            false,
        )
        .await
        .unwrap_err();
    problem_of(&e, 400, "validation_failed");
    let entries: Vec<(String, &str)> = e
        .entries()
        .iter()
        .map(|x| (x.pointer.clone().unwrap_or_default(), x.code.as_str()))
        .collect();
    assert_eq!(
        entries,
        [
            ("/skills/0/skillId".to_string(), "unknown_skill"),
            ("/skills/1/proficiency".to_string(), "out_of_range"),
            ("/skills/2/proficiency".to_string(), "unknown_level"),
        ],
        "{e}"
    );
    let hint = e.entries()[2].hint.clone().unwrap_or_default();
    assert!(hint.contains("Expert"), "{e}");
    let shown = e.to_string();
    assert!(
        shown.contains("/skills/1/proficiency") && shown.contains("out_of_range"),
        "{shown}"
    );
    assert_eq!(c.agent_skills(a.id).await.unwrap().version, 0);

    // An atomic bulk request reports pointers relative to its body.
    let e = c
        .bulk(
            &BulkRequest::merge(vec![BulkItem::new(a.id, vec![assignment(billing.id, -1)])]),
            &BulkOptions::default(),
        )
        .await
        .unwrap_err();
    problem_of(&e, 400, "validation_failed");
    assert_eq!(
        e.entries()[0].pointer.as_deref(),
        Some("/items/0/skills/0/proficiency")
    );
}

#[tokio::test]
async fn bulk_with_idempotent_replay_and_skill_to_agents() {
    let app = spawn_app().await;
    let c = app.client();
    let billing = c.create_skill(&NewSkill::new("Billing")).await.unwrap();
    let sales = c.create_skill(&NewSkill::new("Sales")).await.unwrap();
    let mut agents = Vec::new();
    for i in 0..3 {
        let a = c
            .create_agent(&NewAgent::new(format!("a{i}@example.com"), format!("A{i}")))
            .await
            .unwrap();
        agents.push(a.id);
    }
    let req = BulkRequest::merge(
        agents
            .iter()
            .map(|a| BulkItem::new(*a, vec![assignment(billing.id, "Advanced")]).if_match(0))
            .collect(),
    );
    let opts = BulkOptions {
        dry_run: false,
        idempotency_key: Some("import-2026-11-22".into()),
    };
    let first = c.bulk(&req, &opts).await.unwrap();
    assert!(!first.replayed);
    assert_eq!(first.idempotency_key, "import-2026-11-22");
    assert_eq!(first.response.summary.items, 3);
    assert_eq!(first.response.summary.added, 3);
    assert!(first.response.results.iter().all(|r| r.version == Some(1)));

    let again = c.bulk(&req, &opts).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.response, first.response);
    let audit = c.all_audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(audit.len(), 3, "the replay wrote nothing");

    // The same key with another body.
    let other = BulkRequest::merge(vec![BulkItem::new(
        agents[0],
        vec![assignment(sales.id, 10)],
    )]);
    let e = c.bulk(&other, &opts).await.unwrap_err();
    problem_of(&e, 422, "idempotency_key_reused");

    // Without a key, each call gets its own.
    let dry = BulkOptions {
        dry_run: true,
        idempotency_key: None,
    };
    let d1 = c.bulk(&other, &dry).await.unwrap();
    let d2 = c.bulk(&other, &dry).await.unwrap();
    assert!(d1.response.dry_run && !d1.replayed && !d2.replayed);
    assert_ne!(d1.idempotency_key, d2.idempotency_key);
    assert!(Uuid::parse_str(&d1.idempotency_key).is_ok());

    // Non-atomic: a stale ifMatch fails its item only.
    let mixed = BulkRequest::merge(vec![
        BulkItem::new(agents[0], vec![assignment(sales.id, 10)]).if_match(0),
        BulkItem::new(agents[1], vec![assignment(sales.id, 10)]).if_match(1),
    ])
    .atomic(false);
    let m = c.bulk(&mixed, &BulkOptions::default()).await.unwrap();
    assert_eq!(
        (m.response.summary.succeeded, m.response.summary.failed),
        (1, 1)
    );
    let failed = &m.response.results[0];
    assert_eq!(failed.status, 412);
    assert_eq!(failed.problem.as_ref().unwrap().current_version, Some(1));

    // One skill to many agents, then who holds it.
    let out = c
        .skill_to_agents(
            sales.id,
            &[
                AgentAssignment::new(agents[0], 30),
                AgentAssignment::new(agents[2], "Expert"),
            ],
            &BulkOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.response.summary.succeeded, 2);
    let holders = c
        .all_skill_holders(
            sales.id,
            &PageQuery {
                limit: Some(1),
                cursor: None,
            },
        )
        .await
        .unwrap();
    let mut held: Vec<Uuid> = holders.iter().map(|h| h.agent_id).collect();
    held.sort();
    let mut want = agents.clone();
    want.sort();
    assert_eq!(held, want, "all three now hold Sales");
}

#[tokio::test]
async fn pagination_helpers_follow_next_cursor() {
    let app = spawn_app().await;
    let c = app.client();
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(
            c.create_skill(&NewSkill::new(format!("Skill {i}")))
                .await
                .unwrap()
                .id,
        );
    }
    let q = SkillQuery {
        limit: Some(3),
        ..Default::default()
    };
    let first = c.list_skills(&q).await.unwrap();
    assert_eq!(first.items.len(), 3);
    assert!(first.next_cursor.is_some());
    let all = c.all_skills(&q).await.unwrap();
    let mut got: Vec<Uuid> = all.iter().map(|s| s.id).collect();
    got.sort();
    ids.sort();
    assert_eq!(got, ids);
    // Resuming from a cursor collects the rest.
    let rest = c
        .all_skills(&SkillQuery {
            cursor: first.next_cursor.clone(),
            ..q.clone()
        })
        .await
        .unwrap();
    assert_eq!(rest.len(), 4);

    for i in 0..4 {
        c.create_agent(&NewAgent::new(format!("p{i}@example.com"), "P"))
            .await
            .unwrap();
    }
    let agents = c
        .all_agents(&AgentQuery {
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(agents.len(), 4);
    let e = c
        .list_agents(&AgentQuery {
            limit: Some(5000),
            ..Default::default()
        })
        .await
        .unwrap_err();
    problem_of(&e, 400, "validation_failed");
    assert_eq!(e.entries()[0].query.as_deref(), Some("limit"));
}

#[tokio::test]
async fn rate_limited_calls_are_retried_and_bulk_writes_happen_once() {
    let app = spawn_app().await;
    let c = app
        .builder()
        .retry_policy(RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(5),
        })
        .build()
        .unwrap();
    let skill = c.create_skill(&NewSkill::new("Billing")).await.unwrap();
    let mut agents = Vec::new();
    for i in 0..3 {
        agents.push(
            c.create_agent(&NewAgent::new(format!("r{i}@example.com"), "R"))
                .await
                .unwrap()
                .id,
        );
    }
    // One request a second, no burst beyond one.
    app.set_rate_limit(60, 1).await;
    let start = std::time::Instant::now();
    let bulk = |agent: Uuid| {
        let c = c.clone();
        let req = BulkRequest::merge(vec![BulkItem::new(agent, vec![assignment(skill.id, 60)])]);
        tokio::spawn(async move { c.bulk(&req, &BulkOptions::default()).await })
    };
    let handles: Vec<_> = agents.iter().map(|a| bulk(*a)).collect();
    let reads = {
        let c = c.clone();
        tokio::spawn(async move { c.skill(skill.id).await })
    };
    let mut keys = HashSet::new();
    for h in handles {
        let out = h.await.unwrap().expect("bulk eventually succeeds");
        assert_eq!(out.response.summary.added, 1);
        keys.insert(out.idempotency_key);
    }
    reads.await.unwrap().expect("read eventually succeeds");
    assert_eq!(keys.len(), 3);
    assert!(c.stats().retries >= 3, "{:?}", c.stats());
    assert!(start.elapsed() >= Duration::from_secs(2));
    // Back to the default limit so the checks below run at full speed.
    app.set_rate_limit(600, 100).await;

    let audit = c.all_audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(audit.len(), 3, "exactly one write per bulk call");
    let per_agent: HashSet<Uuid> = audit.iter().map(|e| e.agent_id).collect();
    assert_eq!(per_agent.len(), 3);
    let requests: HashSet<&str> = audit.iter().map(|e| e.request_id.as_str()).collect();
    assert_eq!(requests.len(), 3);
    for a in &agents {
        assert_eq!(c.agent_skills(*a).await.unwrap().version, 1);
    }

    // Without retries the 429 surfaces with its Retry-After.
    app.set_rate_limit(60, 1).await;
    let once = app.builder().max_attempts(1).build().unwrap();
    once.settings().await.ok();
    let e = once.settings().await.unwrap_err();
    problem_of(&e, 429, "rate_limited");
    match e {
        Error::Problem { retry_after, .. } => assert!(retry_after >= Some(Duration::from_secs(1))),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn connection_failures_are_retried_then_reported() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = Client::builder(format!("http://127.0.0.1:{port}"), "id", "secret")
        .no_proxy()
        .retry_policy(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
        })
        .build()
        .unwrap();
    let e = c.settings().await.unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    assert_eq!(c.stats().token_requests, 3);
    assert_eq!(c.stats().retries, 2);
}

/// A fake server: a token endpoint, and routes that fail with 503 a given number of times.
mod fake {
    use super::*;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use axum::{Json, Router};

    #[derive(Clone, Default)]
    pub struct Fake {
        pub fail_first: Arc<AtomicU32>,
        pub hits: Arc<AtomicU32>,
        pub keys: Arc<Mutex<Vec<Option<String>>>>,
    }

    fn unavailable() -> Response {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "application/problem+json")],
            Json(
                json!({"type": "about:blank", "title": "Unavailable", "status": 503,
                        "code": "unavailable", "detail": "try again", "requestId": "r1"}),
            ),
        )
            .into_response()
    }

    async fn flaky(State(f): State<Fake>, headers: HeaderMap, ok: Response) -> Response {
        f.hits.fetch_add(1, Ordering::SeqCst);
        f.keys.lock().unwrap().push(
            headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(String::from),
        );
        let left = f.fail_first.load(Ordering::SeqCst);
        if left > 0 {
            f.fail_first.store(left - 1, Ordering::SeqCst);
            return unavailable();
        }
        ok
    }

    pub async fn spawn(f: Fake) -> String {
        let app = Router::new()
            .route(
                "/oauth/token",
                post(|| async {
                    Json(json!({"access_token": "t", "token_type": "Bearer",
                                "expires_in": 3600, "scope": ""}))
                }),
            )
            .route(
                "/api/v2/organizations/settings",
                axum::routing::get(|s: State<Fake>, h: HeaderMap| async move {
                    flaky(s, h, Json(OrgSettings::default()).into_response()).await
                }),
            )
            .route(
                "/api/v2/admin/skills",
                post(|s: State<Fake>, h: HeaderMap| async move {
                    flaky(s, h, StatusCode::CREATED.into_response()).await
                }),
            )
            .route(
                "/api/v2/agents/skills/bulk",
                post(|s: State<Fake>, h: HeaderMap| async move {
                    let ok = Json(json!({"dryRun": false,
                        "summary": {"items": 0, "succeeded": 0, "failed": 0, "added": 0,
                                    "updated": 0, "removed": 0, "unchanged": 0},
                        "results": []}))
                    .into_response();
                    flaky(s, h, ok).await
                }),
            )
            .with_state(f);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }
}

#[tokio::test]
async fn service_unavailable_is_retried_only_when_idempotent() {
    let f = fake::Fake::default();
    let base = fake::spawn(f.clone()).await;
    let c = Client::builder(base, "id", "secret")
        .no_proxy()
        .retry_policy(RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        })
        .build()
        .unwrap();

    // GET: retried through two 503s.
    f.fail_first.store(2, Ordering::SeqCst);
    c.settings().await.unwrap();
    assert_eq!(f.hits.swap(0, Ordering::SeqCst), 3);

    // A plain POST (create) is not retried on 503.
    f.fail_first.store(1, Ordering::SeqCst);
    let e = c.create_skill(&NewSkill::new("X")).await.unwrap_err();
    assert_eq!(e.status(), Some(503), "{e}");
    assert_eq!(e.code(), Some("unavailable"));
    assert_eq!(f.hits.swap(0, Ordering::SeqCst), 1);

    // A bulk POST carries a key, so it is retried, with the same key every time.
    f.keys.lock().unwrap().clear();
    f.fail_first.store(2, Ordering::SeqCst);
    let out = c
        .bulk(&BulkRequest::merge(vec![]), &BulkOptions::default())
        .await
        .unwrap();
    let keys = f.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 3);
    assert!(keys
        .iter()
        .all(|k| k.as_deref() == Some(&out.idempotency_key)));

    // Bounded: after max_attempts the last 503 is returned.
    f.fail_first.store(100, Ordering::SeqCst);
    f.hits.store(0, Ordering::SeqCst);
    let e = c.settings().await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(f.hits.load(Ordering::SeqCst), 4);
    assert_eq!(c.stats().token_requests, 1);
}
