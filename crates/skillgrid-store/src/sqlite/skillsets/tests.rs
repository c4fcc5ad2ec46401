//! The skill-set writes on SQLite as the store runs them, through `Store::write` on a store
//! of its own file: the small path and the pipeline, at the chunk sizes production uses (a
//! write that must span several chunks writes enough agents to do so).

use crate::sqlite::SqliteStore;
use crate::tuning::PLAN_CHUNK;
use crate::*;
use skillgrid_core::model::Precondition;

/// Agents enough for a pipelined write of several chunks, at the chunk size production uses.
const SPANS_CHUNKS: usize = 2 * PLAN_CHUNK + 6;

/// An organization with 3 skills and `n` agents, on a fresh file.
async fn seeded(
    n: usize,
) -> (
    tempfile::TempDir,
    SqliteStore,
    OrgId,
    Vec<SkillId>,
    Vec<AgentId>,
) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    let (org, skills, agents) = crate::seed::seed(&store, n, Timestamp(1_700_000_000_000)).await;
    (dir, store, org, skills, agents)
}

fn every_skill(agents: &[AgentId], skills: &[SkillId], proficiency: i64) -> Vec<AgentWrite> {
    use skillgrid_core::model::{Assignment, SkillSetWrite};
    agents
        .iter()
        .map(|a| AgentWrite {
            agent_id: *a,
            write: SkillSetWrite::Replace(
                skills
                    .iter()
                    .map(|s| Assignment {
                        proficiency,
                        ..Assignment::omitted(*s, proficiency)
                    })
                    .collect(),
            ),
            if_match: None,
        })
        .collect()
}

fn ctx() -> WriteContext {
    WriteContext {
        request_id: "req".into(),
        client_id: ClientId::new(Uuid::nil()),
        now: Timestamp(1_700_000_000_000),
    }
}

const OPTS: WriteOptions = WriteOptions {
    dry_run: false,
    atomic: true,
    max_skills_per_agent: 100,
    return_sets: false,
    inactive_ok: false,
};

async fn rows(store: &SqliteStore, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&store.read)
        .await
        .unwrap()
}

async fn foreign_keys_on(store: &SqliteStore) -> bool {
    sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&store.write)
        .await
        .unwrap()
}

/// Makes every audit row refused (`on`), so that a write fails after its assignments are
/// in; or lets them in again.
async fn refuse_audit(store: &SqliteStore, on: bool) {
    let sql = if on {
        "CREATE TRIGGER refuse BEFORE INSERT ON audit_sets
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    } else {
        "DROP TRIGGER refuse"
    };
    sqlx::query(sql).execute(&store.write).await.unwrap();
}

/// After a write that [`refuse_audit`] failed: nothing of it is kept and the checks are on;
/// then, audit rows let in again, the same write of every skill lands.
async fn kept_nothing_then_lands(
    store: &SqliteStore,
    org: OrgId,
    skills: &[SkillId],
    agents: &[AgentId],
) -> WriteResult {
    assert_eq!(rows(store, "assignments").await, 0);
    assert!(foreign_keys_on(store).await);
    refuse_audit(store, false).await;
    let items = every_skill(agents, skills, 3);
    store
        .write_skill_sets(org, &ctx(), &items, OPTS)
        .await
        .unwrap()
}

/// Large writes skip the per-row foreign-key checks (their keys come from the same
/// transaction): what they write still satisfies every foreign key, and the writer checks
/// them again afterwards.
#[tokio::test]
async fn a_large_write_leaves_consistent_rows_and_the_checks_on() {
    let (_dir, store, org, skills, agents) = seeded(SPANS_CHUNKS).await;
    let r = store
        .write_skill_sets(org, &ctx(), &every_skill(&agents, &skills, 3), OPTS)
        .await
        .unwrap();
    assert!(r.committed);
    let held = rows(&store, "assignments").await;
    assert_eq!(held as usize, agents.len() * skills.len());
    let broken: Vec<(String,)> = sqlx::query_as("PRAGMA foreign_key_check")
        .fetch_all(&store.write)
        .await
        .unwrap();
    assert!(broken.is_empty(), "{broken:?}");
    assert!(foreign_keys_on(&store).await);
    // And they are enforced: an assignment of an agent that does not exist is refused.
    let orphan = sqlx::query(
        "INSERT INTO assignments (agent_id, skill_id, proficiency, updated_at)
         SELECT 999999, id, 1, 0 FROM skills LIMIT 1",
    )
    .execute(&store.write)
    .await;
    assert!(orphan.is_err(), "the orphan row was accepted");
}

