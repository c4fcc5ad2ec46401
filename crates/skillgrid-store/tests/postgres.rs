//! The PostgreSQL store against a real server.
//!
//! Uses the server `SKILLGRID_TEST_POSTGRES_URL` names (by default
//! `postgres://postgres@127.0.0.1:5432/test`): every test creates a database of its own through
//! it and drops it at the end. Without a server the tests fail: they are never skipped.

use skillgrid_core::api::{AuditAction, OrgSettings};
use skillgrid_core::model::{
    AgentId, AgentPatch, Assignment, NewAgent, NewSkill, OrgId, Precondition, SkillPatch,
    SkillSetWrite, StoredAssignment,
};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::postgres::PgStore;
use skillgrid_store::*;
use sqlx::Connection;
use std::sync::Arc;
use uuid::Uuid;

#[path = "support/audit_view.rs"]
mod audit_view;
#[path = "support/clients.rs"]
mod clients;
#[path = "support/generation.rs"]
mod generation;
#[path = "support/pruning.rs"]
mod pruning;
#[path = "support/stranded.rs"]
mod stranded;
#[path = "support/users.rs"]
mod users;

const URL_VAR: &str = "SKILLGRID_TEST_POSTGRES_URL";

/// The author of the clients these tests make.
fn cli() -> ChangedBy {
    ChangedBy {
        request_id: "test".into(),
        client: None,
        now: Timestamp::now(),
    }
}

