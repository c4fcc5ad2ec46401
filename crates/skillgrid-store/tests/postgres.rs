//! The PostgreSQL store's test binary: the store's scenarios (`scenarios/`, shared with
//! `sqlite.rs`), each on a database of its own on the server `SKILLGRID_TEST_POSTGRES_URL`
//! names (see `scenarios/db.rs`), and what only PostgreSQL does: writes waiting for rows
//! another connection has locked, refusing to create a database, and its own form of the
//! audit view's rows.

#[path = "scenarios/mod.rs"]
mod scenarios;

use scenarios::audit_view;
use scenarios::db::TestDb;
use scenarios::helpers::*;
use skillgrid_core::api::OrgSettings;
use skillgrid_core::model::AgentId;
use skillgrid_store::postgres::PgStore;
use skillgrid_store::*;
use sqlx::Connection;
use uuid::Uuid;

/// A group of small writes that waits for a row another process has locked holds up only the
/// writes in it: small writes to other agents, of the same organization or another, go on.
///
/// PostgreSQL only: it locks agents' rows, and a connection outside the store can hold one.
/// SQLite locks the whole database for a write, so there every write waits for any other.
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
        let skill = new_skill(&*s, org, "s").await;
        orgs.push((org, skill));
    }
    let (org, skill) = orgs[0];
    let locked = new_agent(&*s, org, "locked@x").await;
    let free = new_agent(&*s, org, "free@x").await;
    let (org2, skill2) = orgs[1];
    let elsewhere = new_agent(&*s, org2, "other@x").await;

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
}

/// A small write whose request goes away while it waits for a group to take it (a client that
/// disconnected) is not written later by the group that would have taken it.
///
/// PostgreSQL only: the groups are held up by rows another connection has locked, which is
/// how a write is made to wait there; SQLite has no row locks to hold a group with.
#[tokio::test]
async fn a_write_abandoned_before_a_group_took_it_is_never_written() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = s.create_org("o", &OrgSettings::default()).await.unwrap().id;
    let skill = new_skill(&*s, org, "s").await;
    // More locked agents than there can be leaders (a quarter of a pool of at most 32): every
    // leader waits, and later writes queue.
    let mut locked = Vec::new();
    for i in 0..10 {
        locked.push(new_agent(&*s, org, &format!("l{i}@x")).await);
    }
    let abandoned = new_agent(&*s, org, "gone@x").await;
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
    let after = new_agent(&*s, org, "after@x").await;
    assert!(write(after).await.unwrap().unwrap().committed);
    assert_eq!(s.agent_skills(org, abandoned).await.unwrap().version, 0);
    holder.close().await.ok();
}

/// Told not to create one, the store opens only a database skillgrid set up, and creates no
/// table in one it refuses.
///
/// PostgreSQL's own: what is refused is an empty database on a server (SQLite's test, on
/// files, is in `sqlite.rs`).
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
        Ok(NoDatabase::Unmigrated(name)) => assert_eq!(name, db.name()),
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
}

/// The `audit_entries` view lists every entry as the store does: the binary form of small
/// writes and the listed form of large ones (the text form of migrated rows is checked
/// beside the migration's own test).
///
/// Per backend: the view is each backend's own SQL, read here with its own column types
/// (uuids, times); the writes and the comparison with the store are shared
/// (`scenarios/audit_view.rs`).
#[tokio::test]
async fn the_audit_entries_view_lists_what_the_store_lists() {
    use sqlx::Row;
    let db = TestDb::new().await;
    let s = db.store().await;
    let orgs = audit_view::write_every_kind(s.as_ref()).await;
    let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let forms: Vec<(i32, i32)> = sqlx::query_as(
        "SELECT get_byte(entries, 0), max(length(entries)) FROM audit_sets GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    assert_eq!(
        forms.iter().map(|f| f.0).collect::<Vec<_>>(),
        [1, 2],
        "both binary forms written"
    );
    // Rows longer than the part of a value the view reads at a time.
    assert!(forms.iter().all(|f| f.1 > 512), "{forms:?}");
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
}