/// A large write that fails half-way keeps nothing and leaves the checks on.
#[tokio::test]
async fn a_large_write_that_fails_keeps_nothing_and_the_checks_on() {
    let (_dir, store, org, skills, agents) = seeded(SPANS_CHUNKS).await;
    // The assignments are in by the time the audit rows are written: fail there.
    refuse_audit(&store, true).await;
    let e = store
        .write_skill_sets(org, &ctx(), &every_skill(&agents, &skills, 3), OPTS)
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("refused by the test"), "{e:#}");
    let r = kept_nothing_then_lands(&store, org, &skills, &agents).await;
    assert!(r.committed);
}

fn applied(o: &ItemOutcome) -> (i64, usize, usize) {
    match o {
        ItemOutcome::Applied { version, plan, .. } => {
            (*version, plan.added.len(), plan.updated.len())
        }
        other => panic!("not applied: {other:?}"),
    }
}

/// A large write is planned in chunks while earlier chunks are written: every item is
/// decided from the state before the write, the rows and audit entries all land, and the
/// caller's work beside the write sees every outcome once.
#[tokio::test]
async fn a_pipelined_write_spanning_chunks_lands_whole_and_is_seen_alongside() {
    let (_dir, store, org, skills, agents) = seeded(SPANS_CHUNKS).await;
    let seen = std::sync::Mutex::new(Vec::new());
    let alongside = |_: &[AgentWrite], o: &[ItemOutcome]| seen.lock().unwrap().push(o.len());
    let write = |proficiency| {
        let items = every_skill(&agents, &skills, proficiency);
        let (store, alongside) = (&store, &alongside);
        async move {
            let (items, ctx) = (Items::Slice(&items), ctx());
            let w = store.write(WriteRequest::new(org, &ctx, items, OPTS).sink(alongside));
            w.await.unwrap().result.unwrap()
        }
    };
    let first = write(3).await;
    assert!(first.committed);
    // Once by the planner's thread, once by the writer's after the commit.
    assert_eq!(*seen.lock().unwrap(), vec![agents.len(); 2]);
    assert!(first.items.iter().all(|o| applied(o) == (1, 3, 0)));
    // Again with other values: each item is an update of what the first write stored.
    let second = write(4).await;
    assert!(second.items.iter().all(|o| applied(o) == (2, 0, 3)));
    // Every third agent: keys too far apart to read as one range.
    let sparse: Vec<AgentId> = agents.iter().step_by(3).copied().collect();
    let r = store
        .write_skill_sets(org, &ctx(), &every_skill(&sparse, &skills, 5), OPTS)
        .await
        .unwrap();
    assert!(r.items.iter().all(|o| applied(o) == (3, 0, 3)));
    let r = store
        .write_skill_sets(org, &ctx(), &every_skill(&agents, &skills, 4), OPTS)
        .await
        .unwrap();
    let reverted = r.items.iter().filter(|o| applied(o) == (4, 0, 3)).count();
    assert_eq!(reverted, sparse.len());
    for a in [agents[1], agents[40], agents[68]] {
        let set = store.agent_skills(org, a).await.unwrap();
        assert_eq!(set.version, 2);
        assert!(set.skills.iter().all(|s| s.proficiency == 4));
        let history = store
            .agent_history(
                org,
                a,
                PageRequest {
                    after: None,
                    limit: 100,
                },
            )
            .await
            .unwrap();
        assert_eq!(history.items.len(), 6);
        // Rows of a large write leave their request, client, time and agent to their
        // write's row and name skills by their place in its list: read back whole.
        let newest = &history.items[0];
        assert_eq!(
            (
                newest.request_id.as_str(),
                newest.client_id,
                newest.agent_id,
                newest.at
            ),
            ("req", ctx().client_id, a, ctx().now)
        );
        assert!(matches!(newest.action, AuditAction::Updated));
        let (before, after) = (newest.before.unwrap(), newest.after.unwrap());
        assert_eq!((before.proficiency, after.proficiency), (3, 4));
        assert!(skills.contains(&newest.skill_id));
        assert_eq!(before.skill_id, newest.skill_id);
        let mut named: Vec<SkillId> = history.items[..3].iter().map(|e| e.skill_id).collect();
        named.sort();
        let mut all = skills.clone();
        all.sort();
        assert_eq!(named, all);
    }
    // The organization's log lists every entry, the large writes' too, oldest first, and
    // `since` filters on their write's time.
    let all = PageRequest {
        after: None,
        limit: 10_000,
    };
    let log = store.audit_log(org, None, all).await.unwrap();
    let expected = 2 * agents.len() * 3 + 2 * sparse.len() * 3;
    assert_eq!(log.items.len(), expected);
    assert!(log
        .items
        .iter()
        .all(|e| e.request_id == "req" && e.at == ctx().now));
    let compact: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_sets
         WHERE write_id IS NOT NULL AND request_id IS NULL AND agent_uuid IS NULL",
    )
    .fetch_one(&store.read)
    .await
    .unwrap();
    // Every write above is large: the first two rows of each agent, the sparse write's and
    // the last write's (which changed the sparse agents only).
    assert_eq!(
        compact as usize,
        2 * agents.len() + 2 * sparse.len(),
        "the large writes' rows"
    );
    let later = Timestamp(ctx().now.0 + 1);
    assert!(store
        .audit_log(org, Some(later), all)
        .await
        .unwrap()
        .items
        .is_empty());
    // The same write once more changes nothing: not committed, nothing seen beside it.
    let third = write(4).await;
    assert!(!third.committed);
    assert_eq!(seen.lock().unwrap().len(), 4);
}