/// A fresh database, dropped by [`TestDb::drop`].
struct TestDb {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDb {
    async fn new() -> TestDb {
        let admin_url = std::env::var(URL_VAR)
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {URL_VAR}={admin_url}: {e}"));
        let name = format!("skillgrid_t_{}", Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
        conn.close().await.ok();
        let url = match admin_url.split_once('?') {
            Some((base, query)) => format!("{}/{name}?{query}", base_without_db(base)),
            None => format!("{}/{name}", base_without_db(&admin_url)),
        };
        TestDb {
            admin_url,
            name,
            url,
        }
    }

    async fn store(&self) -> Arc<PgStore> {
        Arc::new(PgStore::open(&self.url).await.expect("open PgStore"))
    }

    async fn drop(self) {
        let mut conn = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("reconnect to drop the test database");
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut conn)
        .await
        .expect("drop the test database");
    }
}

/// `postgres://user@host:port/db` without `/db`.
fn base_without_db(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

fn page(limit: u32) -> PageRequest {
    PageRequest { after: None, limit }
}

fn ctx(now: i64) -> WriteContext {
    WriteContext {
        request_id: format!("req-{now}"),
        client_id: Uuid::nil(),
        now: Timestamp(now),
    }
}

fn opts() -> WriteOptions {
    WriteOptions {
        dry_run: false,
        atomic: true,
        max_skills_per_agent: 500,
        return_sets: true,
    }
}

fn asg(skill: Uuid, proficiency: i64) -> Assignment {
    Assignment {
        proficiency,
        ..Assignment::omitted(skill, 50)
    }
}

fn replace(agent: AgentId, skills: Vec<Assignment>, if_match: Option<Precondition>) -> AgentWrite {
    AgentWrite {
        agent_id: agent,
        write: SkillSetWrite::Replace(skills),
        if_match,
    }
}

fn merge(agent: AgentId, upsert: Vec<Assignment>, remove: Vec<Uuid>) -> AgentWrite {
    AgentWrite {
        agent_id: agent,
        write: SkillSetWrite::Merge { upsert, remove },
        if_match: None,
    }
}

async fn new_skill(s: &PgStore, org: OrgId, name: &str) -> Uuid {
    s.create_skill(
        org,
        &NewSkill {
            name: name.into(),
            description: None,
        },
        Timestamp(1),
    )
    .await
    .expect("create skill")
    .id
    .get()
}

async fn new_agent(s: &PgStore, org: OrgId, email: &str) -> AgentId {
    s.create_agent(
        org,
        &NewAgent {
            email: email.into(),
            name: "Agent".into(),
            external_id: None,
        },
        Timestamp(1),
    )
    .await
    .expect("create agent")
    .id
}

fn applied(o: &ItemOutcome) -> (i64, &skillgrid_core::diff::Plan, &[StoredAssignment]) {
    match o {
        ItemOutcome::Applied {
            version,
            plan,
            skills,
        } => (*version, plan, skills),
        other => panic!("expected Applied, got {other:?}"),
    }
}

#[tokio::test]
async fn orgs_clients_settings_and_signing_key() {
    let db = TestDb::new().await;
    let s = db.store().await;
    // Opening again (another process starting) re-runs nothing and works.
    let _again = db.store().await;

    assert_eq!(s.org_count().await.unwrap(), 0);
    let org = s
        .create_org("Default", &OrgSettings::default())
        .await
        .unwrap();
    assert!(matches!(
        s.create_org("DEFAULT", &OrgSettings::default()).await,
        Err(StoreError::Conflict(Conflict::Taken(Unique::OrgName)))
    ));
    assert_eq!(s.org_count().await.unwrap(), 1);
    assert_eq!(s.find_org("default").await.unwrap().unwrap().id, org.id);
    assert_eq!(
        s.find_org(&org.id.to_string().to_uppercase())
            .await
            .unwrap()
            .unwrap()
            .name,
        "Default"
    );
    assert!(s.find_org("nope").await.unwrap().is_none());

    let scopes = vec![
        "admin:org:read".to_string(),
        "admin:skill:write".to_string(),
    ];
    let c = s
        .create_client(org.id, "bootstrap", "hash", &scopes, &cli())
        .await
        .unwrap();
    let found = s.find_client(c.id).await.unwrap().unwrap();
    assert_eq!(
        (found.org_id, found.name.as_str(), found.scopes),
        (org.id, "bootstrap", scopes.clone())
    );
    assert!(s.find_client(Uuid::now_v7()).await.unwrap().is_none());
    assert!(matches!(
        s.create_client(OrgId::new(Uuid::now_v7()), "x", "h", &[], &cli())
            .await,
        Err(StoreError::NotFound)
    ));

    assert_eq!(s.settings(org.id).await.unwrap(), OrgSettings::default());
    let new = OrgSettings {
        require_if_match: true,
        ..Default::default()
    };
    s.update_settings(org.id, &new).await.unwrap().unwrap();
    assert!(s.settings(org.id).await.unwrap().require_if_match);
    assert!(matches!(
        s.update_settings(OrgId::new(Uuid::now_v7()), &new).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.settings(OrgId::new(Uuid::now_v7())).await,
        Err(StoreError::NotFound)
    ));

    // An organization with its first client, in one transaction; a name taken leaves
    // neither behind.
    let (o2, c2) = s
        .create_org_with_client(
            "Second",
            &OrgSettings::default(),
            "first",
            "h2",
            &scopes,
            &cli(),
        )
        .await
        .unwrap();
    let found = s.find_client(c2.id).await.unwrap().unwrap();
    assert_eq!((found.org_id, found.name.as_str()), (o2.id, "first"));
    assert!(matches!(
        s.create_org_with_client(
            "second",
            &OrgSettings::default(),
            "again",
            "h3",
            &scopes,
            &cli()
        )
        .await,
        Err(StoreError::Conflict(Conflict::Taken(Unique::OrgName)))
    ));
    assert_eq!(s.org_count().await.unwrap(), 2);

    let k = s.signing_key(vec![1, 2, 3]).await.unwrap();
    assert_eq!(k, vec![1, 2, 3]);
    assert_eq!(_again.signing_key(vec![9]).await.unwrap(), vec![1, 2, 3]);
    s.ping().await.unwrap();
    db.drop().await;
}

#[tokio::test]
async fn skills_and_agents_crud() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = s.create_org("o", &OrgSettings::default()).await.unwrap().id;
    let other = s.create_org("p", &OrgSettings::default()).await.unwrap().id;

    let billing = new_skill(&s, org, "Billing").await;
    let _sales = new_skill(&s, org, "Sales").await;
    assert!(matches!(
        s.create_skill(
            org,
            &NewSkill {
                name: "BILLING".into(),
                description: None
            },
            Timestamp(2)
        )
        .await,
        Err(StoreError::Conflict(Conflict::Taken(Unique::SkillName)))
    ));
    // Names are per organization.
    new_skill(&s, other, "Billing").await;
    assert!(matches!(
        s.create_skill(
            OrgId::new(Uuid::now_v7()),
            &NewSkill {
                name: "x".into(),
                description: None
            },
            Timestamp(2)
        )
        .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.get_skill(other, billing.into()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.catalog(org).await.unwrap().len(), 2);

    // Paging and filters.
    let p1 = s
        .list_skills(org, &SkillFilter::default(), page(1))
        .await
        .unwrap();
    assert_eq!(p1.items.len(), 1);
    let p2 = s
        .list_skills(
            org,
            &SkillFilter::default(),
            PageRequest {
                after: p1.next,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!((p2.items.len(), p2.next), (1, None));
    assert_ne!(p1.items[0].id, p2.items[0].id);
    let by_name = s
        .list_skills(
            org,
            &SkillFilter {
                name: Some("billING".into()),
                active: None,
            },
            page(10),
        )
        .await
        .unwrap();
    assert_eq!(by_name.items.len(), 1);
    assert_eq!(by_name.items[0].id.get(), billing);

    // Updates: a conflict, a change, a no-op.
    assert!(matches!(
        s.update_skill(
            org,
            billing.into(),
            &SkillPatch {
                name: Some("sales".into()),
                ..Default::default()
            },
            Timestamp(5)
        )
        .await,
        Err(StoreError::Conflict(Conflict::Taken(Unique::SkillName)))
    ));
    let u = s
        .update_skill(
            org,
            billing.into(),
            &SkillPatch {
                active: Some(false),
                description: Some(Some("d".into())),
                ..Default::default()
            },
            Timestamp(6),
        )
        .await
        .unwrap();
    assert_eq!(
        (u.active, u.description.as_deref(), u.updated_at),
        (false, Some("d"), Timestamp(6))
    );
    let u = s
        .update_skill(org, billing.into(), &SkillPatch::default(), Timestamp(7))
        .await
        .unwrap();
    assert_eq!(u.updated_at, Timestamp(6));
    let inactive = s
        .list_skills(
            org,
            &SkillFilter {
                name: None,
                active: Some(false),
            },
            page(10),
        )
        .await
        .unwrap();
    assert_eq!(inactive.items.len(), 1);
    assert!(matches!(
        s.update_skill(other, billing.into(), &SkillPatch::default(), Timestamp(7))
            .await,
        Err(StoreError::NotFound)
    ));

    // Agents.
    let a = new_agent(&s, org, "Ann@Example.com").await;
    let b = new_agent(&s, org, "bob@example.com").await;
    assert!(matches!(
        s.create_agent(
            org,
            &NewAgent {
                email: "ann@EXAMPLE.com".into(),
                name: "x".into(),
                external_id: None
            },
            Timestamp(2)
        )
        .await,
        Err(StoreError::Conflict(Conflict::Taken(Unique::AgentEmail)))
    ));
    assert!(matches!(
        s.update_agent(
            org,
            b,
            &AgentPatch {
                email: Some("ANN@example.com".into()),
                ..Default::default()
            },
            Timestamp(3)
        )
        .await,
        Err(StoreError::Conflict(Conflict::Taken(Unique::AgentEmail)))
    ));
    let upd = s
        .update_agent(
            org,
            b,
            &AgentPatch {
                name: Some("Bob".into()),
                external_id: Some(Some("E1".into())),
                ..Default::default()
            },
            Timestamp(3),
        )
        .await
        .unwrap();
    assert_eq!(
        (upd.name.as_str(), upd.external_id.as_deref()),
        ("Bob", Some("E1"))
    );
    let got = s.get_agent(org, a).await.unwrap();
    assert_eq!(got.email, "Ann@Example.com");
    assert!(matches!(
        s.get_agent(other, a).await,
        Err(StoreError::NotFound)
    ));
    let found = s
        .list_agents(
            org,
            &AgentFilter {
                email: Some("ann@example.com".into()),
                active: None,
            },
            page(10),
        )
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(
        s.list_agents(org, &AgentFilter::default(), page(10))
            .await
            .unwrap()
            .items
            .len(),
        2
    );

    // Deleting: in use, then free.
    let sales = s.catalog(org).await.unwrap();
    let sales = sales.iter().find(|c| c.name == "Sales").unwrap().id;
    s.write_skill_sets(
        org,
        &ctx(10),
        &[replace(a, vec![asg(sales, 10)], None)],
        opts(),
    )
    .await
    .unwrap();
    assert!(matches!(
        s.delete_skill(org, sales.into()).await,
        Err(StoreError::InUse { count: 1 })
    ));
    assert!(matches!(
        s.delete_skill(other, billing.into()).await,
        Err(StoreError::NotFound)
    ));
    s.delete_skill(org, billing.into()).await.unwrap();
    assert!(matches!(
        s.get_skill(org, billing.into()).await,
        Err(StoreError::NotFound)
    ));
    db.drop().await;
}

#[tokio::test]
async fn skill_set_writes_history_and_audit() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = s.create_org("o", &OrgSettings::default()).await.unwrap().id;
    let other = s.create_org("p", &OrgSettings::default()).await.unwrap().id;
    let k1 = new_skill(&s, org, "B-skill").await;
    let k2 = new_skill(&s, org, "A-skill").await;
    let k3 = new_skill(&s, org, "C-skill").await;
    let a = new_agent(&s, org, "a@x").await;
    let b = new_agent(&s, org, "b@x").await;
    let foreign = new_agent(&s, other, "f@x").await;

    // Replace.
    let r = s
        .write_skill_sets(
            org,
            &ctx(100),
            &[replace(a, vec![asg(k1, 10), asg(k2, 20)], None)],
            opts(),
        )
        .await
        .unwrap();
    assert!(r.committed);
    let (v, plan, skills) = applied(&r.items[0]);
    assert_eq!((v, plan.added.len(), skills.len()), (1, 2, 2));
    let set = s.agent_skills(org, a).await.unwrap();
    assert_eq!((set.version, set.active), (1, true));
    // Ordered by name.
    assert_eq!(
        set.skills.iter().map(|x| x.skill_id).collect::<Vec<_>>(),
        vec![k2, k1]
    );
    assert_eq!(set.skills[0].updated_at, Timestamp(100));

    // The same write again changes nothing and keeps the version.
    let r = s
        .write_skill_sets(
            org,
            &ctx(101),
            &[replace(a, vec![asg(k1, 10), asg(k2, 20)], None)],
            opts(),
        )
        .await
        .unwrap();
    assert!(!r.committed);
    let (v, plan, _) = applied(&r.items[0]);
    assert_eq!((v, plan.unchanged), (1, 2));

    // Merge: update one, add one, remove one.
    let r = s
        .write_skill_sets(
            org,
            &ctx(200),
            &[merge(a, vec![asg(k1, 11), asg(k3, 30)], vec![k2])],
            opts(),
        )
        .await
        .unwrap();
    let (v, plan, skills) = applied(&r.items[0]);
    assert_eq!(
        (
            v,
            plan.added.len(),
            plan.updated.len(),
            plan.removed.len(),
            skills.len()
        ),
        (2, 1, 1, 1, 2)
    );
    let set = s.agent_skills(org, a).await.unwrap();
    assert_eq!(set.version, 2);
    let k1_now = set.skills.iter().find(|x| x.skill_id == k1).unwrap();
    assert_eq!(
        (k1_now.proficiency, k1_now.updated_at),
        (11, Timestamp(200))
    );

    // Dry run: reports the current version and writes nothing.
    let dry = WriteOptions {
        dry_run: true,
        ..opts()
    };
    let r = s
        .write_skill_sets(org, &ctx(300), &[replace(a, vec![], None)], dry)
        .await
        .unwrap();
    assert!(!r.committed);
    let (v, plan, skills) = applied(&r.items[0]);
    assert_eq!((v, plan.removed.len(), skills.len()), (2, 2, 0));
    assert_eq!(s.agent_skills(org, a).await.unwrap().skills.len(), 2);

    // Atomic: one bad item (a foreign agent) and nothing is written.
    let r = s
        .write_skill_sets(
            org,
            &ctx(400),
            &[
                replace(b, vec![asg(k1, 5)], None),
                replace(foreign, vec![], None),
            ],
            opts(),
        )
        .await
        .unwrap();
    assert!(!r.committed);
    assert!(matches!(r.items[1], ItemOutcome::NotFound));
    assert_eq!(s.agent_skills(org, b).await.unwrap().version, 0);

    // Not atomic: the good item is written.
    let loose = WriteOptions {
        atomic: false,
        ..opts()
    };
    let r = s
        .write_skill_sets(
            org,
            &ctx(500),
            &[
                replace(b, vec![asg(k1, 5)], None),
                replace(a, vec![], Some(Precondition::Version(1))),
                replace(AgentId::new(Uuid::now_v7()), vec![], None),
            ],
            loose,
        )
        .await
        .unwrap();
    assert!(r.committed);
    assert_eq!(applied(&r.items[0]).0, 1);
    assert!(matches!(
        r.items[1],
        ItemOutcome::PreconditionFailed { current: 2 }
    ));
    assert!(matches!(r.items[2], ItemOutcome::NotFound));
    assert_eq!(s.agent_skills(org, b).await.unwrap().version, 1);
    assert_eq!(s.agent_skills(org, a).await.unwrap().skills.len(), 2);

    // Preconditions that hold.
    let r = s
        .write_skill_sets(
            org,
            &ctx(600),
            &[replace(
                a,
                vec![asg(k3, 31)],
                Some(Precondition::Version(2)),
            )],
            opts(),
        )
        .await
        .unwrap();
    assert_eq!(applied(&r.items[0]).0, 3);
    let r = s
        .write_skill_sets(
            org,
            &ctx(601),
            &[replace(a, vec![asg(k3, 32)], Some(Precondition::Any))],
            opts(),
        )
        .await
        .unwrap();
    assert_eq!(applied(&r.items[0]).0, 4);

    // Too many skills; an inactive agent.
    let tight = WriteOptions {
        max_skills_per_agent: 1,
        ..opts()
    };
    let r = s
        .write_skill_sets(org, &ctx(700), &[merge(b, vec![asg(k2, 1)], vec![])], tight)
        .await
        .unwrap();
    assert!(matches!(
        r.items[0],
        ItemOutcome::TooManySkills { resulting: 2 }
    ));
    s.update_agent(
        org,
        b,
        &AgentPatch {
            active: Some(false),
            ..Default::default()
        },
        Timestamp(701),
    )
    .await
    .unwrap();
    let r = s
        .write_skill_sets(org, &ctx(702), &[replace(b, vec![], None)], opts())
        .await
        .unwrap();
    assert!(matches!(r.items[0], ItemOutcome::Inactive));
    assert!(!s.agent_skills(org, b).await.unwrap().active);

    // History: newest first, paged.
    let h = s.agent_history(org, a, page(100)).await.unwrap();
    // 2 added; 1 added + 1 updated + 1 removed; 1 removed + 1 updated; 1 updated.
    assert_eq!(h.items.len(), 2 + 3 + 2 + 1);
    assert_eq!(h.items[0].action, AuditAction::Updated);
    assert_eq!(h.items[0].request_id, "req-601");
    assert_eq!(h.items[0].before.unwrap().proficiency, 31);
    assert_eq!(h.items[0].after.unwrap().proficiency, 32);
    let h1 = s.agent_history(org, a, page(4)).await.unwrap();
    let h2 = s
        .agent_history(
            org,
            a,
            PageRequest {
                after: h1.next,
                limit: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!((h1.items.len(), h2.items.len(), h2.next), (4, 4, None));
    assert_eq!(h2.items[3].id, h.items[7].id);
    assert!(matches!(
        s.agent_history(other, a, page(1)).await,
        Err(StoreError::NotFound)
    ));

    // The org-wide log: oldest first, since, paged.
    let log = s.audit_log(org, None, page(100)).await.unwrap();
    assert_eq!(log.items.len(), 8 + 1);
    assert_eq!(log.items[0].action, AuditAction::Added);
    assert!(log.items[0].before.is_none());
    assert_eq!(log.items[0].at, Timestamp(100));
    let since = s
        .audit_log(org, Some(Timestamp(500)), page(100))
        .await
        .unwrap();
    assert_eq!(since.items.len(), 1 + 2 + 1);
    let first = s.audit_log(org, None, page(3)).await.unwrap();
    let rest = s
        .audit_log(
            org,
            None,
            PageRequest {
                after: first.next,
                limit: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 6);
    assert!(s
        .audit_log(other, None, page(10))
        .await
        .unwrap()
        .items
        .is_empty());

    // Who holds k1: b only now (a dropped it); k3: a.
    let holders = s.skill_holders(org, k3.into(), page(10)).await.unwrap();
    assert_eq!(holders.items.len(), 1);
    assert_eq!(holders.items[0].agent.id, a);
    assert_eq!(holders.items[0].assignment.proficiency, 32);
    let holders = s.skill_holders(org, k1.into(), page(10)).await.unwrap();
    assert_eq!(holders.items.len(), 1);
    assert_eq!(holders.items[0].agent.id, b);
    assert!(matches!(
        s.skill_holders(other, k1.into(), page(10)).await,
        Err(StoreError::NotFound)
    ));

    // Agent states.
    let states = s
        .agent_states(org, &[a, b, foreign, AgentId::new(Uuid::now_v7())])
        .await
        .unwrap();
    assert_eq!(states.len(), 2);
    assert_eq!(
        states[&a],
        AgentState {
            version: 4,
            active: true
        }
    );
    assert_eq!(
        states[&b],
        AgentState {
            version: 1,
            active: false
        }
    );
    assert!(s.agent_states(org, &[]).await.unwrap().is_empty());

    // A scale that strands stored proficiencies is refused: b's 5 lies below it, a's 32
    // above (a's 11 fits).
    let mut narrow = OrgSettings::default();
    narrow.proficiency_scale.min = 10;
    narrow.proficiency_scale.max = 20;
    narrow.proficiency_scale.default = 15;
    assert_eq!(
        s.update_settings(org, &narrow).await.unwrap(),
        Err(Stranded {
            below_min: 1,
            above_max: 1,
            lowest: 5,
            highest: 32
        })
    );
    db.drop().await;
}

#[tokio::test]
async fn bulk_write_of_many_agents() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = s.create_org("o", &OrgSettings::default()).await.unwrap().id;
    let mut skills = Vec::new();
    for i in 0..20 {
        skills.push(new_skill(&s, org, &format!("s{i}")).await);
    }
    let mut items = Vec::new();
    for i in 0..300 {
        let a = new_agent(&s, org, &format!("a{i}@x")).await;
        items.push(replace(
            a,
            skills.iter().map(|k| asg(*k, i % 100)).collect(),
            None,
        ));
    }
    let r = s
        .write_skill_sets(org, &ctx(1), &items, opts())
        .await
        .unwrap();
    assert!(r.committed);
    assert_eq!(
        s.audit_log(org, None, page(10_000))
            .await
            .unwrap()
            .items
            .len(),
        6000
    );
    let holders = s
        .skill_holders(org, skills[0].into(), page(1000))
        .await
        .unwrap();
    assert_eq!(holders.items.len(), 300);
    db.drop().await;
}

/// A streamed write on PostgreSQL takes every item its producer makes, then writes them as
/// one; when the producer does not say go, nothing is written.
#[tokio::test]
async fn streamed_writes_land_only_when_the_producer_says_go() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = s.create_org("o", &OrgSettings::default()).await.unwrap().id;
    let skill = new_skill(&s, org, "billing").await;
    let mut items = Vec::new();
    for i in 0..100 {
        let a = new_agent(&s, org, &format!("a{i}@x")).await;
        items.push(replace(a, vec![asg(skill, i)], None));
    }
    for go in [false, true] {
        let produce: Producer<'_> = Box::new(|sink| {
            for chunk in items.chunks(30) {
                assert!(sink(chunk.to_vec()));
            }
            go
        });
        let seen = std::sync::Mutex::new(0);
        let alongside = |i: &[AgentWrite], o: &[ItemOutcome]| {
            assert_eq!(i.len(), o.len());
            *seen.lock().unwrap() += i.len();
        };
        let w = s
            .write(
                WriteRequest::new(org, &ctx(1), Items::Produced(produce), opts()).sink(&alongside),
            )
            .await
            .unwrap();
        assert_eq!(w.produced.len(), 100);
        assert_eq!(w.result.as_ref().map(|r| r.committed), go.then_some(true));
        assert_eq!(*seen.lock().unwrap(), if go { 100 } else { 0 });
        let holders = s
            .skill_holders(org, skill.into(), page(1000))
            .await
            .unwrap();
        assert_eq!(holders.items.len(), if go { 100 } else { 0 });
    }
    db.drop().await;
}

#[tokio::test]
async fn idempotency_keys() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let s2 = db.store().await;
    let org = s.create_org("o", &OrgSettings::default()).await.unwrap().id;
    let client = Uuid::now_v7();
    let now = Timestamp(10_000_000_000);

    assert_eq!(
        s.idempotency_begin(org, client, "k", "fp", now)
            .await
            .unwrap(),
        IdempotencyBegin::Fresh
    );
    assert_eq!(
        s2.idempotency_begin(org, client, "k", "fp", now)
            .await
            .unwrap(),
        IdempotencyBegin::InProgress
    );
    assert_eq!(
        s.idempotency_begin(org, client, "k", "other", now)
            .await
            .unwrap(),
        IdempotencyBegin::Mismatch
    );
    // Another client has its own keys.
    assert_eq!(
        s.idempotency_begin(org, Uuid::now_v7(), "k", "other", now)
            .await
            .unwrap(),
        IdempotencyBegin::Fresh
    );
    s.idempotency_complete(org, client, "k", 207, b"body")
        .await
        .unwrap();
    assert_eq!(
        s2.idempotency_begin(org, client, "k", "fp", now)
            .await
            .unwrap(),
        IdempotencyBegin::Replay {
            status: 207,
            body: b"body".to_vec()
        }
    );
    // Abandoning a completed key does nothing; an abandoned claim is free again.
    s.idempotency_abandon(org, client, "k").await.unwrap();
    assert!(matches!(
        s.idempotency_begin(org, client, "k", "fp", now)
            .await
            .unwrap(),
        IdempotencyBegin::Replay { .. }
    ));
    s.idempotency_begin(org, client, "k2", "fp", now)
        .await
        .unwrap();
    s.idempotency_abandon(org, client, "k2").await.unwrap();
    assert_eq!(
        s.idempotency_begin(org, client, "k2", "fp2", now)
            .await
            .unwrap(),
        IdempotencyBegin::Fresh
    );
    // A stale claim may be taken over; an expired key is forgotten.
    let stale = Timestamp(now.0 + IDEMPOTENCY_STALE_MS + 1);
    assert_eq!(
        s.idempotency_begin(org, client, "k2", "fp2", stale)
            .await
            .unwrap(),
        IdempotencyBegin::Fresh
    );
    let later = Timestamp(now.0 + IDEMPOTENCY_TTL_MS + 1);
    assert_eq!(
        s.idempotency_begin(org, client, "k", "new", later)
            .await
            .unwrap(),
        IdempotencyBegin::Fresh
    );
    assert!(matches!(
        s.idempotency_begin(OrgId::new(Uuid::now_v7()), client, "k", "fp", now)
            .await,
        Err(StoreError::NotFound)
    ));

    // Many claims of one key at once, from two "processes": exactly one is fresh.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let st = if i % 2 == 0 { s.clone() } else { s2.clone() };
        tasks.push(tokio::spawn(async move {
            st.idempotency_begin(org, client, "race", "fp", now)
                .await
                .unwrap()
        }));
    }
    let mut fresh = 0;
    for t in tasks {
        match t.await.unwrap() {
            IdempotencyBegin::Fresh => fresh += 1,
            IdempotencyBegin::InProgress => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(fresh, 1);
    db.drop().await;
}

#[tokio::test]
async fn concurrent_writers_in_two_processes() {
    let db = TestDb::new().await;
    // Two pools: as two server processes would be.
    let s1 = db.store().await;
    let s2 = db.store().await;
    let org = s1
        .create_org("o", &OrgSettings::default())
        .await
        .unwrap()
        .id;
    let mut skills = Vec::new();
    for i in 0..5 {
        skills.push(new_skill(&s1, org, &format!("s{i}")).await);
    }
    let agent = new_agent(&s1, org, "a@x").await;
    let other = new_agent(&s1, org, "b@x").await;

    const ROUNDS: i64 = 25;
    for round in 0..ROUNDS {
        let current = s1.agent_skills(org, agent).await.unwrap().version;
        assert_eq!(current, round);
        let mut tasks = Vec::new();
        for (i, st) in [s1.clone(), s2.clone()].into_iter().enumerate() {
            let skills = skills.clone();
            tasks.push(tokio::spawn(async move {
                // Each writer sets a distinct proficiency, so each write is a change; the
                // second agent is in both writes too, listed in opposite orders.
                let p = round * 10 + i as i64 + 1;
                let mut items = vec![
                    replace(
                        agent,
                        skills.iter().map(|k| asg(*k, p)).collect(),
                        Some(Precondition::Version(current)),
                    ),
                    merge(other, vec![asg(skills[0], p)], vec![]),
                ];
                if i == 1 {
                    items.reverse();
                }
                st.write_skill_sets(
                    org,
                    &ctx(1000 + round),
                    &items,
                    WriteOptions {
                        atomic: false,
                        ..opts()
                    },
                )
                .await
                .unwrap()
            }));
        }
        let mut wins = 0;
        let mut lost = 0;
        for t in tasks {
            let r = t.await.unwrap();
            for o in &r.items {
                match o {
                    ItemOutcome::Applied { version, plan, .. }
                        if plan.added.len() + plan.updated.len() == 5 =>
                    {
                        assert_eq!(*version, current + 1);
                        wins += 1;
                    }
                    ItemOutcome::PreconditionFailed { current: c } => {
                        assert_eq!(*c, current + 1);
                        lost += 1;
                    }
                    ItemOutcome::Applied { .. } => {}
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        assert_eq!((wins, lost), (1, 1), "round {round}");
    }
    let set = s2.agent_skills(org, agent).await.unwrap();
    assert_eq!(set.version, ROUNDS);
    // Every write to the second agent went through, each one a version.
    assert_eq!(
        s2.agent_skills(org, other).await.unwrap().version,
        2 * ROUNDS
    );
    // The audit has exactly the winners' changes: 5 per round for the first agent.
    let h = s1.agent_history(org, agent, page(10_000)).await.unwrap();
    assert_eq!(h.items.len() as i64, 5 * ROUNDS);
    db.drop().await;
}

/// Assignments have no foreign keys on PostgreSQL (migration 0003): a skill's deletion and the
/// writes that assign it are kept apart by the organization's lock instead. Raced many times
/// from two processes, every deletion either refuses (the skill is held) or leaves no
/// assignment of it behind, and every write either lands or answers 409.
#[tokio::test]
async fn deleting_skills_while_writing_them_never_leaves_an_assignment_behind() {
    let db = TestDb::new().await;
    let (s1, s2) = (db.store().await, db.store().await);
    let org = s1
        .create_org("o", &OrgSettings::default())
        .await
        .unwrap()
        .id;
    let agents = [
        new_agent(&s1, org, "a@x").await,
        new_agent(&s1, org, "b@x").await,
    ];
    let (mut deleted, mut refused, mut conflicts) = (0, 0, 0);
    for round in 0..30 {
        let skill = new_skill(&s1, org, &format!("race {round}")).await;
        let write = {
            let s2 = s2.clone();
            tokio::spawn(async move {
                let items: Vec<AgentWrite> = agents
                    .iter()
                    .map(|a| merge(*a, vec![asg(skill, 5)], vec![]))
                    .collect();
                s2.write_skill_sets(org, &ctx(round), &items, opts()).await
            })
        };
        if round % 2 == 1 {
            tokio::task::yield_now().await;
        }
        match s1.delete_skill(org, skill.into()).await {
            Ok(()) => deleted += 1,
            Err(StoreError::InUse { count }) => {
                assert_eq!(count, 2, "a deletion saw a write half-done");
                refused += 1;
            }
            Err(e) => panic!("{e:#}"),
        }
        match write.await.unwrap() {
            Ok(r) => assert!(r.committed),
            Err(StoreError::Conflict(_)) => conflicts += 1,
            Err(e) => panic!("{e:#}"),
        }
    }
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let orphans: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM assignments a
         WHERE NOT EXISTS (SELECT 1 FROM skills s WHERE s.id = a.skill_id)
            OR NOT EXISTS (SELECT 1 FROM agents g WHERE g.id = a.agent_id)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(orphans, 0);
    // Deleted skills are exactly the writes that found their skill gone.
    assert_eq!(deleted, conflicts);
    assert_eq!(deleted + refused, 30);
    conn.close().await.ok();
    db.drop().await;
}

/// Small writes made at once are written together (group commit), and each keeps its own
/// outcome: a failed precondition, an inactive or unknown agent, a skill deleted meanwhile or
/// a dry run changes nothing and touches none of the others; writes to one agent are all
/// applied, one after another.
#[tokio::test]
async fn small_writes_at_once_are_grouped_and_each_keeps_its_outcome() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = s.create_org("o", &OrgSettings::default()).await.unwrap().id;
    let skills = [
        new_skill(&s, org, "a").await,
        new_skill(&s, org, "b").await,
        new_skill(&s, org, "c").await,
        new_skill(&s, org, "d").await,
    ];
    let gone = new_skill(&s, org, "gone").await;
    s.delete_skill(org, gone.into()).await.unwrap();
    let mut agents = Vec::new();
    for i in 0..30 {
        agents.push(new_agent(&s, org, &format!("a{i}@x")).await);
    }
    let inactive = new_agent(&s, org, "off@x").await;
    s.update_agent(
        org,
        inactive,
        &AgentPatch {
            active: Some(false),
            ..Default::default()
        },
        Timestamp(1),
    )
    .await
    .unwrap();
    // Written once before the burst; the burst's stale precondition and dry run on it see
    // version 1 whatever order the burst runs in.
    let settled = new_agent(&s, org, "settled@x").await;
    s.write_skill_sets(
        org,
        &ctx(300),
        &[merge(settled, vec![asg(skills[1], 2)], vec![])],
        opts(),
    )
    .await
    .unwrap();

    // (request number, write, dry run)
    let mut writes: Vec<(i64, AgentWrite, bool)> = Vec::new();
    for (i, a) in agents.iter().enumerate() {
        writes.push((i as i64, merge(*a, vec![asg(skills[0], 1)], vec![]), false));
    }
    // Four more to the first agent, each its own skill or proficiency.
    for (k, sk) in skills.iter().enumerate() {
        writes.push((
            100 + k as i64,
            merge(agents[0], vec![asg(*sk, 3)], vec![]),
            false,
        ));
    }
    let mut stale = merge(settled, vec![asg(skills[2], 5)], vec![]);
    stale.if_match = Some(Precondition::Version(7));
    writes.push((200, stale, false));
    writes.push((201, merge(inactive, vec![asg(skills[0], 2)], vec![]), false));
    writes.push((
        202,
        merge(
            AgentId::new(Uuid::new_v4()),
            vec![asg(skills[0], 2)],
            vec![],
        ),
        false,
    ));
    writes.push((203, merge(agents[2], vec![asg(gone, 2)], vec![]), false));
    writes.push((204, merge(settled, vec![asg(skills[3], 4)], vec![]), true));

    let tasks: Vec<_> = writes
        .into_iter()
        .map(|(n, w, dry_run)| {
            let s = s.clone();
            tokio::spawn(async move {
                let o = WriteOptions { dry_run, ..opts() };
                (n, s.write_skill_sets(org, &ctx(n), &[w], o).await)
            })
        })
        .collect();
    for t in tasks {
        let (n, r) = t.await.unwrap();
        match n {
            0..=29 | 100..=103 => {
                let r = r.unwrap();
                assert!(r.committed, "request {n}");
                applied(&r.items[0]);
            }
            200 => {
                let r = r.unwrap();
                assert!(!r.committed);
                assert!(matches!(
                    r.items[0],
                    ItemOutcome::PreconditionFailed { current: 1 }
                ));
            }
            201 => assert!(matches!(r.unwrap().items[0], ItemOutcome::Inactive)),
            202 => assert!(matches!(r.unwrap().items[0], ItemOutcome::NotFound)),
            203 => assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}"),
            204 => {
                let r = r.unwrap();
                assert!(!r.committed);
                let (version, plan, _) = applied(&r.items[0]);
                assert_eq!(
                    (version, plan.added.len()),
                    (1, 1),
                    "a dry run leaves the version"
                );
            }
            _ => unreachable!(),
        }
    }

    // The first agent: all five writes, one after another (in either order for its first
    // skill, which two of them set: concurrent requests have no order).
    let first = s.agent_skills(org, agents[0]).await.unwrap();
    assert_eq!(first.version, 5);
    let held: Vec<(Uuid, i64)> = first
        .skills
        .iter()
        .map(|a| (a.skill_id, a.proficiency))
        .collect();
    assert_eq!(held.len(), 4);
    assert!(
        held[0] == (skills[0], 3) || held[0] == (skills[0], 1),
        "{held:?}"
    );
    assert_eq!(
        held[1..],
        skills[1..].iter().map(|k| (*k, 3)).collect::<Vec<_>>()
    );
    for a in &agents[1..] {
        let set = s.agent_skills(org, *a).await.unwrap();
        assert_eq!((set.version, set.skills.len()), (1, 1), "agent {a}");
    }
    assert_eq!(s.agent_skills(org, inactive).await.unwrap().version, 0);
    let kept = s.agent_skills(org, settled).await.unwrap();
    assert_eq!((kept.version, kept.skills.len()), (1, 1));

    // One audit entry per applied write, each with its own request.
    let log = s.audit_log(org, None, page(1000)).await.unwrap();
    let mut requests: Vec<&str> = log.items.iter().map(|e| e.request_id.as_str()).collect();
    requests.sort_unstable();
    let mut expected: Vec<String> = (0..30)
        .chain(100..104)
        .chain([300])
        .map(|n| format!("req-{n}"))
        .collect();
    expected.sort_unstable();
    assert_eq!(requests, expected);
    for e in &log.items {
        let n: i64 = e.request_id["req-".len()..].parse().unwrap();
        assert_eq!(e.at, Timestamp(n), "an entry keeps its own write's time");
    }

    // Grouped: the burst's 34 applied writes took far fewer transactions (rows written by one
    // transaction share its xmin). The first writes made lead groups of their own, one per
    // leader (a quarter of the pool: 2 on 2 cores, at most 8), then one group takes the rest,
    // in as many transactions as the first agent has writes in it: 6 on 2 cores, at most 12.
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let transactions: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT xmin::text) FROM audit_sets WHERE request_id <> 'req-300'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(transactions <= 12, "{transactions} transactions");
    conn.close().await.ok();
    db.drop().await;
}

/// A group of small writes that waits for a row another process has locked holds up only the
/// writes in it: small writes to other agents, of the same organization or another, go on.
#[tokio::test]
async fn a_group_waiting_for_a_lock_holds_up_only_its_own_writes() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let mut orgs = Vec::new();
    for name in ["o1", "o2"] {
        let org = s
            .create_org(name, &OrgSettings::default())
            .await
            .unwrap()
            .id;
        let skill = new_skill(&s, org, "s").await;
        orgs.push((org, skill));
    }
    let (org, skill) = orgs[0];
    let locked = new_agent(&s, org, "locked@x").await;
    let free = new_agent(&s, org, "free@x").await;
    let (org2, skill2) = orgs[1];
    let elsewhere = new_agent(&s, org2, "other@x").await;

    // Another process holds the first agent's row.
    let mut holder = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT id FROM agents WHERE uuid = $1 FOR UPDATE")
        .bind(locked.get())
        .execute(&mut holder)
        .await
        .unwrap();

    let waiting = {
        let s = s.clone();
        tokio::spawn(async move {
            let w = merge(locked, vec![asg(skill, 1)], vec![]);
            s.write_skill_sets(org, &ctx(1), &[w], opts()).await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the write to the locked agent did not wait"
    );

    let within = std::time::Duration::from_secs(10);
    for (org, agent, skill) in [(org, free, skill), (org2, elsewhere, skill2)] {
        let w = merge(agent, vec![asg(skill, 2)], vec![]);
        let r = tokio::time::timeout(within, s.write_skill_sets(org, &ctx(2), &[w], opts()))
            .await
            .expect("a small write waited behind another agent's lock")
            .unwrap();
        assert!(r.committed);
    }
    assert!(!waiting.is_finished());

    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
    let r = tokio::time::timeout(within, waiting)
        .await
        .expect("the write to the locked agent was not written once the lock went")
        .unwrap()
        .unwrap();
    assert!(r.committed);
    assert_eq!(s.agent_skills(org, locked).await.unwrap().version, 1);
    holder.close().await.ok();
    db.drop().await;
}

/// A small write whose request goes away while it waits for a group to take it (a client that
/// disconnected) is not written later by the group that would have taken it.
#[tokio::test]
async fn a_write_abandoned_before_a_group_took_it_is_never_written() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = s.create_org("o", &OrgSettings::default()).await.unwrap().id;
    let skill = new_skill(&s, org, "s").await;
    // More locked agents than there can be leaders (a quarter of a pool of at most 32): every
    // leader waits, and later writes queue.
    let mut locked = Vec::new();
    for i in 0..10 {
        locked.push(new_agent(&s, org, &format!("l{i}@x")).await);
    }
    let abandoned = new_agent(&s, org, "gone@x").await;
    let mut holder = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT id FROM agents WHERE uuid = ANY($1) FOR UPDATE")
        .bind(locked.iter().map(|a| a.get()).collect::<Vec<Uuid>>())
        .execute(&mut holder)
        .await
        .unwrap();
    let write = |agent: AgentId| {
        let s = s.clone();
        tokio::spawn(async move {
            let w = merge(agent, vec![asg(skill, 1)], vec![]);
            s.write_skill_sets(org, &ctx(1), &[w], opts()).await
        })
    };
    let waiting: Vec<_> = locked.iter().map(|a| write(*a)).collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let gone = write(abandoned);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    gone.abort();
    assert!(gone.await.unwrap_err().is_cancelled());

    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
    for w in waiting {
        assert!(w.await.unwrap().unwrap().committed);
    }
    // One more write, after every group that could have taken the abandoned one.
    let after = new_agent(&s, org, "after@x").await;
    assert!(write(after).await.unwrap().unwrap().committed);
    assert_eq!(s.agent_skills(org, abandoned).await.unwrap().version, 0);
    holder.close().await.ok();
    db.drop().await;
}

#[tokio::test]
async fn the_org_generation_moves_with_settings_and_skills_only() {
    let db = TestDb::new().await;
    let s = db.store().await;
    generation::moves_with_settings_and_skills_only(s.as_ref()).await;
    db.drop().await;
}

#[tokio::test]
async fn audit_past_retention_goes_oldest_first_in_batches() {
    let db = TestDb::new().await;
    let s = db.store().await;
    pruning::audit_past_retention_goes_oldest_first_in_batches(s.as_ref()).await;
    db.drop().await;
}

#[tokio::test]
async fn expired_idempotency_keys_go_in_batches() {
    let db = TestDb::new().await;
    let s = db.store().await;
    pruning::expired_idempotency_keys_go_in_batches(s.as_ref()).await;
    db.drop().await;
}

#[tokio::test]
async fn a_scale_that_strands_stored_proficiencies_is_refused() {
    let db = TestDb::new().await;
    let s = db.store().await;
    stranded::refusal_counts_and_names_the_org_s_extremes(s.as_ref()).await;
    db.drop().await;
}

/// Told not to create one, the store opens only a database skillgrid set up, and creates no
/// table in one it refuses.
#[tokio::test]
async fn refusing_to_create_opens_only_a_database_skillgrid_set_up() {
    let db = TestDb::new().await;
    let tables = || async {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        c.close().await.ok();
        n
    };
    let e = PgStore::open_with(&db.url, IfMissing::Refuse).await.err();
    match e.unwrap().downcast::<NoDatabase>() {
        Ok(NoDatabase::Unmigrated(name)) => assert_eq!(name, db.name),
        other => panic!("{other:?}"),
    }
    assert_eq!(tables().await, 0);

    let store = db.store().await;
    store
        .create_org("acme", &OrgSettings::default())
        .await
        .unwrap();
    assert!(tables().await > 0);
    let again = PgStore::open_with(&db.url, IfMissing::Refuse)
        .await
        .unwrap();
    assert_eq!(again.org_count().await.unwrap(), 1);
    drop((store, again));
    db.drop().await;
}

#[tokio::test]
async fn api_clients_are_audited_revocable_and_kept_to_their_organization() {
    let db = TestDb::new().await;
    let s = db.store().await;
    clients::are_audited_revocable_and_kept_to_their_organization(s.as_ref()).await;
    db.drop().await;
}

/// The `audit_entries` view lists every entry as the store does (the text form of migrated
/// rows is checked beside the migration's own test).
#[tokio::test]
async fn the_audit_entries_view_lists_what_the_store_lists() {
    use sqlx::Row;
    let db = TestDb::new().await;
    let s = db.store().await;
    let orgs = audit_view::write_every_kind(s.as_ref()).await;
    let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
    // Rows longer than the part of a value the view reads at a time.
    let longest: i32 = sqlx::query_scalar("SELECT max(length(entries)) FROM audit_sets")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert!(longest > 512, "{longest}");
    let sql = format!(
        "SELECT {} FROM audit_entries WHERE org_uuid = $1 ORDER BY position",
        audit_view::COLUMNS
    );
    audit_view::view_lists_what_the_store_lists(s.as_ref(), orgs, async |org| {
        let rows = sqlx::query(&sql).bind(org).fetch_all(&mut c).await.unwrap();
        rows.iter()
            .map(|r| audit_view::ViewRow::read(r, |r, i| r.get(i)))
            .collect()
    })
    .await;
    let readable: String = sqlx::query_scalar(
        "SELECT to_char(at_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS') FROM audit_entries
          WHERE at = $1 LIMIT 1",
    )
    .bind(audit_view::T0)
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(readable, "2025-06-15T15:06:40.000");
    c.close().await.ok();
    db.drop().await;
}

#[tokio::test]
async fn users_are_kept_to_their_organization_and_sessions_end() {
    let db = TestDb::new().await;
    let s = db.store().await;
    users::are_kept_to_their_organization_and_sessions_end(s.as_ref()).await;
    db.drop().await;
}
