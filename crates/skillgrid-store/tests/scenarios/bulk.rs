//! Writes of many agents at once: given as a slice, or produced while the write runs and kept
//! only when the producer says so.

use super::db::{on_postgres, TestDb};
use super::helpers::*;
use skillgrid_store::*;

#[tokio::test]
async fn bulk_write_of_many_agents() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = new_org(&*s, "o").await;
    let mut skills = Vec::new();
    for i in 0..20 {
        skills.push(new_skill(&*s, org, &format!("s{i}")).await);
    }
    let mut items = Vec::new();
    for i in 0..300 {
        let a = new_agent(&*s, org, &format!("a{i}@x")).await;
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
    let holders = s.skill_holders(org, skills[0], page(1000)).await.unwrap();
    assert_eq!(holders.items.len(), 300);
}

/// A streamed write takes every item its producer makes and keeps them as one write
/// (PostgreSQL collects them first, SQLite plans and writes them as they come); when the
/// producer does not say go, nothing is written.
#[tokio::test]
async fn streamed_writes_land_only_when_the_producer_says_go() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = new_org(&*s, "o").await;
    let skill = new_skill(&*s, org, "billing").await;
    let mut items = Vec::new();
    for i in 0..100 {
        let a = new_agent(&*s, org, &format!("a{i}@x")).await;
        items.push(replace(a, vec![asg(skill, i)], None));
    }
    for go in [false, true] {
        let produce: Producer<'_> = Box::new(|sink| {
            for chunk in items.chunks(30) {
                assert!(sink(chunk.to_vec()));
            }
            go
        });
        // The length of each call's items.
        let calls = std::sync::Mutex::new(Vec::new());
        let alongside = |i: &[AgentWrite], o: &[ItemOutcome]| {
            assert_eq!(i.len(), o.len());
            calls.lock().unwrap().push(i.len());
        };
        let w = s
            .write(
                WriteRequest::new(org, &ctx(1), Items::Produced(produce), opts()).sink(&alongside),
            )
            .await
            .unwrap();
        assert_eq!(w.produced.len(), 100);
        assert_eq!(w.result.as_ref().map(|r| r.committed), go.then_some(true));
        // The work beside the write is done only when the write goes ahead, and each call
        // is handed every item with its outcome. How many calls share that work is the
        // backend's: PostgreSQL makes one, while it writes the rows; SQLite's large-write path
        // makes one from each of its two threads, each taking its share.
        let calls = calls.into_inner().unwrap();
        assert_eq!(calls.is_empty(), !go, "{calls:?}");
        assert!(calls.iter().all(|n| *n == 100), "{calls:?}");
        if on_postgres() {
            assert_eq!(calls.len(), usize::from(go));
        }
        let holders = s.skill_holders(org, skill, page(1000)).await.unwrap();
        assert_eq!(holders.items.len(), if go { 100 } else { 0 });
    }
}
