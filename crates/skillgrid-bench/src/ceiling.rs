//! The raw ceiling: the same upserts straight into the database, without HTTP, validation,
//! diffing or audit. SQLite: one prepared `INSERT … ON CONFLICT DO UPDATE` executed once per
//! row in one transaction, with the store's pragmas and the assignments table's shape and keys.
//! PostgreSQL: one `INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE` in one transaction.

use crate::workload::proficiency;
use anyhow::{Context, Result};
use std::path::Path;
use std::time::Instant;

/// Seconds for the first write into an empty table and for the re-write of every row.
pub struct Ceiling {
    pub insert_s: f64,
    pub reupsert_s: f64,
}

// Same columns, primary key, row layout (WITHOUT ROWID) and secondary index as the store's
// `assignments` table (crates/skillgrid-store/src/sqlite/migrations), without the foreign keys
// (there are no parent tables here). The Datasette peer gets the same table.
pub const SQLITE_TABLE: &str = "
CREATE TABLE assignments (
    agent_id     INTEGER NOT NULL,
    skill_id     INTEGER NOT NULL,
    proficiency  INTEGER NOT NULL,
    effective_at INTEGER,
    expires_at   INTEGER,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (agent_id, skill_id)
) WITHOUT ROWID;
CREATE INDEX assignments_by_skill_agent ON assignments (skill_id, agent_id);";

const UPSERT_SET: &str = "ON CONFLICT (agent_id, skill_id) DO UPDATE SET
    proficiency = excluded.proficiency, effective_at = excluded.effective_at,
    expires_at = excluded.expires_at, updated_at = excluded.updated_at";

/// `synchronous` is the store's `FULL`, or `NORMAL` to show what durability at every commit
/// costs.
pub fn sqlite(file: &Path, agents: usize, skills: usize, synchronous: &str) -> Result<Ceiling> {
    let mut conn = rusqlite::Connection::open(file)
        .with_context(|| format!("cannot open {}", file.display()))?;
    // The store's pragmas (crates/skillgrid-store/src/sqlite/mod.rs).
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", "-65536")?;
    // The store's writer checkpoints in the background, never inside a commit; an automatic
    // checkpoint at the ceiling's commit would make the ceiling slower than the database is.
    conn.pragma_update(None, "wal_autocheckpoint", "0")?;
    conn.execute_batch(SQLITE_TABLE)?;
    let sql = format!(
        "INSERT INTO assignments (agent_id, skill_id, proficiency, effective_at, expires_at, updated_at)
         VALUES (?1, ?2, ?3, NULL, NULL, ?4) {UPSERT_SET}"
    );
    let mut round = |round: usize| -> Result<f64> {
        let now = now_ms();
        let start = Instant::now();
        let tx = conn.transaction()?;
        {
            let mut st = tx.prepare(&sql)?;
            for a in 0..agents {
                for s in 0..skills {
                    st.execute((a as i64 + 1, s as i64 + 1, proficiency(a, s, round), now))?;
                }
            }
        }
        tx.commit()?;
        Ok(start.elapsed().as_secs_f64())
    };
    Ok(Ceiling {
        insert_s: round(0)?,
        reupsert_s: round(1)?,
    })
}

pub async fn postgres(url: &str, agents: usize, skills: usize) -> Result<Ceiling> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::query("DROP TABLE IF EXISTS bench_assignments")
        .execute(&mut conn)
        .await?;
    // Same shape as the store's table (crates/skillgrid-store/src/postgres/migrations).
    sqlx::query(
        "CREATE TABLE bench_assignments (
            agent_id BIGINT NOT NULL, skill_id BIGINT NOT NULL, proficiency BIGINT NOT NULL,
            effective_at BIGINT, expires_at BIGINT, updated_at BIGINT NOT NULL,
            PRIMARY KEY (agent_id, skill_id))",
    )
    .execute(&mut conn)
    .await?;
    sqlx::query("CREATE INDEX ON bench_assignments (skill_id, agent_id)")
        .execute(&mut conn)
        .await?;
    let sql = format!(
        "INSERT INTO bench_assignments (agent_id, skill_id, proficiency, effective_at, expires_at, updated_at)
         SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[])
         {UPSERT_SET}"
    );
    let mut times = Vec::new();
    for round in 0..2 {
        let n = agents * skills;
        let (mut a_col, mut s_col, mut p_col) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for a in 0..agents {
            for s in 0..skills {
                a_col.push(a as i64 + 1);
                s_col.push(s as i64 + 1);
                p_col.push(proficiency(a, s, round));
            }
        }
        let none: Vec<Option<i64>> = vec![None; n];
        let now = vec![now_ms(); n];
        let start = Instant::now();
        let mut tx = conn.begin().await?;
        sqlx::query(&sql)
            .bind(&a_col)
            .bind(&s_col)
            .bind(&p_col)
            .bind(&none)
            .bind(&none)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        times.push(start.elapsed().as_secs_f64());
    }
    sqlx::query("DROP TABLE bench_assignments")
        .execute(&mut conn)
        .await?;
    Ok(Ceiling {
        insert_s: times[0],
        reupsert_s: times[1],
    })
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
