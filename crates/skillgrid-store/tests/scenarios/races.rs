//! Writes racing each other from two stores on one database, as two processes would be:
//! versions stay exact, and a skill's deletion and the writes assigning it never leave an
//! assignment behind.

use super::db::TestDb;
use super::helpers::new_org;
use super::helpers::*;
use skillgrid_core::model::Precondition;
use skillgrid_store::*;

/// Two stores write the same agents at once, round after round, each on a precondition of
/// the version both read: exactly one wins each round and the other's precondition fails on
/// the version the winner made; an agent written by both without a precondition takes both
/// writes, whichever order they list it in; and the audit holds the winners' changes only.
#[tokio::test]
async fn concurrent_writers_in_two_processes() {
    let db = TestDb::new().await;
    // Two pools: as two server processes would be.
    let s1 = db.store().await;
    let s2 = db.store().await;
    let org = new_org(&*s1, "o").await;
    let mut skills = Vec::new();
    for i in 0..5 {
        skills.push(new_skill(&*s1, org, &format!("s{i}")).await);
    }
    let agent = new_agent(&*s1, org, "a@x").await;
    let other = new_agent(&*s1, org, "b@x").await;

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
}

/// A skill's deletion and the writes that assign it are kept apart: on SQLite by its one
/// writer and its foreign keys, on PostgreSQL (whose assignments have no foreign keys since its
/// migration 0003) by the organization's lock. Raced many times from two stores, every deletion
/// either refuses (the skill is held) or leaves no assignment of it behind, and every write
/// either lands or answers 409.
#[tokio::test]
async fn deleting_skills_while_writing_them_never_leaves_an_assignment_behind() {
    let db = TestDb::new().await;
    let (s1, s2) = (db.store().await, db.store().await);
    let org = new_org(&*s1, "o").await;
    let agents = [
        new_agent(&*s1, org, "a@x").await,
        new_agent(&*s1, org, "b@x").await,
    ];
    let (mut deleted, mut refused, mut conflicts) = (0, 0, 0);
    for round in 0..30 {
        let skill = new_skill(&*s1, org, &format!("race {round}")).await;
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
        match s1.delete_skill(org, skill).await {
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
    let orphans = db
        .count(
            "SELECT count(*) FROM assignments a
              WHERE NOT EXISTS (SELECT 1 FROM skills s WHERE s.id = a.skill_id)
                 OR NOT EXISTS (SELECT 1 FROM agents g WHERE g.id = a.agent_id)",
        )
        .await;
    assert_eq!(orphans, 0);
    // Deleted skills are exactly the writes that found their skill gone.
    assert_eq!(deleted, conflicts);
    assert_eq!(deleted + refused, 30);
}
