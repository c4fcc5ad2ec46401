//! The SQLite store's test binary: the store's scenarios (`scenarios/`, shared with
//! `postgres.rs`) on a real database file each, and what only SQLite does: what opening does
//! to the files, a full disk, and its own form of the audit view's rows.

#[path = "scenarios/mod.rs"]
mod scenarios;

use scenarios::{audit_view, db::TestDb};
use skillgrid_store::sqlite::SqliteStore;

/// Told not to create one, the store opens only a database skillgrid set up, and refusing
/// leaves a file that is another program's exactly as it was, without `-wal` or `-shm` files.
///
/// SQLite's own: a database here is a file, with its journal files beside it.
#[tokio::test]
async fn refusing_to_create_leaves_every_file_as_it_was() {
    use skillgrid_store::{IfMissing, NoDatabase, Store};
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let refusal = |e: anyhow::Error| match e.downcast::<NoDatabase>() {
        Ok(NoDatabase::NoFile(p)) => format!("no file {}", p.display()),
        Ok(NoDatabase::NotSkillgrid(p)) => format!("not skillgrid {}", p.display()),
        other => panic!("{other:?}"),
    };

    let missing = dir.path().join("missing.db");
    let url = format!("sqlite://{}", missing.display());
    let e = SqliteStore::open_with(&url, IfMissing::Refuse).await.err();
    assert_eq!(
        refusal(e.unwrap()),
        format!("no file {}", missing.display())
    );
    assert!(listing().is_empty());

    // Another program's database, in WAL mode.
    let foreign = dir.path().join("foreign.db");
    let url = format!("sqlite://{}", foreign.display());
    let mut c = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
        .await
        .unwrap();
    for sql in [
        "PRAGMA journal_mode = WAL",
        "CREATE TABLE notes (body TEXT)",
        "INSERT INTO notes VALUES ('kept')",
    ] {
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
    c.close().await.unwrap();
    let before = std::fs::read(&foreign).unwrap();
    assert_eq!(listing(), ["foreign.db"]);
    let e = SqliteStore::open_with(&url, IfMissing::Refuse).await.err();
    assert_eq!(
        refusal(e.unwrap()),
        format!("not skillgrid {}", foreign.display())
    );
    assert_eq!(listing(), ["foreign.db"]);
    assert_eq!(std::fs::read(&foreign).unwrap(), before);

    // A database skillgrid made opens either way, with what it holds.
    let ours = format!("sqlite://{}", dir.path().join("ours.db").display());
    let store = SqliteStore::open(&ours).await.unwrap();
    store
        .create_org("acme", &skillgrid_core::api::OrgSettings::default())
        .await
        .unwrap();
    drop(store);
    let store = SqliteStore::open_with(&ours, IfMissing::Refuse)
        .await
        .unwrap();
    assert_eq!(store.org_count().await.unwrap(), 1);
}

/// A write that finds no room (here the file at its `max_database_bytes`, which SQLite reports
/// exactly as a full disk) fails with `StoreError::Full`, reads go on, and the writer works
/// again once there is room.
///
/// SQLite's own: the bound on the file's size is SQLite's (PostgreSQL manages its files).
#[tokio::test]
async fn a_write_without_room_is_full_and_the_writer_recovers() {
    use skillgrid_core::model::NewSkill;
    use skillgrid_core::timestamp::Timestamp;
    use skillgrid_store::{Bounds, IfMissing, PageRequest, SkillFilter, Store, StoreError};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("full.db").display());
    let org = SqliteStore::open(&url)
        .await
        .unwrap()
        .create_org("acme", &skillgrid_core::api::OrgSettings::default())
        .await
        .unwrap()
        .id;
    // Room for 16 pages more than the database holds (some of it may still be in the WAL).
    let pages: i64 = {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&mut c)
            .await
            .unwrap()
    };
    let bounds = Bounds {
        max_database_bytes: Some((pages as u64 + 16) * 4096),
    };
    let store = SqliteStore::open_bounded(&url, IfMissing::Refuse, bounds)
        .await
        .unwrap();
    let skill = |i: usize| NewSkill {
        name: format!("Skill {i}"),
        description: Some("x".repeat(2000)),
    };
    let mut made = 0;
    let e = loop {
        match store.create_skill(org, &skill(made), Timestamp(1)).await {
            Ok(_) => made += 1,
            Err(e) => break e,
        }
        assert!(made < 1000, "the database never filled up");
    };
    assert!(matches!(e, StoreError::Full), "{e:?}");
    assert!(made > 0);
    let all = PageRequest {
        after: None,
        limit: 1000,
    };
    let listed = store
        .list_skills(org, &SkillFilter::default(), all)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), made);
    assert!(matches!(store.probe_write().await, Err(StoreError::Full)));

    // Room again: the skills' events and entries of the administrative trail pruned free
    // their pages (a deletion needs room for its own event and entry), then the skills
    // deleted free theirs.
    let pruned = store.prune_events(org, Timestamp(2), 1000).await.unwrap();
    assert_eq!(pruned as usize, made);
    let pruned = store
        .prune_admin_trails(org, Timestamp(2), 1000)
        .await
        .unwrap();
    assert_eq!(pruned as usize, made);
    for s in &listed.items {
        store.delete_skill(org, s.id).await.unwrap();
    }
    store.probe_write().await.unwrap();
    store
        .create_skill(org, &skill(made), Timestamp(1))
        .await
        .unwrap();
}

/// The `audit_entries` view lists every entry as the store does: the binary form of small
/// writes and the listed form of large ones (the text form of migrated rows is checked
/// beside the migration's own test).
///
/// Per backend: the view is each backend's own SQL, and SQLite stores entries in binary forms
/// of its own; the writes and the comparison with the store are shared
/// (`scenarios/audit_view.rs`).
#[tokio::test]
async fn the_audit_entries_view_lists_what_the_store_lists() {
    use sqlx::{Connection, Row};
    let db = TestDb::new().await;
    let url = &db.url;
    let store = db.store().await;
    let orgs = audit_view::write_every_kind(&*store).await;
    let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
    let forms: Vec<(String, i64)> = sqlx::query_as(
        "SELECT hex(substr(entries, 1, 1)), max(length(entries)) FROM audit_sets
          GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    assert_eq!(
        forms.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        ["01", "02"],
        "both binary forms written"
    );
    // Rows longer than the part of a value the view reads at a time.
    assert!(forms.iter().all(|f| f.1 > 512), "{forms:?}");
    let uuid = |r: &sqlx::sqlite::SqliteRow, i: usize| {
        uuid::Uuid::parse_str(&r.get::<String, _>(i)).unwrap()
    };
    let sql = format!(
        "SELECT {} FROM audit_entries WHERE org_uuid = ? ORDER BY position",
        audit_view::COLUMNS
    );
    audit_view::view_lists_what_the_store_lists(&*store, orgs, async |org| {
        let rows = sqlx::query(&sql)
            .bind(org.to_string())
            .fetch_all(&mut c)
            .await
            .unwrap();
        rows.iter()
            .map(|r| audit_view::ViewRow::read(r, uuid))
            .collect()
    })
    .await;
    let readable: String =
        sqlx::query_scalar("SELECT at_utc FROM audit_entries WHERE at = ? LIMIT 1")
            .bind(audit_view::T0)
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert_eq!(readable, "2025-06-15T15:06:40.000Z");
}
