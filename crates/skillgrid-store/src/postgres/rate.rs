//! Rate-limit buckets every process on the database shares (see migration 0005).

use crate::*;
use skillgrid_core::api::RateLimit;
use sqlx::postgres::PgPool;

/// One statement, one round trip: the bucket is created full, or refilled for the time since
/// it was last computed (capped at `burst`), and up to `$4` whole tokens are taken from it.
/// Concurrent statements for one client queue on its row, so no two take the same token,
/// whichever process sends them. The time is the database's (`clock_timestamp()`), and never
/// runs backwards for a bucket (`greatest`).
const TAKE: &str = "
INSERT INTO rate_buckets AS b (client_uuid, per_minute, burst, tokens, granted, at)
VALUES ($1, $2, $3, $3 - least($4, $3), least($4, $3), clock_timestamp())
ON CONFLICT (client_uuid) DO UPDATE SET
    (tokens, granted) = (
        SELECT level - taken, taken
        FROM (SELECT level, least($4, floor(level))::int8 AS taken
              FROM (SELECT CASE
                      WHEN b.per_minute = excluded.per_minute AND b.burst = excluded.burst
                      THEN least(b.burst::float8, b.tokens
                          + greatest(0, extract(epoch FROM excluded.at - b.at))::float8
                            * b.per_minute / 60)
                      ELSE excluded.burst::float8
                    END AS level) refilled) took),
    per_minute = excluded.per_minute,
    burst = excluded.burst,
    at = greatest(b.at, excluded.at)
RETURNING granted, tokens";

pub(super) async fn take_tokens(
    pool: &PgPool,
    client: ClientId,
    limit: &RateLimit,
    wanted: u64,
) -> Result<TokenTake> {
    let int = |v: u64| v.min(i64::MAX as u64) as i64;
    let (granted, tokens): (i64, f64) = sqlx::query_as(TAKE)
        .bind(client.get())
        .bind(int(limit.requests_per_minute))
        .bind(int(limit.burst))
        .bind(int(wanted))
        .fetch_one(pool)
        .await?;
    Ok(TokenTake {
        granted: granted.max(0) as u64,
        tokens,
    })
}
