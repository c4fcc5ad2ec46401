//! The outbox of events, checked the same way on every backend: every kind of change leaves
//! its event in its own transaction, numbered from 1 per organization with no gap; a write
//! that is not kept leaves none; a bulk write leaves one per changed agent; concurrent writers
//! leave numbers with no gap and no repeat; pruning takes only old events.

use super::helpers::*;
use skillgrid_core::api::OrgSettings;
use skillgrid_core::model::{AgentPatch, NewSkill, Precondition, SkillPatch, SkillSetWrite};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::*;
use uuid::Uuid;

use super::db::TestDb;

/// Every event of the organization, read in pages of 7 (pages must join with no gap).
async fn all(s: &dyn Store, org: OrgId) -> Vec<EventRecord> {
    let mut out: Vec<EventRecord> = Vec::new();
    loop {
        let after = out.last().map_or(0, |e| e.sequence);
        let page = s.events_after(org, after, 7, None).await.unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

fn kinds(events: &[EventRecord]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

fn assert_numbered(events: &[EventRecord]) {
    let seq: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    let want: Vec<i64> = (1..=events.len() as i64).collect();
    assert_eq!(seq, want, "sequence numbers from 1 with no gap");
}

#[tokio::test]
async fn every_kind_of_change_leaves_its_event() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = new_org(&*s, "o").await;
    let billing = new_skill(&*s, org, "Billing").await;
    let spare = new_skill(&*s, org, "Spare").await;
    let agent = new_agent(&*s, org, "a@x").await;
    let patch = SkillPatch {
        name: Some("Billing 2".into()),
        ..Default::default()
    };
    s.update_skill_by(org, billing, &patch, &by("r-skill", 5))
        .await
        .unwrap();
    let patch = AgentPatch {
        name: Some("Ann".into()),
        ..Default::default()
    };
    s.update_agent_by(org, agent, &patch, &by("r-agent", 6))
        .await
        .unwrap();
    let settings = OrgSettings {
        require_if_match: true,
        ..Default::default()
    };
    s.update_settings_by(org, &settings, &by("r-settings", 7))
        .await
        .unwrap()
        .unwrap();
    let client = s
        .create_client(org, "c", "argon-hash-of-secret", &[], &by("r-c1", 8))
        .await
        .unwrap();
    let change = ClientChange {
        secret_hash: Some("argon-hash-of-new-secret".into()),
        ..Default::default()
    };
    s.update_client(org, client.id, &change, &by("r-c2", 9))
        .await
        .unwrap();
    let w = merge(agent, vec![asg(billing, 70)], vec![]);
    let r = s
        .write_skill_sets(org, &ctx(10), &[w], opts())
        .await
        .unwrap();
    assert!(r.committed);
    s.delete_skill_by(org, spare, &by("r-delete", 11))
        .await
        .unwrap();

    let events = all(&*s, org).await;
    assert_eq!(
        kinds(&events),
        [
            "skill.created",
            "skill.created",
            "agent.created",
            "skill.updated",
            "agent.updated",
            "settings.updated",
            "client.updated",
            "client.updated",
            "assignment.changed",
            "skill.deleted",
        ]
    );
    assert_numbered(&events);
    assert!(events.iter().all(|e| e.org == org));

    let renamed = &events[3];
    assert_eq!(renamed.subject, billing.get());
    assert_eq!(renamed.request_id, "r-skill");
    assert_eq!(renamed.occurred_at, Timestamp(5));
    match &renamed.data {
        EventData::Admin {
            before: Some(AdminState::Skill(b)),
            after: Some(AdminState::Skill(a)),
        } => assert_eq!((b.name.as_str(), a.name.as_str()), ("Billing", "Billing 2")),
        other => panic!("unexpected data {other:?}"),
    }
    match &events[5].data {
        EventData::Admin {
            after: Some(AdminState::Settings(a)),
            ..
        } => assert!(a.require_if_match),
        other => panic!("unexpected data {other:?}"),
    }
    // A client's events say what happened, and hold no secret, not even its hash.
    let actions: Vec<_> = events[6..8]
        .iter()
        .map(|e| match &e.data {
            EventData::Client { action, .. } => *action,
            other => panic!("unexpected data {other:?}"),
        })
        .collect();
    assert_eq!(
        actions,
        [
            skillgrid_core::api::ClientAuditAction::Created,
            skillgrid_core::api::ClientAuditAction::SecretRotated
        ]
    );
    assert!(!format!("{events:?}").contains("argon-hash"));

    let changed = &events[8];
    assert_eq!(changed.subject, agent.get());
    assert_eq!(changed.actor, Some(ctx(10).client_id));
    match &changed.data {
        EventData::Assignments {
            agent: a,
            version,
            changes,
        } => {
            assert_eq!((*a, *version), (agent, 1));
            assert_eq!(changes.len(), 1);
            assert_eq!(changes[0].skill_id, billing);
            assert_eq!(changes[0].action, skillgrid_core::api::AuditAction::Added);
            assert_eq!(changes[0].after.as_ref().map(|a| a.proficiency), Some(70));
        }
        other => panic!("unexpected data {other:?}"),
    }
    match &events[9].data {
        EventData::Admin {
            before: Some(AdminState::Skill(b)),
            after: None,
        } => assert_eq!(b.name, "Spare"),
        other => panic!("unexpected data {other:?}"),
    }

    // The type filter, and a start in the middle.
    let only = [EventType::SkillCreated, EventType::SkillDeleted];
    let some = s.events_after(org, 1, 100, Some(&only)).await.unwrap();
    let seq: Vec<i64> = some.iter().map(|e| e.sequence).collect();
    assert_eq!(seq, [2, 10]);
    assert!(s
        .events_after(org, 1, 100, Some(&[]))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_write_that_is_not_kept_leaves_no_event() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let o = Org::new(&*s, "o", 2, 2).await;
    let before = all(&*s, o.id).await.len();

    // A dry run.
    let w = merge(o.agents[0], vec![asg(o.skills[0], 10)], vec![]);
    let dry = WriteOptions {
        dry_run: true,
        ..opts()
    };
    let r = s.write_skill_sets(o.id, &ctx(5), &[w], dry).await.unwrap();
    assert!(!r.committed);
    // An atomic write with an item of an agent that does not exist.
    let items = [
        merge(o.agents[0], vec![asg(o.skills[0], 10)], vec![]),
        merge(
            AgentId::new(Uuid::now_v7()),
            vec![asg(o.skills[0], 10)],
            vec![],
        ),
    ];
    let r = s
        .write_skill_sets(o.id, &ctx(6), &items, opts())
        .await
        .unwrap();
    assert!(!r.committed);
    // A stale If-Match.
    let w = replace(
        o.agents[1],
        vec![asg(o.skills[1], 10)],
        Some(Precondition::Version(7)),
    );
    let r = s
        .write_skill_sets(o.id, &ctx(7), &[w], opts())
        .await
        .unwrap();
    assert!(!r.committed);
    // A skill name that is taken, a skill still held.
    let taken = NewSkill {
        name: "skill 0".into(),
        description: None,
    };
    assert!(s.create_skill(o.id, &taken, Timestamp(8)).await.is_err());
    let w = merge(o.agents[0], vec![asg(o.skills[0], 10)], vec![]);
    assert!(
        s.write_skill_sets(o.id, &ctx(9), &[w], opts())
            .await
            .unwrap()
            .committed
    );
    assert!(matches!(
        s.delete_skill(o.id, o.skills[0]).await,
        Err(StoreError::InUse { .. })
    ));

    let events = all(&*s, o.id).await;
    assert_eq!(
        events.len(),
        before + 1,
        "only the kept write left an event"
    );
    assert_eq!(events[before].kind, EventType::AssignmentChanged);
    assert_numbered(&events);
}

/// A bulk write of more agents than the small-write path takes: one event per changed agent,
/// in the items' order, numbered on from the events before; an agent the write leaves as it
/// was has none.
#[tokio::test]
async fn a_bulk_write_leaves_one_event_per_changed_agent() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let o = Org::new(&*s, "o", 3, 150).await;
    let first = 3 + 150;
    o.write_at(&*s, &o.agents, 100, |i| {
        SkillSetWrite::Replace(vec![
            asg(o.skills[i % 3], 40),
            asg(o.skills[(i + 1) % 3], 60),
        ])
    })
    .await;
    // Again, changing every agent but the first ten.
    o.write_at(&*s, &o.agents, 200, |i| {
        let p = if i < 10 { 40 } else { 41 };
        SkillSetWrite::Replace(vec![
            asg(o.skills[i % 3], p),
            asg(o.skills[(i + 1) % 3], 60),
        ])
    })
    .await;

    let events = all(&*s, o.id).await;
    assert_numbered(&events);
    let writes = &events[first..];
    assert_eq!(writes.len(), 150 + 140);
    let subjects: Vec<Uuid> = writes.iter().map(|e| e.subject).collect();
    let mut want: Vec<Uuid> = o.agents.iter().map(|a| a.get()).collect();
    want.extend(o.agents[10..].iter().map(|a| a.get()));
    assert_eq!(subjects, want);
    for (i, e) in writes.iter().enumerate() {
        let EventData::Assignments {
            version, changes, ..
        } = &e.data
        else {
            panic!("unexpected data {:?}", e.data);
        };
        if i < 150 {
            assert_eq!((*version, changes.len()), (1, 2));
        } else {
            assert_eq!((*version, changes.len()), (2, 1));
            assert_eq!(changes[0].before.as_ref().map(|a| a.proficiency), Some(40));
            assert_eq!(changes[0].after.as_ref().map(|a| a.proficiency), Some(41));
        }
    }
}

/// An `assignment.changed` event refers to its audit row rather than copying it: when audit
/// retention removes the row while the event is kept, the event keeps the same changes, for a
/// large write (whose rows name their skills through the write's own row) as for a small
/// one.
#[tokio::test]
async fn an_event_keeps_its_changes_when_its_audit_rows_go_first() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let o = Org::new(&*s, "o", 3, 150).await;
    o.write_at(&*s, &o.agents, 100, |i| {
        SkillSetWrite::Replace(vec![asg(o.skills[i % 2], 40), asg(o.skills[2], 60)])
    })
    .await;
    o.write_at(&*s, &o.agents[..1], 200, |_| {
        SkillSetWrite::Replace(vec![asg(o.skills[1], 70)])
    })
    .await;
    let changes = |events: &[EventRecord]| -> Vec<String> {
        events
            .iter()
            .filter(|e| e.kind == EventType::AssignmentChanged)
            .map(|e| format!("{} {:?}", e.sequence, e.data))
            .collect()
    };
    let before = changes(&all(&*s, o.id).await);
    assert_eq!(before.len(), 151);
    while s.prune_audit(o.id, Timestamp(1_000), 40).await.unwrap() > 0 {}
    let trail = s
        .audit_log(
            o.id,
            None,
            PageRequest {
                after: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert!(trail.items.is_empty(), "the audit rows are gone");
    assert_eq!(changes(&all(&*s, o.id).await), before);
    // And the events themselves go when their time comes.
    while s.prune_events(o.id, Timestamp(1_000), 40).await.unwrap() > 0 {}
    assert!(all(&*s, o.id).await.is_empty());
}

/// Writers at the same time, of skill sets and of the catalog, in two organizations: each
/// organization's numbers run from 1 with no gap and no repeat, and each agent's versions rise
/// with its events' numbers (numbers follow commits).
#[tokio::test]
async fn concurrent_writers_leave_numbers_with_no_gap() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let a = Org::new(&*s, "a", 2, 8).await;
    let b = Org::new(&*s, "b", 2, 2).await;
    let mut tasks = Vec::new();
    for (n, agent) in a.agents.iter().enumerate() {
        let (s, agent, skills, org) = (s.clone(), *agent, a.skills.clone(), a.id);
        tasks.push(tokio::spawn(async move {
            for round in 0..6 {
                let w = replace(agent, vec![asg(skills[round % 2], round as i64)], None);
                let c = ctx(1000 + round as i64);
                let r = s.write_skill_sets(org, &c, &[w], opts()).await;
                assert!(r.unwrap().committed);
                if n == 0 {
                    let skill = NewSkill {
                        name: format!("extra {round}"),
                        description: None,
                    };
                    s.create_skill(org, &skill, Timestamp(5)).await.unwrap();
                }
            }
        }));
    }
    {
        let (s, agent, skill, org) = (s.clone(), b.agents[0], b.skills[0], b.id);
        tasks.push(tokio::spawn(async move {
            for round in 0..5 {
                let w = replace(agent, vec![asg(skill, round)], None);
                let r = s.write_skill_sets(org, &ctx(2000), &[w], opts()).await;
                assert!(r.unwrap().committed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let events = all(&*s, a.id).await;
    assert_numbered(&events);
    assert_eq!(events.len(), 2 + 8 + 8 * 6 + 6);
    let mut versions: std::collections::HashMap<Uuid, i64> = Default::default();
    for e in &events {
        if let EventData::Assignments { version, .. } = e.data {
            let last = versions.insert(e.subject, version).unwrap_or(0);
            assert_eq!(version, last + 1, "versions rise with sequence numbers");
        }
    }
    let other = all(&*s, b.id).await;
    assert_numbered(&other);
    assert_eq!(other.len(), 2 + 2 + 5);
    assert!(other.iter().all(|e| e.org == b.id));
    let heads = s.event_heads().await.unwrap();
    assert!(heads.contains(&(a.id, events.len() as i64)));
    assert!(heads.contains(&(b.id, other.len() as i64)));
}

#[tokio::test]
async fn pruning_takes_only_old_events_of_one_organization() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let a = Org::new(&*s, "a", 1, 3).await;
    let b = Org::new(&*s, "b", 1, 1).await;
    a.write_at(&*s, &a.agents, 10_000, |_| {
        SkillSetWrite::Replace(vec![asg(a.skills[0], 1)])
    })
    .await;
    let created = 1 + 3;
    // The catalog's events are stamped at 1 (`new_skill`, `new_agent`).
    assert_eq!(s.prune_events(a.id, Timestamp(5_000), 3).await.unwrap(), 3);
    assert_eq!(s.prune_events(a.id, Timestamp(5_000), 3).await.unwrap(), 1);
    assert_eq!(s.prune_events(a.id, Timestamp(5_000), 3).await.unwrap(), 0);
    let left = all(&*s, a.id).await;
    let seq: Vec<i64> = left.iter().map(|e| e.sequence).collect();
    assert_eq!(seq, [created + 1, created + 2, created + 3]);
    assert_eq!(all(&*s, b.id).await.len(), 2);
    // Numbers go on from where they were, not from what is left.
    let w = replace(a.agents[0], vec![asg(a.skills[0], 2)], None);
    s.write_skill_sets(a.id, &ctx(20_000), &[w], opts())
        .await
        .unwrap();
    assert_eq!(all(&*s, a.id).await.last().unwrap().sequence, created + 4);
}
