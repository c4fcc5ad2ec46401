//! Pruning what grows with traffic, checked the same way on every backend: audit rows past a
//! retention go in batches, oldest first, and nothing newer or of another organization goes
//! with them; expired idempotency keys go in batches and live ones stay.

use super::db::TestDb;
use super::helpers::{asg, new_org, Org};
use skillgrid_core::model::{AgentId, NewSkill, OrgId, SkillSetWrite};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::*;
use uuid::Uuid;

const HOUR: i64 = 3600 * 1000;
/// Agents of the large write: more than a backend writes in its small-write path.
const MANY: usize = 100;

/// Sets `agents`' proficiency to `p` at `at`: one audit row per agent.
async fn write(s: &dyn Store, o: &Org, agents: &[AgentId], p: i64, at: i64) {
    o.write_at(s, agents, at, |_| {
        SkillSetWrite::Replace(vec![asg(o.skills[0], p)])
    })
    .await;
}

/// Every audit entry of the organization: (when, proficiency after).
async fn audit(s: &dyn Store, org: OrgId) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .audit_log(org, None, PageRequest { after, limit: 1000 })
            .await
            .unwrap();
        out.extend(
            page.items
                .iter()
                .map(|e| (e.at.0, e.after.as_ref().map_or(-1, |a| a.proficiency))),
        );
        match page.next {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
}

#[tokio::test]
async fn audit_past_retention_goes_oldest_first_in_batches() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let s = &*store;
    let now = 1_000 * HOUR;
    let ours = Org::new(s, "ours", 1, MANY).await;
    let theirs = Org::new(s, "theirs", 1, MANY).await;
    // Old: a large write (every agent), then small ones; new: one of each.
    write(s, &ours, &ours.agents, 10, now - 50 * HOUR).await;
    for (i, a) in ours.agents.iter().take(5).enumerate() {
        write(s, &ours, &[*a], 20 + i as i64, now - 40 * HOUR).await;
    }
    write(s, &ours, &ours.agents, 30, now - HOUR).await;
    write(s, &ours, &ours.agents[..1], 40, now).await;
    write(s, &theirs, &theirs.agents, 10, now - 50 * HOUR).await;
    let their_audit = audit(s, theirs.id).await;
    let kept: Vec<(i64, i64)> = audit(s, ours.id)
        .await
        .into_iter()
        .filter(|e| e.0 >= now - 24 * HOUR)
        .collect();
    assert_eq!(kept.len(), MANY + 1);

    // Nothing is old enough yet.
    let before = Timestamp(now - 60 * HOUR);
    assert_eq!(s.prune_audit(ours.id, before, 7).await.unwrap(), 0);
    assert_eq!(audit(s, ours.id).await.len(), 2 * MANY + 6);

    // Batches of 7 rows, each at most that, until one is short; then nothing is left to go.
    let before = Timestamp(now - 24 * HOUR);
    let mut batches = Vec::new();
    loop {
        let n = s.prune_audit(ours.id, before, 7).await.unwrap();
        batches.push(n);
        if n < 7 {
            break;
        }
    }
    assert!(batches.iter().all(|n| *n <= 7), "{batches:?}");
    assert_eq!(batches.iter().sum::<u64>(), MANY as u64 + 5, "{batches:?}");
    assert_eq!(s.prune_audit(ours.id, before, 7).await.unwrap(), 0);
    assert_eq!(audit(s, ours.id).await, kept);
    let history = s
        .agent_history(
            ours.id,
            ours.agents[0],
            PageRequest {
                after: None,
                limit: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        history.items.iter().map(|e| e.at.0).collect::<Vec<_>>(),
        [now, now - HOUR]
    );
    // Another organization's entries, as old, stay.
    assert_eq!(audit(s, theirs.id).await, their_audit);
    // Writes after pruning are audited as before.
    write(s, &ours, &ours.agents, 50, now + 1).await;
    assert_eq!(audit(s, ours.id).await.len(), kept.len() + MANY);

    // A large write's shared values are kept in a table of their own (`audit_writes`, beside
    // its rows in `audit_sets`): they go with the write's last row, and no row is left without
    // them.
    assert_eq!(
        db.count(
            "SELECT count(*) FROM audit_writes w
              WHERE NOT EXISTS (SELECT 1 FROM audit_sets s WHERE s.write_id = w.id)"
        )
        .await,
        0
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM audit_sets s WHERE s.write_id IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM audit_writes w WHERE w.id = s.write_id)"
        )
        .await,
        0
    );
    assert!(db.count("SELECT count(*) FROM audit_writes").await > 0);
}

