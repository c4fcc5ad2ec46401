//! Failed client authentications at `POST /oauth/token`, limited per client id and per source
//! address.
//!
//! Each client id and each address has a bucket of failures: it holds `per_minute` and
//! refills at `per_minute` a minute. A failure (unknown client, wrong secret) takes one from
//! both; a request finding either empty is refused with 429 before its secret is checked, so
//! guessing goes no faster than the buckets refill. A success takes nothing: the real owner,
//! whose secret is right, waits at most until one failure has refilled (6 s at the default of
//! 10 a minute), never for a lockout to end. IPv6 addresses count by their /64, which one host
//! usually holds whole.
//!
//! The buckets live in this process. Their number is bounded: full buckets are dropped (a full
//! bucket is the same as none), and past [`MAX_TRACKED`] keys a new one is not tracked (the
//! other bucket of its request still counts).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Keys tracked per kind (client ids, addresses).
pub const MAX_TRACKED: usize = 100_000;

/// Failed attempts allowed per minute, as bursts of that size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimits {
    pub per_client: u32,
    pub per_address: u32,
}

impl Default for FailureLimits {
    fn default() -> Self {
        FailureLimits {
            per_client: 10,
            per_address: 30,
        }
    }
}

pub struct TokenGuard {
    limits: FailureLimits,
    clients: Mutex<Buckets<Uuid>>,
    addresses: Mutex<Buckets<IpAddr>>,
}

/// Why a request is refused: which bucket is empty, and when it holds one failure again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub by_client: bool,
    pub retry_after: Duration,
}

impl TokenGuard {
    pub fn new(limits: FailureLimits) -> Self {
        TokenGuard {
            limits,
            clients: Mutex::new(Buckets::new(limits.per_client)),
            addresses: Mutex::new(Buckets::new(limits.per_address)),
        }
    }

    pub fn limits(&self) -> FailureLimits {
        self.limits
    }

    /// Whether a request naming `client` (when it names one at all) from `address` may try
    /// its secret now.
    pub fn check(&self, client: Option<Uuid>, address: Option<IpAddr>) -> Result<(), Refusal> {
        let now = Instant::now();
        let by_client = client.and_then(|c| lock(&self.clients).wait(&c, now));
        let by_address = address.and_then(|a| lock(&self.addresses).wait(&address_key(a), now));
        if by_client.is_none() && by_address.is_none() {
            return Ok(());
        }
        Err(Refusal {
            by_client: by_client.is_some(),
            retry_after: by_client.max(by_address).unwrap_or_default(),
        })
    }

    /// Counts a failed authentication against both buckets.
    pub fn failed(&self, client: Option<Uuid>, address: Option<IpAddr>) {
        let now = Instant::now();
        if let Some(c) = client {
            lock(&self.clients).take(c, now);
        }
        if let Some(a) = address {
            lock(&self.addresses).take(address_key(a), now);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An IPv4 address as it is (also when mapped into IPv6); an IPv6 address by its /64.
fn address_key(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V4(_) => a,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(s.into())
            }
        },
    }
}

/// Failure buckets by key: what is left and when it was last counted.
struct Buckets<K> {
    capacity: f64,
    per_sec: f64,
    map: HashMap<K, (f64, Instant)>,
    /// The size at which full buckets are next dropped.
    next_prune: usize,
}

impl<K: Hash + Eq> Buckets<K> {
    fn new(per_minute: u32) -> Self {
        let capacity = per_minute.max(1) as f64;
        Buckets {
            capacity,
            per_sec: capacity / 60.0,
            map: HashMap::new(),
            next_prune: 1024,
        }
    }

    fn level(&self, left: f64, since: Instant, now: Instant) -> f64 {
        (left + now.saturating_duration_since(since).as_secs_f64() * self.per_sec)
            .min(self.capacity)
    }

