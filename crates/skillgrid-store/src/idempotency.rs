//! Idempotency keys, backend-neutral: how a stored key is judged when a request claims it,
//! and the statements both backends run alike.

use crate::common::{IDEMPOTENCY_STALE_MS, IDEMPOTENCY_TTL_MS};
use crate::*;

/// A stored key, as both backends read it ([`SELECT`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct KeyRow {
    pub fingerprint: String,
    /// 0 while its request runs, 1 once answered.
    pub state: i16,
    pub status: Option<i32>,
    pub body: Option<Vec<u8>>,
    pub created_at: i64,
}

/// What a request claiming a stored key does.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// Answers with this and writes nothing.
    Answer(IdempotencyBegin),
    /// Takes the key over as if it were new ([`TAKE_OVER`]): it is past its time to live,
    /// or its request never finished (its process crashed).
    TakeOver,
}

/// Judges a stored key for a request with `fingerprint` at `now`. Expiry comes first: an
/// expired key is no longer the earlier request's, so neither its fingerprint nor its answer
/// matters. A claim left unfinished for long is taken over only by the same request.
pub(crate) fn judge(row: KeyRow, fingerprint: &str, now: Timestamp) -> Claim {
    if row.created_at < now.0 - IDEMPOTENCY_TTL_MS {
        Claim::TakeOver
    } else if row.fingerprint != fingerprint {
        Claim::Answer(IdempotencyBegin::Mismatch)
    } else if row.state == 1 {
        Claim::Answer(IdempotencyBegin::Replay {
            status: row.status.unwrap_or(200) as u16,
            body: row.body.unwrap_or_default(),
        })
    } else if row.created_at > now.0 - IDEMPOTENCY_STALE_MS {
        Claim::Answer(IdempotencyBegin::InProgress)
    } else {
        Claim::TakeOver
    }
}

/// A key: `$1` organization key, `$2` client, `$3` key.
pub(crate) const SELECT: &str =
    "SELECT fingerprint, state, status, body, created_at FROM idempotency_keys
     WHERE org_id = $1 AND client_uuid = $2 AND key = $3";

/// [`Claim::TakeOver`]: the key as a new claim. `$1` fingerprint, `$2` now, then the key as
/// in [`SELECT`] (`$3`–`$5`). (An unfinished claim taken over already holds the fingerprint,
/// state 0 and no answer: only its time changes.)
pub(crate) const TAKE_OVER: &str =
    "UPDATE idempotency_keys SET fingerprint = $1, state = 0, status = NULL, body = NULL,
       created_at = $2 WHERE org_id = $3 AND client_uuid = $4 AND key = $5";

/// Stores a claimed key's answer: `$1` status, `$2` body, `$3` organization id, `$4` client,
/// `$5` key.
pub(crate) const COMPLETE: &str = "UPDATE idempotency_keys SET state = 1, status = $1, body = $2
     WHERE org_id = (SELECT id FROM orgs WHERE uuid = $3) AND client_uuid = $4 AND key = $5";

/// Releases a claim still in progress: `$1` organization id, `$2` client, `$3` key.
pub(crate) const ABANDON: &str = "DELETE FROM idempotency_keys
     WHERE org_id = (SELECT id FROM orgs WHERE uuid = $1) AND client_uuid = $2 AND key = $3
       AND state = 0";

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(100 * IDEMPOTENCY_TTL_MS);

    fn row(fingerprint: &str, state: i16, age_ms: i64) -> KeyRow {
        KeyRow {
            fingerprint: fingerprint.into(),
            state,
            status: Some(201),
            body: Some(b"{}".to_vec()),
            created_at: NOW.0 - age_ms,
        }
    }

    #[test]
    fn a_key_is_judged_expired_first_then_by_request_then_by_state() {
        let fresh = 1_000;
        let stale = IDEMPOTENCY_STALE_MS + 1;
        let expired = IDEMPOTENCY_TTL_MS + 1;
        // Expired: taken over whatever it was used with or holds.
        assert_eq!(judge(row("other", 1, expired), "fp", NOW), Claim::TakeOver);
        assert_eq!(judge(row("fp", 0, expired), "fp", NOW), Claim::TakeOver);
        assert_eq!(
            judge(row("other", 0, fresh), "fp", NOW),
            Claim::Answer(IdempotencyBegin::Mismatch)
        );
        assert_eq!(
            judge(row("other", 0, stale), "fp", NOW),
            Claim::Answer(IdempotencyBegin::Mismatch)
        );
        assert_eq!(
            judge(row("fp", 1, stale), "fp", NOW),
            Claim::Answer(IdempotencyBegin::Replay {
                status: 201,
                body: b"{}".to_vec()
            })
        );
        assert_eq!(
            judge(row("fp", 0, fresh), "fp", NOW),
            Claim::Answer(IdempotencyBegin::InProgress)
        );
        assert_eq!(judge(row("fp", 0, stale), "fp", NOW), Claim::TakeOver);
    }
}