/// A write of `items` that is not to be kept: its work beside the write is never called.
async fn not_kept(
    store: &SqliteStore,
    org: OrgId,
    items: &[AgentWrite],
    opts: WriteOptions,
) -> WriteResult {
    let never = |_: &[AgentWrite], _: &[ItemOutcome]| panic!("called for a write not kept");
    let ctx = ctx();
    let request = WriteRequest::new(org, &ctx, Items::Slice(items), opts).sink(&never);
    store.write(request).await.unwrap().result.unwrap()
}

/// An atomic large write whose failing item is in a late chunk, after earlier chunks were
/// written, keeps nothing and still reports every item; a non-atomic one writes the rest.
#[tokio::test]
async fn a_late_failure_undoes_a_pipelined_atomic_write_and_skips_one_item_otherwise() {
    let (_dir, store, org, skills, agents) = seeded(SPANS_CHUNKS).await;
    let mut items = every_skill(&agents, &skills, 3);
    let late = items.len() - 2;
    items[late].if_match = Some(Precondition::Version(41));
    let r = not_kept(&store, org, &items, OPTS).await;
    assert!(!r.committed);
    assert_eq!(r.items.len(), items.len());
    assert!(matches!(
        r.items[late],
        ItemOutcome::PreconditionFailed { current: 0 }
    ));
    let held = rows(&store, "assignments").await;
    assert_eq!(held, 0);
    let audit = rows(&store, "audit_sets").await;
    assert_eq!(audit, 0);
    // A dry run decides everything and keeps nothing.
    let dry = WriteOptions {
        dry_run: true,
        ..OPTS
    };
    let all = every_skill(&agents, &skills, 3);
    let r = not_kept(&store, org, &all, dry).await;
    assert!(!r.committed);
    assert!(r.items.iter().all(|o| applied(o) == (0, 3, 0)));
    // Not atomic: the stale item alone is left out.
    let loose = WriteOptions {
        atomic: false,
        ..OPTS
    };
    let r = store
        .write_skill_sets(org, &ctx(), &items, loose)
        .await
        .unwrap();
    assert!(r.committed);
    let held = rows(&store, "assignments").await;
    assert_eq!(held as usize, (agents.len() - 1) * skills.len());
    assert!(store
        .agent_skills(org, agents[late])
        .await
        .unwrap()
        .skills
        .is_empty());
}

