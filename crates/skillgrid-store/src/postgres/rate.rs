//! Rate-limit buckets every process on the database shares (see migration 0005).

use crate::*;
use skillgrid_core::api::RateLimit;
use sqlx::postgres::PgPool;

/// One statement, one round trip: the bucket is created full (less this request's token) or
/// refilled for the time since it was last computed, capped at `burst`, and a token is taken
/// if there is a whole one. Concurrent requests of one client queue on its row, so no two take
/// the same token, whichever process they reach. The time is the database's
/// (`clock_timestamp()`), and never runs backwards for a bucket (`greatest`).
const TAKE: &str = "
INSERT INTO rate_buckets AS b (client_uuid, per_minute, burst, tokens, granted, at)
VALUES ($1, $2, $3, $3 - 1, true, clock_timestamp())
ON CONFLICT (client_uuid) DO UPDATE SET
    (tokens, granted) = (
        SELECT CASE WHEN level >= 1 THEN level - 1 ELSE level END, level >= 1
        FROM (SELECT CASE
                WHEN b.per_minute = excluded.per_minute AND b.burst = excluded.burst
                THEN least(b.burst::float8, b.tokens
                    + greatest(0, extract(epoch FROM excluded.at - b.at))::float8
                      * b.per_minute / 60)
                ELSE excluded.burst::float8
              END AS level) refilled),
    per_minute = excluded.per_minute,
    burst = excluded.burst,
    at = greatest(b.at, excluded.at)
RETURNING granted, tokens";

pub(super) async fn take_token(
    pool: &PgPool,
    client: Uuid,
    limit: &RateLimit,
) -> Result<TokenTake> {
    let (granted, tokens): (bool, f64) = sqlx::query_as(TAKE)
        .bind(client)
        .bind(limit.requests_per_minute.min(i64::MAX as u64) as i64)
        .bind(limit.burst.min(i64::MAX as u64) as i64)
        .fetch_one(pool)
        .await?;
    Ok(TokenTake { granted, tokens })
}