#[tokio::test]
async fn expired_idempotency_keys_go_in_batches() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let s = &*store;
    let now = 1_000 * HOUR;
    let o = new_org(s, "keys").await;
    let client = ClientId::new(Uuid::new_v4());
    for i in 0..5 {
        let claimed = s
            .idempotency_begin(
                o,
                client,
                &format!("old-{i}"),
                "fp",
                Timestamp(now - 25 * HOUR),
            )
            .await
            .unwrap();
        assert_eq!(claimed, IdempotencyBegin::Fresh);
    }
    s.idempotency_complete(o, client, "old-0", 200, b"{}")
        .await
        .unwrap();
    let live = Timestamp(now - HOUR);
    assert_eq!(
        s.idempotency_begin(o, client, "live", "fp", live)
            .await
            .unwrap(),
        IdempotencyBegin::Fresh
    );
    s.idempotency_complete(o, client, "live", 201, b"kept")
        .await
        .unwrap();

    let before = Timestamp(now - 24 * HOUR);
    let mut batches = Vec::new();
    loop {
        let n = s.prune_idempotency(before, 2).await.unwrap();
        batches.push(n);
        if n < 2 {
            break;
        }
    }
    assert_eq!(batches, [2, 2, 1]);
    assert_eq!(s.prune_idempotency(before, 2).await.unwrap(), 0);
    // The live key still replays its answer.
    assert_eq!(
        s.idempotency_begin(o, client, "live", "fp", Timestamp(now))
            .await
            .unwrap(),
        IdempotencyBegin::Replay {
            status: 201,
            body: b"kept".to_vec()
        }
    );
}

/// When each entry of the organization's trails of skills (and so on) and of clients was made.
async fn admin_trails(s: &dyn Store, org: OrgId) -> (Vec<i64>, Vec<i64>) {
    let page = PageRequest {
        after: None,
        limit: 1000,
    };
    let admin = s.admin_audit(org, None, page).await.unwrap();
    let clients = s.client_audit(org, None, page).await.unwrap();
    (
        admin.items.iter().map(|e| e.at.0).collect(),
        clients.items.iter().map(|e| e.at.0).collect(),
    )
}

#[tokio::test]
async fn admin_and_client_trails_past_retention_go_in_batches() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let s = &*store;
    let now = 1_000 * HOUR;
    let ours = new_org(s, "ours").await;
    let theirs = new_org(s, "theirs").await;
    for (org, tag) in [(ours, "o"), (theirs, "t")] {
        for (i, at) in [
            now - 50 * HOUR,
            now - 40 * HOUR,
            now - 30 * HOUR,
            now - HOUR,
        ]
        .into_iter()
        .enumerate()
        {
            let by = ChangedBy::direct("r", Timestamp(at));
            let new = NewSkill {
                name: format!("{tag}{i}"),
                description: None,
            };
            s.create_skill_by(org, &new, &by).await.unwrap();
            s.create_client(org, &format!("{tag}{i}"), "hash", &[], &by)
                .await
                .unwrap();
        }
    }
    let before = Timestamp(now - 24 * HOUR);
    // Six old entries in all (three a trail): a batch of 4 takes the trail of skills' three
    // and one of the clients', the next the other two, the third finds nothing.
    assert_eq!(s.prune_admin_trails(ours, before, 4).await.unwrap(), 4);
    assert_eq!(s.prune_admin_trails(ours, before, 4).await.unwrap(), 2);
    assert_eq!(s.prune_admin_trails(ours, before, 4).await.unwrap(), 0);
    let kept = vec![now - HOUR];
    assert_eq!(admin_trails(s, ours).await, (kept.clone(), kept));
    // The other organization's trails are whole.
    let (admin, clients) = admin_trails(s, theirs).await;
    assert_eq!((admin.len(), clients.len()), (4, 4));
}