/// A streamed write of `items`, produced in chunks of `sizes` (cycled) with a pause after
/// each; the producer then says `go`.
async fn streamed(
    store: &SqliteStore,
    org: OrgId,
    items: Vec<AgentWrite>,
    sizes: &[usize],
    go: bool,
    opts: WriteOptions,
    alongside: &OutcomeSink<'_>,
) -> Written {
    let sizes = sizes.to_vec();
    let produce: Producer<'_> = Box::new(move |sink| {
        let mut rest = items;
        for n in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let tail = rest.split_off((*n).min(rest.len()));
            assert!(sink(std::mem::replace(&mut rest, tail)));
            // The write is under way while the rest is still to come.
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        go
    });
    store
        .write(WriteRequest::new(org, &ctx(), Items::Produced(produce), opts).sink(alongside))
        .await
        .unwrap()
}

/// A streamed write plans and writes its items as they are made, in chunks of any size, and
/// lands whole once its producer says go; the work beside it sees every item and outcome.
#[tokio::test]
async fn a_streamed_write_lands_whole_once_its_producer_says_go() {
    let (_dir, store, org, skills, agents) = seeded(SPANS_CHUNKS).await;
    let seen = std::sync::Mutex::new(Vec::new());
    let alongside = |i: &[AgentWrite], o: &[ItemOutcome]| {
        seen.lock().unwrap().push((i.len(), o.len()));
    };
    let items = every_skill(&agents, &skills, 3);
    let w = streamed(
        &store,
        org,
        items.clone(),
        &[1, 7, 30],
        true,
        OPTS,
        &alongside,
    )
    .await;
    let order: Vec<AgentId> = w.produced.iter().map(|i| i.agent_id).collect();
    assert_eq!(order, agents);
    let r = w.result.expect("the feed said go");
    assert!(r.committed);
    assert!(r.items.iter().all(|o| applied(o) == (1, 3, 0)));
    assert_eq!(*seen.lock().unwrap(), vec![(agents.len(), agents.len()); 2]);
    assert_eq!(
        rows(&store, "assignments").await as usize,
        agents.len() * skills.len()
    );
    assert_eq!(rows(&store, "audit_sets").await as usize, agents.len());
    assert!(foreign_keys_on(&store).await);
    // A streamed write that fails an item of an atomic write keeps nothing.
    let mut stale = every_skill(&agents, &skills, 4);
    stale[50].if_match = Some(Precondition::Version(7));
    let w = streamed(&store, org, stale, &[16], true, OPTS, &alongside).await;
    let r = w.result.unwrap();
    assert!(!r.committed);
    assert!(matches!(
        r.items[50],
        ItemOutcome::PreconditionFailed { current: 1 }
    ));
    assert_eq!(seen.lock().unwrap().len(), 2);
    let set = store.agent_skills(org, agents[0]).await.unwrap();
    assert_eq!(set.version, 1);
    assert!(set.skills.iter().all(|s| s.proficiency == 3));
}

/// Rows a streamed write has already written are dropped when its producer does not say
/// go, and a producer stops being asked for items once the write has failed.
#[tokio::test]
async fn a_streamed_write_keeps_nothing_unless_its_producer_says_go() {
    let (_dir, store, org, skills, agents) = seeded(SPANS_CHUNKS).await;
    let never = |_: &[AgentWrite], _: &[ItemOutcome]| panic!("called for a write not kept");
    let items = every_skill(&agents, &skills, 3);
    let w = streamed(&store, org, items, &[16], false, OPTS, &never).await;
    assert!(w.result.is_none());
    assert_eq!(w.produced.len(), agents.len());
    assert_eq!(rows(&store, "assignments").await, 0);
    assert_eq!(rows(&store, "audit_sets").await, 0);
    assert_eq!(store.agent_skills(org, agents[3]).await.unwrap().version, 0);
    assert!(foreign_keys_on(&store).await);
    // The writer fails on its first audit row: the producer hears it and stops.
    refuse_audit(&store, true).await;
    let items = every_skill(&agents, &skills, 3);
    let refused = std::sync::atomic::AtomicBool::new(false);
    let produce: Producer<'_> = Box::new(|sink| {
        for chunk in items.chunks(4) {
            if !sink(chunk.to_vec()) {
                refused.store(true, std::sync::atomic::Ordering::Relaxed);
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        true
    });
    // (The work beside may have been called if every item was planned before the writer
    // failed: the write's error is still the answer.)
    let beside = |_: &[AgentWrite], _: &[ItemOutcome]| {};
    let e = store
        .write(WriteRequest::new(org, &ctx(), Items::Produced(produce), OPTS).sink(&beside))
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("refused by the test"), "{e:#}");
    assert!(refused.load(std::sync::atomic::Ordering::Relaxed));
    let r = kept_nothing_then_lands(&store, org, &skills, &agents).await;
    assert!(r.items.iter().all(|o| applied(o) == (1, 3, 0)));
}

