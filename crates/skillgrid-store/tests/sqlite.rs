//! The SQLite store through its public interface, on a real database file (most of its tests
//! are unit tests beside the code; these are the checks shared with `postgres.rs`, and what
//! opening does to the files).

#[path = "support/clients.rs"]
mod clients;
#[path = "support/generation.rs"]
mod generation;
#[path = "support/stranded.rs"]
mod stranded;

use skillgrid_store::sqlite::SqliteStore;

#[tokio::test]
async fn the_org_generation_moves_with_settings_and_skills_only() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    generation::moves_with_settings_and_skills_only(&store).await;
}

#[tokio::test]
async fn api_clients_are_audited_revocable_and_kept_to_their_organization() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    clients::are_audited_revocable_and_kept_to_their_organization(&store).await;
}

#[tokio::test]
async fn a_scale_that_strands_stored_proficiencies_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    stranded::refusal_counts_and_names_the_org_s_extremes(&store).await;
}

/// Told not to create one, the store opens only a database skillgrid set up, and refusing
/// leaves a file that is another program's exactly as it was, without `-wal` or `-shm` files.
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
