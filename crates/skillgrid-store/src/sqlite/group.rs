//! Group commit of small skill-set writes on SQLite (the queue is `crate::group`'s).
//!
//! SQLite has one writer, and with `synchronous=FULL` every commit waits for the disk: a
//! group runs in one transaction, each write in its own savepoint (a failing write is rolled
//! back alone, and each request stays all-or-nothing), and commits once.

use super::skillsets;
use crate::group::{fail_all, Job};
use crate::*;
use sqlx::sqlite::SqlitePool;
use sqlx::SqliteConnection;
use std::collections::hash_map::{Entry, HashMap};

pub(super) async fn run(pool: SqlitePool, mut jobs: Vec<Job>) {
    if jobs.len() == 1 {
        let j = jobs.remove(0);
        let r = skillsets::write_alone(&pool, j.org, &j.ctx, &j.items, j.opts).await;
        j.answer(r);
        return;
    }
    let results = async {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let results = each_in_savepoint(&mut tx, &jobs).await?;
        tx.commit().await?;
        Ok::<_, StoreError>(results)
    }
    .await;
    match results {
        Ok(results) => {
            for (j, r) in jobs.into_iter().zip(results) {
                j.answer(r);
            }
        }
        // Nothing of the group was committed: every write in it fails.
        Err(e) => fail_all(jobs, &e),
    }
}

/// Each write in a savepoint of its own; an error in savepoint handling fails the group.
async fn each_in_savepoint(
    tx: &mut SqliteConnection,
    jobs: &[Job],
) -> Result<Vec<Result<WriteResult>>> {
    let mut results = Vec::with_capacity(jobs.len());
    // Read once per organization in the group, not once per write.
    let mut keys: HashMap<OrgId, skillsets::OrgKeys> = HashMap::new();
    for j in jobs {
        sqlx::query("SAVEPOINT grouped").execute(&mut *tx).await?;
        let org_keys = match keys.entry(j.org) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => match skillsets::org_keys(tx, j.org).await {
                Ok(k) => e.insert(k),
                Err(err) => {
                    sqlx::query("RELEASE grouped").execute(&mut *tx).await?;
                    results.push(Err(err));
                    continue;
                }
            },
        };
        let r = skillsets::write_with(tx, org_keys, &j.ctx, &j.items, j.opts).await;
        if !matches!(&r, Ok(w) if w.committed) {
            sqlx::query("ROLLBACK TO grouped").execute(&mut *tx).await?;
        }
        sqlx::query("RELEASE grouped").execute(&mut *tx).await?;
        results.push(r);
    }
    Ok(results)
}
