//! Many agents created or updated by email (`Store::upsert_agents`), the same on every
//! backend: more agents than one statement takes, matched in any case, each change in the
//! administrative trail with its event in the same transaction; a dry run and a write that
//! changes nothing leave no trace; another organization's agents are never matched.

use super::helpers::*;
use skillgrid_core::model::UpsertAgent;
use skillgrid_store::*;

use super::db::TestDb;

fn upsert(email: &str, name: &str) -> UpsertAgent {
    UpsertAgent {
        email: email.into(),
        name: name.into(),
        external_id: None,
        active: None,
    }
}

async fn trail_and_events(s: &dyn Store, org: OrgId) -> (usize, Vec<&'static str>) {
    let mut trail = 0;
    let mut at = page(1000);
    loop {
        let p = s.admin_audit(org, None, at).await.unwrap();
        trail += p.items.len();
        match p.next {
            Some(next) => at.after = Some(next),
            None => break,
        }
    }
    let mut kinds = Vec::new();
    let mut after = 0;
    loop {
        let events = s.events_after(org, after, 500, None).await.unwrap();
        let Some(last) = events.last() else {
            return (trail, kinds);
        };
        after = last.sequence;
        kinds.extend(events.iter().map(|e| e.kind.as_str()));
    }
}

fn counts(done: &[Upserted]) -> (usize, usize, usize) {
    let mut c = (0, 0, 0);
    for d in done {
        match d {
            Upserted::Created(_) => c.0 += 1,
            Upserted::Updated(_) => c.1 += 1,
            Upserted::Unchanged(_) => c.2 += 1,
        }
    }
    c
}

#[tokio::test]
async fn many_agents_are_created_and_updated_by_email_with_their_trail_and_events() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = new_org(&*s, "o").await;
    let other = new_org(&*s, "other").await;
    let ana = new_agent(&*s, org, "ana@example.com").await;
    let theirs = new_agent(&*s, other, "ana@example.com").await;
    let (trail0, events0) = trail_and_events(&*s, org).await;

    // 1,200 agents: more than one statement's rows for the reads, writes and trail.
    let mut agents: Vec<UpsertAgent> = (0..1199)
        .map(|i| upsert(&format!("agent{i}@example.com"), &format!("Agent {i}")))
        .collect();
    agents.insert(
        700,
        UpsertAgent {
            active: Some(false),
            external_id: Some(Some("E-1".into())),
            ..upsert("ANA@example.com", "Ana")
        },
    );
    let dry = s
        .upsert_agents(org, &agents, true, &by("r-dry", 10))
        .await
        .unwrap();
    assert_eq!(counts(&dry), (1199, 1, 0));
    assert_eq!(trail_and_events(&*s, org).await, (trail0, events0.clone()));
    let filter = AgentFilter::default();
    let listed = s.list_agents(org, &filter, page(1000)).await.unwrap();
    assert_eq!(listed.items.len(), 1, "a dry run writes nothing");

    let done = s
        .upsert_agents(org, &agents, false, &by("r-bulk", 20))
        .await
        .unwrap();
    assert_eq!(counts(&done), (1199, 1, 0));
    let Upserted::Updated(a) = &done[700] else {
        panic!("{:?}", done[700])
    };
    assert_eq!(a.id, ana, "matched in any case");
    assert_eq!(
        (
            a.email.as_str(),
            a.name.as_str(),
            a.external_id.as_deref(),
            a.active
        ),
        ("ANA@example.com", "Ana", Some("E-1"), false)
    );
    let Upserted::Created(first) = &done[0] else {
        panic!("{:?}", done[0])
    };
    assert_eq!(s.get_agent(org, first.id).await.unwrap().name, "Agent 0");
    let (trail, events) = trail_and_events(&*s, org).await;
    assert_eq!(trail - trail0, 1200);
    let new: Vec<&str> = events[events0.len()..].to_vec();
    assert_eq!(new.len(), 1200);
    assert_eq!(new.iter().filter(|k| **k == "agent.updated").count(), 1);
    assert_eq!(new.iter().filter(|k| **k == "agent.created").count(), 1199);

    // The same again changes nothing and records nothing.
    let again = s
        .upsert_agents(org, &agents, false, &by("r-again", 30))
        .await
        .unwrap();
    assert_eq!(counts(&again), (0, 0, 1200));
    assert_eq!(trail_and_events(&*s, org).await.0, trail);

    // The other organization's agent with the same email is its own.
    let t = s.get_agent(other, theirs).await.unwrap();
    assert_eq!((t.email.as_str(), t.active), ("ana@example.com", true));
    let listed = s.list_agents(other, &filter, page(1000)).await.unwrap();
    assert_eq!(listed.items.len(), 1);
}