    /// How long until `key` may fail once more; `None` when it may now.
    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let (left, since) = self.map.get(key)?;
        let level = self.level(*left, *since, now);
        (level < 1.0).then(|| Duration::from_secs_f64((1.0 - level) / self.per_sec))
    }

    fn take(&mut self, key: K, now: Instant) {
        if self.map.len() >= self.next_prune {
            self.prune(now);
        }
        let full = self.capacity;
        let level = match self.map.get(&key) {
            Some((left, since)) => self.level(*left, *since, now),
            None if self.map.len() >= MAX_TRACKED => return,
            None => full,
        };
        self.map.insert(key, ((level - 1.0).max(0.0), now));
    }

    /// Drops the buckets that are full again.
    fn prune(&mut self, now: Instant) {
        let (cap, per_sec) = (self.capacity, self.per_sec);
        self.map.retain(|_, (left, since)| {
            *left + now.saturating_duration_since(*since).as_secs_f64() * per_sec < cap
        });
        self.next_prune = (self.map.len() * 2).max(1024);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_empty_the_bucket_which_refills_at_its_rate() {
        let mut b: Buckets<u8> = Buckets::new(10);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(b.wait(&1, t0), None);
            b.take(1, t0);
        }
        let wait = b.wait(&1, t0).expect("empty after 10 failures");
        assert!((5.9..=6.01).contains(&wait.as_secs_f64()), "{wait:?}");
        // Another key is untouched; after 6 s one more failure may be tried.
        assert_eq!(b.wait(&2, t0), None);
        assert_eq!(b.wait(&1, t0 + Duration::from_secs(6)), None);
        assert!(b.wait(&1, t0 + Duration::from_secs(5)).is_some());
    }

    #[test]
    fn full_buckets_are_dropped_and_new_keys_past_the_bound_are_not_tracked() {
        let mut b: Buckets<u32> = Buckets::new(30);
        let t0 = Instant::now();
        for k in 0..1024 {
            b.take(k, t0);
        }
        // A minute on, every bucket is full again: the next count drops them all.
        b.take(5000, t0 + Duration::from_secs(61));
        assert_eq!(b.map.len(), 1, "{}", b.map.len());
        let mut b: Buckets<usize> = Buckets::new(1);
        for k in 0..=MAX_TRACKED {
            b.take(k, t0);
        }
        assert_eq!(b.map.len(), MAX_TRACKED);
        assert_eq!(b.wait(&MAX_TRACKED, t0), None);
    }

    #[test]
    fn a_refusal_names_the_empty_bucket_and_the_longer_wait() {
        let g = TokenGuard::new(FailureLimits {
            per_client: 2,
            per_address: 3,
        });
        let (c, a): (Uuid, IpAddr) = (Uuid::now_v7(), "192.0.2.7".parse().unwrap());
        g.failed(Some(c), Some(a));
        g.failed(Some(c), Some(a));
        let r = g.check(Some(c), Some(a)).unwrap_err();
        assert!(r.by_client);
        assert!(r.retry_after > Duration::from_secs(29), "{r:?}");
        // Another client from the same address still may, until the address is spent.
        let other = Uuid::now_v7();
        assert!(g.check(Some(other), Some(a)).is_ok());
        g.failed(Some(other), Some(a));
        let r = g.check(Some(Uuid::now_v7()), Some(a)).unwrap_err();
        assert!(!r.by_client);
        // A neighbour in the same IPv6 /64 shares its bucket; one in another /64 does not.
        let v6 = |s: &str| -> IpAddr { s.parse().unwrap() };
        for _ in 0..3 {
            g.failed(None, Some(v6("2001:db8:1:2::1")));
        }
        assert!(g.check(None, Some(v6("2001:db8:1:2:ffff::9"))).is_err());
        assert!(g.check(None, Some(v6("2001:db8:1:3::1"))).is_ok());
        assert!(g.check(None, Some(v6("::ffff:192.0.2.7"))).is_err());
    }
}
