//! Retry policy: exponential backoff with full jitter, `Retry-After` honoured.

use rand::Rng;
use std::time::Duration;

/// When and how long to wait before sending a request again.
///
/// Retried: 429 (the server changed nothing), connection failures (nothing was sent), and —
/// for idempotent requests only (GET, PUT, PATCH, DELETE, and POSTs carrying an
/// `Idempotency-Key`) — 503, 409 `idempotency_key_in_use` and other transport errors
/// (timeouts, reset connections).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: never retry). Default 5.
    pub max_attempts: u32,
    /// The backoff before the second attempt is drawn from `0..=base_delay`; it doubles with
    /// every further attempt. Default 100 ms.
    pub base_delay: Duration,
    /// Upper bound of one backoff. A `Retry-After` longer than this is not waited for: the
    /// error is returned instead. Default 30 s.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        }
    }

    /// The wait before attempt `failed + 1`, after `failed` attempts failed; `None` when the
    /// server asks for a wait longer than `max_delay`.
    pub fn delay(&self, failed: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let mut rng = rand::rng();
        if let Some(ra) = retry_after {
            if ra > self.max_delay {
                return None;
            }
            // A little jitter on top, so callers told the same second do not all come back at once.
            let spread = self.base_delay.as_millis().min(u64::MAX as u128) as u64;
            return Some(ra + Duration::from_millis(rng.random_range(0..=spread)));
        }
        let exp = failed.saturating_sub(1).min(31);
        let cap = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let cap_ms = cap.as_millis().min(u64::MAX as u128) as u64;
        Some(Duration::from_millis(rng.random_range(0..=cap_ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_within_the_exponential_cap() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for _ in 0..200 {
            assert!(p.delay(1, None).unwrap() <= Duration::from_millis(100));
            assert!(p.delay(3, None).unwrap() <= Duration::from_millis(400));
            assert!(p.delay(9, None).unwrap() <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_max_delay() {
        let p = RetryPolicy::default();
        let d = p.delay(1, Some(Duration::from_secs(2))).unwrap();
        assert!(d >= Duration::from_secs(2) && d <= Duration::from_millis(2100));
        assert_eq!(p.delay(1, Some(Duration::from_secs(31))), None);
    }
}
