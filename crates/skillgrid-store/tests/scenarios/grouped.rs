//! Small writes arriving together, each with its own outcome.

use super::db::{on_postgres, TestDb};
use super::helpers::*;
use skillgrid_core::model::{AgentId, AgentPatch, Precondition};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::*;
use uuid::Uuid;

/// Small writes made at once are written together (group commit), and each keeps its own
/// outcome: a failed precondition, an inactive or unknown agent, a skill deleted meanwhile or
/// a dry run changes nothing and touches none of the others; writes to one agent are all
/// applied, one after another.
#[tokio::test]
async fn small_writes_at_once_are_grouped_and_each_keeps_its_outcome() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = new_org(&*s, "o").await;
    let skills = [
        new_skill(&*s, org, "a").await,
        new_skill(&*s, org, "b").await,
        new_skill(&*s, org, "c").await,
        new_skill(&*s, org, "d").await,
    ];
    let gone = new_skill(&*s, org, "gone").await;
    s.delete_skill(org, gone).await.unwrap();
    let mut agents = Vec::new();
    for i in 0..30 {
        agents.push(new_agent(&*s, org, &format!("a{i}@x")).await);
    }
    let inactive = new_agent(&*s, org, "off@x").await;
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
    let settled = new_agent(&*s, org, "settled@x").await;
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
    let held: Vec<(SkillId, i64)> = first
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
    // Only PostgreSQL shows which transaction wrote a row; SQLite's rows keep no trace of it.
    if on_postgres() {
        let transactions = db
            .count(
                "SELECT count(DISTINCT xmin::text) FROM audit_sets WHERE request_id <> 'req-300'",
            )
            .await;
        assert!(transactions <= 12, "{transactions} transactions");
    }
}
