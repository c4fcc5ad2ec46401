//! The SQLite store through its public interface, on a real database file (most of its tests
//! are unit tests beside the code; these are the checks shared with `postgres.rs`).

#[path = "support/generation.rs"]
mod generation;

use skillgrid_store::sqlite::SqliteStore;

#[tokio::test]
async fn the_org_generation_moves_with_settings_and_skills_only() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    generation::moves_with_settings_and_skills_only(&store).await;
}
