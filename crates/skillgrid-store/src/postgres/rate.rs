//! Rate-limit buckets every process on the database shares (see migration 0006).

use crate::*;
use skillgrid_core::api::RateLimit;
use sqlx::postgres::PgPool;
use std::sync::LazyLock;

/// One statement, one round trip: the bucket is created full, or refilled for the time since
/// it was last computed (capped at `burst`); up to `$4` whole tokens are taken from it, and
/// then, if all `$4` were, up to `$5` more for requests yet to come, but at most a quarter of
/// what is left (so that a small bucket, or one nearly spent, is never taken ahead of its
/// requests, and other processes find most of a bucket where one took ahead). `granted` is
/// both together. Concurrent statements for one client queue on its row, so no two take the
/// same token, whichever process sends them. The time is the database's
/// (`clock_timestamp()`), and never runs backwards for a bucket (`greatest`).
static TAKE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO rate_buckets AS b (client_uuid, per_minute, burst, tokens, granted, at)
SELECT $1::uuid, $2::int8, $3::int8, level - taken, taken, clock_timestamp() FROM {}
ON CONFLICT (client_uuid) DO UPDATE SET
    (tokens, granted) = (
        SELECT level - taken, taken FROM {}),
    per_minute = excluded.per_minute,
    burst = excluded.burst,
    at = greatest(b.at, excluded.at)
RETURNING granted, tokens",
        taking("$3::float8"),
        taking(
            "CASE
               WHEN b.per_minute = excluded.per_minute AND b.burst = excluded.burst
               THEN least(b.burst::float8, b.tokens
                   + greatest(0, extract(epoch FROM excluded.at - b.at))::float8
                     * b.per_minute / 60)
               ELSE excluded.burst::float8
             END"
        )
    )
});

/// The rows `(level, taken)` of a bucket at `level`: `$4` tokens wanted now, `$5` ahead.
fn taking(level: &str) -> String {
    format!(
        "(SELECT level, now + least($5::int8, floor((level - now) / 4))::int8 AS taken
          FROM (SELECT level, least($4::int8, floor(level))::int8 AS now
                FROM (SELECT {level} AS level) l) n) t"
    )
}

/// Takes up to `wanted` tokens for requests waiting now, and up to `ahead` more for those to
/// come (see [`TAKE`]).
pub(super) async fn take_tokens(
    pool: &PgPool,
    client: ClientId,
    limit: &RateLimit,
    wanted: u64,
    ahead: u64,
) -> Result<TokenTake> {
    let int = |v: u64| v.min(i64::MAX as u64) as i64;
    let (taken, tokens): (i64, f64) = sqlx::query_as(&TAKE)
        .bind(client.get())
        .bind(int(limit.requests_per_minute))
        .bind(int(limit.burst))
        .bind(int(wanted))
        .bind(int(ahead))
        .fetch_one(pool)
        .await?;
    let taken = taken.max(0) as u64;
    // Tokens are taken ahead only once every one wanted now was.
    let granted = taken.min(wanted);
    Ok(TokenTake {
        granted,
        ahead: taken - granted,
        tokens,
    })
}
