//! The export reads one snapshot: a write that commits while it runs is in it entirely or not
//! at all, and the export does not hold the write up.

use super::db::TestDb;
use super::helpers::*;
use skillgrid_core::model::{AgentPatch, SkillPatch, SkillSetWrite};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::*;
use std::time::Duration;
use uuid::Uuid;

fn options(active: Option<bool>) -> ExportOptions {
    ExportOptions::new(active, Duration::from_secs(60))
}

/// Every part of `export` from where it stands, and whether it ended with `End`.
async fn drain(export: &mut Export, parts: &mut usize) -> (Vec<ExportAgent>, bool) {
    let mut agents = Vec::new();
    while let Some(part) = export.parts.recv().await {
        match part.unwrap() {
            ExportPart::Agents(a) => {
                *parts += 1;
                agents.extend(a);
            }
            ExportPart::End => return (agents, true),
        }
    }
    (agents, false)
}

#[tokio::test]
async fn a_write_committed_while_an_export_runs_is_not_in_it() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = Org::new(&*s, "o", 20, 2000).await;
    let all = |p: i64| {
        let skills = org.skills.clone();
        move |_| SkillSetWrite::Replace(skills.iter().map(|k| asg(*k, p)).collect())
    };
    org.write_at(&*s, &org.agents, 10, all(10)).await;
    let heads = s.event_heads().await.unwrap();
    let sequence = heads.iter().find(|(o, _)| *o == org.id).unwrap().1;

    let mut export = s.export(org.id, options(None)).await.unwrap();
    assert_eq!(export.event_sequence, sequence);
    let mut parts = 0;
    let first = match export.parts.recv().await.unwrap().unwrap() {
        ExportPart::Agents(a) => a,
        ExportPart::End => panic!("the export ended at once"),
    };
    // Meanwhile: every assignment changes, a new skill is given to everyone, a new agent.
    let late = new_skill(&*s, org.id, "Late").await;
    let mut changed = org.skills.clone();
    changed.push(late);
    org.write_at(&*s, &org.agents, 20, move |_| {
        SkillSetWrite::Replace(changed.iter().map(|k| asg(*k, 20)).collect())
    })
    .await;
    let newcomer = new_agent(&*s, org.id, "0-new@example.com").await;
    org.write_at(&*s, &[newcomer], 30, all(30)).await;

    let (rest, ended) = drain(&mut export, &mut parts).await;
    assert!(ended);
    // At most `PARTS_AHEAD` parts, and the one being filled, were read before the write:
    // the rest were read after it committed.
    assert!(
        parts > export::PARTS_AHEAD + 1,
        "only {parts} parts after the first: the export was not under way during the write"
    );
    let agents: Vec<ExportAgent> = first.into_iter().chain(rest).collect();
    assert_eq!(agents.len(), 2000);
    assert!(!export.skills.iter().any(|k| k.id == late));
    let mut rows = 0;
    for a in &agents {
        assert_eq!(a.held.len(), 20, "{}", a.email);
        for h in &a.held {
            assert_eq!(
                h.proficiency, 10,
                "{} holds a value written after the export began",
                a.email
            );
            rows += 1;
        }
    }
    assert_eq!(rows, 40_000);
    // In e-mail order, then skill-name order.
    let emails: Vec<&str> = agents.iter().map(|a| a.email.as_str()).collect();
    let mut sorted = emails.clone();
    sorted.sort();
    assert_eq!(emails, sorted);
    let names: Vec<&str> = export.skills.iter().map(|k| k.name.as_str()).collect();
    let mut sorted_names = names.clone();
    sorted_names.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted_names);

    // A new export sees the write whole.
    let mut after = s.export(org.id, options(None)).await.unwrap();
    assert!(after.event_sequence > sequence);
    let (agents, ended) = drain(&mut after, &mut parts).await;
    assert!(ended);
    assert_eq!(agents.len(), 2001);
    assert_eq!(agents[0].email, "0-new@example.com");
    let late_place = after.skills.iter().position(|k| k.id == late).unwrap() as u32;
    for a in &agents[1..] {
        assert_eq!(a.held.len(), 21);
        assert!(a.held.iter().all(|h| h.proficiency == 20));
        assert!(a.held.iter().any(|h| h.skill == late_place));
    }
}

#[tokio::test]
async fn inactive_agents_and_skills_are_filtered_as_asked_and_other_orgs_never_appear() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = Org::new(&*s, "o", 2, 3).await;
    let other = Org::new(&*s, "other", 2, 3).await;
    for o in [&org, &other] {
        let skills = o.skills.clone();
        o.write_at(&*s, &o.agents, 1, move |i| {
            SkillSetWrite::Replace(skills.iter().map(|k| asg(*k, i as i64)).collect())
        })
        .await;
    }
    let agent_off = AgentPatch {
        email: None,
        name: None,
        external_id: None,
        active: Some(false),
    };
    s.update_agent(org.id, org.agents[1], &agent_off, Timestamp(2))
        .await
        .unwrap();
    let skill_off = SkillPatch {
        name: None,
        description: None,
        active: Some(false),
    };
    s.update_skill(org.id, org.skills[1], &skill_off, Timestamp(2))
        .await
        .unwrap();
    let rows = |active| {
        let s = s.clone();
        let org = org.id;
        async move {
            let mut e = s.export(org, options(active)).await.unwrap();
            let (agents, ended) = drain(&mut e, &mut 0).await;
            assert!(ended);
            agents
                .iter()
                .flat_map(|a| {
                    let skills = &e.skills;
                    a.held
                        .iter()
                        .map(move |h| (a.email.clone(), skills[h.skill as usize].name.clone()))
                })
                .collect::<Vec<_>>()
        }
    };
    let every = rows(None).await;
    assert_eq!(every.len(), 6, "{every:?}");
    let active = rows(Some(true)).await;
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        active,
        pairs(&[("0@example.com", "Skill 0"), ("2@example.com", "Skill 0")])
    );
    let inactive = rows(Some(false)).await;
    assert_eq!(
        inactive,
        pairs(&[
            ("0@example.com", "Skill 1"),
            ("1@example.com", "Skill 0"),
            ("1@example.com", "Skill 1"),
            ("2@example.com", "Skill 1"),
        ])
    );
    // An organization that does not exist.
    let missing = OrgId::new(Uuid::now_v7());
    assert!(matches!(
        s.export(missing, options(None)).await,
        Err(StoreError::NotFound)
    ));
}