/// The API never sends one agent twice in a write, but the store takes it: the later item
/// applies over the earlier one's rows (small and pipelined writes alike).
#[tokio::test]
async fn an_agent_in_two_items_of_one_write_is_written_without_error() {
    let (_dir, store, org, skills, agents) = seeded(SPANS_CHUNKS).await;
    for n in [2, agents.len()] {
        let mut items = every_skill(&agents[..n - 1], &skills, 3);
        items.extend(every_skill(&agents[..1], &skills, 3));
        let r = store
            .write_skill_sets(org, &ctx(), &items, OPTS)
            .await
            .unwrap();
        assert!(r.committed, "{n} items");
    }
    assert_eq!(
        rows(&store, "assignments").await as usize,
        (agents.len() - 1) * skills.len()
    );
}

/// A large write reads its agents by scanning their ids when they are neighbours, one by
/// one otherwise; either way an agent of another organization, even one whose id lies
/// among them, reads as missing, and one named twice in a chunk is written once.
#[tokio::test]
async fn agents_are_found_by_a_scan_or_one_by_one_and_other_organizations_stay_out() {
    use skillgrid_core::model::NewAgent;
    let (_dir, store, org, skills, mut agents) = seeded(SPANS_CHUNKS).await;
    let other = store
        .create_org("other", &OrgSettings::default())
        .await
        .unwrap()
        .id;
    let new = |i: usize| NewAgent {
        email: format!("late{i}@example.com"),
        name: format!("Late {i}"),
        external_id: None,
    };
    let now = Timestamp(1_700_000_000_000);
    // Another organization's agent, created among the last of this one's: its id lies
    // inside the range a scan of the last chunk reads.
    let foreign = store.create_agent(other, &new(0), now).await.unwrap().id;
    for i in 1..6 {
        agents.push(store.create_agent(org, &new(i), now).await.unwrap().id);
    }
    let ghost = AgentId::new(Uuid::now_v7());
    let loose = WriteOptions {
        atomic: false,
        ..OPTS
    };
    for (name, ids) in [
        ("neighbours", agents.clone()),
        (
            "sparse",
            agents.iter().step_by(5).copied().collect::<Vec<_>>(),
        ),
    ] {
        let mut items = every_skill(&ids, &skills, 3);
        // In the last chunk of the planner, among the organization's own: another's agent,
        // one that does not exist, and an agent named twice.
        let at = items.len() - 3;
        items.insert(at, every_skill(&[foreign], &skills, 3).remove(0));
        items.insert(at + 1, every_skill(&[ghost], &skills, 3).remove(0));
        let twice = ids[ids.len() - 2];
        items.push(every_skill(&[twice], &skills, 9).remove(0));
        let r = store
            .write_skill_sets(org, &ctx(), &items, loose)
            .await
            .unwrap();
        assert!(r.committed, "{name}");
        assert!(matches!(r.items[at], ItemOutcome::NotFound), "{name}");
        assert!(matches!(r.items[at + 1], ItemOutcome::NotFound), "{name}");
        assert_eq!(
            r.items
                .iter()
                .filter(|o| matches!(o, ItemOutcome::Applied { .. }))
                .count(),
            ids.len() + 1,
            "{name}"
        );
        let set = store.agent_skills(org, twice).await.unwrap();
        assert!(set.skills.iter().all(|s| s.proficiency == 9), "{name}");
        let last = store.agent_skills(org, *ids.last().unwrap()).await.unwrap();
        assert_eq!(last.skills.len(), skills.len(), "{name}");
        assert!(store
            .agent_skills(other, foreign)
            .await
            .unwrap()
            .skills
            .is_empty());
        // Back to a clean slate for the next round.
        let clear: Vec<AgentWrite> = every_skill(&agents, &[], 0);
        store
            .write_skill_sets(org, &ctx(), &clear, OPTS)
            .await
            .unwrap();
    }
}
