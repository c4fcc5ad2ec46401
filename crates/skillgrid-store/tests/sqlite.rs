//! The SQLite store through its public interface, on a real database file (most of its tests
//! are unit tests beside the code; these are the checks shared with `postgres.rs`).

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
async fn a_scale_that_strands_stored_proficiencies_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    stranded::refusal_counts_and_names_the_org_s_extremes(&store).await;
}