/// On PostgreSQL, a store on `db` and an organization of `agents` agents, each holding every
/// one of its 20 skills; `None` on SQLite.
async fn on_postgres_with_every_skill(
    db: &TestDb,
    agents: usize,
) -> Option<(skillgrid_store::DynStore, Org)> {
    if !super::db::on_postgres() {
        return None;
    }
    let s = db.store().await;
    let org = Org::new(&*s, "o", 20, agents).await;
    let skills = org.skills.clone();
    org.write_at(&*s, &org.agents, 1, move |_| {
        SkillSetWrite::Replace(skills.iter().map(|k| asg(*k, 1)).collect())
    })
    .await;
    Some((s, org))
}

/// An export whose receiver goes away (its client disconnected) ends its transaction and lets
/// its connection go, rather than reading on. Observable on PostgreSQL, where the connection
/// is a session of the server; on SQLite it is a file handle of this process.
#[tokio::test]
async fn an_export_whose_receiver_goes_away_ends_its_transaction() {
    let db = TestDb::new().await;
    // More parts than the channel holds: the reader is still reading when it is dropped.
    let Some((s, org)) = on_postgres_with_every_skill(&db, 2000).await else {
        return;
    };
    let sessions = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND xact_start IS NOT NULL
         AND query LIKE 'SELECT g.id%'",
        db.name()
    );
    let mut export = s.export(org.id, options(None)).await.unwrap();
    assert!(matches!(
        export.parts.recv().await,
        Some(Ok(ExportPart::Agents(_)))
    ));
    // Under way: its transaction is open, on a session of its own.
    assert_eq!(db.count(&sessions).await, 1);
    drop(export);
    // Gone once the reader next tries to hand a part over (at once: the channel is full).
    let mut waited = 0;
    while db.count(&sessions).await > 0 {
        waited += 1;
        assert!(waited < 600, "the export's transaction is still open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An export's rows come from one statement that lasts as long as the export: a
/// `statement_timeout` set on the database (for its other users) does not cut it short, even
/// when its reader pauses for longer than that. PostgreSQL only: SQLite has no such setting.
#[tokio::test]
async fn a_statement_timeout_of_the_database_does_not_cut_an_export_short() {
    let db = TestDb::new().await;
    // More rows than the connection's buffers hold: the statement is still under way while
    // the reader pauses.
    let Some((s, org)) = on_postgres_with_every_skill(&db, 5000).await else {
        return;
    };
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query(&format!(
        "ALTER DATABASE {} SET statement_timeout = '100ms'",
        db.name()
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.ok();

    let mut export = s.export(org.id, options(None)).await.unwrap();
    let first = match export.parts.recv().await.unwrap().unwrap() {
        ExportPart::Agents(a) => a,
        ExportPart::End => panic!("the export ended at once"),
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut parts = 1;
    let (rest, ended) = drain(&mut export, &mut parts).await;
    assert!(ended);
    assert_eq!(first.len() + rest.len(), 5000);
    assert!(first.iter().chain(&rest).all(|a| a.held.len() == 20));
}

/// The scale an export's levels are named by is the snapshot's: a scale changed after the
/// snapshot was taken is not the export's. What the caller gave the reader to hold is let go
/// once the reader is done, its connection closed.
#[tokio::test]
async fn the_scale_is_the_snapshots_and_the_hold_is_let_go_when_the_reader_ends() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = Org::new(&*s, "o", 3, 4).await;
    let skills = org.skills.clone();
    org.write_at(&*s, &org.agents, 1, move |_| {
        SkillSetWrite::Replace(skills.iter().map(|k| asg(*k, 80)).collect())
    })
    .await;
    let before = s.settings(org.id).await.unwrap();
    let (held, let_go) = tokio::sync::oneshot::channel::<()>();
    let mut export = s
        .export(
            org.id,
            ExportOptions {
                hold: Some(Box::new(held)),
                ..options(None)
            },
        )
        .await
        .unwrap();

    let mut changed = before.clone();
    changed.proficiency_scale.levels =
        skillgrid_core::api::Levels::new(vec![("Bronze".into(), 0), ("Gold".into(), 60)]);
    s.update_settings(org.id, &changed).await.unwrap().unwrap();
    assert_eq!(export.scale, before.proficiency_scale);
    assert_eq!(export.scale.level_of(80), Some("Advanced"));

    let mut parts = 0;
    let (agents, ended) = drain(&mut export, &mut parts).await;
    assert!(ended);
    assert_eq!(agents.len(), 4);
    // The sender is dropped, never used: the receiver then answers at once with an error.
    let waited = tokio::time::timeout(Duration::from_secs(60), let_go).await;
    assert!(matches!(waited, Ok(Err(_))), "the reader still holds it");

    let next = s.export(org.id, options(None)).await.unwrap();
    assert_eq!(next.scale, changed.proficiency_scale);
}
