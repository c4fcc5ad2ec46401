//! Failed client authentications at `POST /oauth/token`, limited per client id and per source
//! address.
//!
//! Each client id and each address has a bucket of failures: it holds `per_minute` and
//! refills at `per_minute` a minute. A failed authentication (unknown client, wrong secret)
//! takes one from both; a request finding either empty is refused with 429 before its secret
//! is checked, so guessing goes no faster than the buckets refill. A success takes nothing:
//! the real owner, whose secret is right, waits at most until one failure has refilled (6 s at
//! the default of 10 a minute), never for a lockout to end. IPv6 addresses count by their /64,
//! which one host usually holds whole.
//!
//! An attempt under way holds one failure of each bucket until it ends, and gives it back if
//! it did not fail: a burst of wrong secrets sent together checks no more secrets than the
//! buckets hold. (So the owner's own requests, when more than a bucket's worth arrive within
//! the few milliseconds one takes, may see a 429 with `Retry-After: 1`.)
//!
//! The buckets live in this process. Their number is bounded: full buckets with nothing under
//! way are dropped (they are the same as none), and past [`MAX_TRACKED`] keys a new one is not
//! tracked (the other bucket of its request still counts).

use skillgrid_core::model::ClientId;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// Failures counted per account (`K`: an API client's id at the token endpoint, a key of the
/// organization and e-mail at the console's sign-in) and per source address.
pub struct TokenGuard<K = ClientId> {
    clients: Mutex<Buckets<K>>,
    addresses: Mutex<Buckets<IpAddr>>,
}

/// Why a request is refused: which bucket is empty, and when it may try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub by_client: bool,
    pub retry_after: Duration,
}

impl<K: Hash + Eq + Copy> TokenGuard<K> {
    pub fn new(limits: FailureLimits) -> Self {
        TokenGuard {
            clients: Mutex::new(Buckets::new(limits.per_client)),
            addresses: Mutex::new(Buckets::new(limits.per_address)),
        }
    }

    /// Lets an attempt naming `client` (when it names one at all) from `address` check its
    /// secret, holding a failure of each bucket, or refuses it while either holds none. Its
    /// outcome is counted when it ends: as a failure if it is marked [`Attempt::failed`], else
    /// not at all.
    pub fn attempt(
        &self,
        client: Option<K>,
        address: Option<IpAddr>,
    ) -> Result<Attempt<'_, K>, Refusal> {
        let now = Instant::now();
        let address = address.map(address_key);
        // Always clients, then addresses: two attempts never wait on each other in a circle.
        let mut clients = lock(&self.clients);
        let mut addresses = lock(&self.addresses);
        let by_client = client.and_then(|c| clients.wait(&c, now));
        let by_address = address.and_then(|a| addresses.wait(&a, now));
        if by_client.is_some() || by_address.is_some() {
            return Err(Refusal {
                by_client: by_client.is_some(),
                retry_after: by_client.max(by_address).unwrap_or_default(),
            });
        }
        Ok(Attempt {
            guard: self,
            client: client.filter(|c| clients.start(*c, now)),
            address: address.filter(|a| addresses.start(*a, now)),
            failed: false,
        })
    }
}

/// An attempt at a client's secret, under way.
pub struct Attempt<'a, K: Hash + Eq + Copy = ClientId> {
    guard: &'a TokenGuard<K>,
    client: Option<K>,
    address: Option<IpAddr>,
    failed: bool,
}

impl<K: Hash + Eq + Copy> Attempt<'_, K> {
    /// The client authentication failed: it counts against both buckets.
    pub fn failed(mut self) {
        self.failed = true;
    }
}

impl<K: Hash + Eq + Copy> Drop for Attempt<'_, K> {
    fn drop(&mut self) {
        let now = Instant::now();
        if let Some(c) = self.client {
            lock(&self.guard.clients).end(&c, self.failed, now);
        }
        if let Some(a) = self.address {
            lock(&self.guard.addresses).end(&a, self.failed, now);
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

/// One key's bucket: the failures left when last counted, when that was, and the attempts
/// under way (each holding one of them).
#[derive(Debug, Clone, Copy)]
struct Bucket {
    left: f64,
    since: Instant,
    under_way: u32,
}

/// Failure buckets by key.
struct Buckets<K> {
    capacity: f64,
    per_sec: f64,
    map: HashMap<K, Bucket>,
    /// The size at which idle full buckets are next dropped.
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

    fn level(&self, b: &Bucket, now: Instant) -> f64 {
        (b.left + now.saturating_duration_since(b.since).as_secs_f64() * self.per_sec)
            .min(self.capacity)
    }

    /// How long until `key` may try again; `None` when it may now.
    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let b = self.map.get(key)?;
        let level = self.level(b, now);
        if level - f64::from(b.under_way) >= 1.0 {
            None
        } else if level < 1.0 {
            Some(Duration::from_secs_f64((1.0 - level) / self.per_sec))
        } else {
            // What is left is held by attempts under way, which end in a moment.
            Some(Duration::from_secs(1))
        }
    }

    /// Counts an attempt under way; false when `key` is not tracked (past [`MAX_TRACKED`]).
    fn start(&mut self, key: K, now: Instant) -> bool {
        if self.map.len() >= self.next_prune {
            self.prune(now);
        }
        if !self.map.contains_key(&key) && self.map.len() >= MAX_TRACKED {
            return false;
        }
        let full = Bucket {
            left: self.capacity,
            since: now,
            under_way: 0,
        };
        self.map.entry(key).or_insert(full).under_way += 1;
        true
    }

    /// Ends an attempt under way, taking a failure if it failed.
    fn end(&mut self, key: &K, failed: bool, now: Instant) {
        let Some(b) = self.map.get(key).copied() else {
            return;
        };
        let level = self.level(&b, now);
        let b = Bucket {
            left: if failed { level - 1.0 } else { level },
            since: now,
            under_way: b.under_way.saturating_sub(1),
        };
        if let Some(slot) = self.map.get_mut(key) {
            *slot = b;
        }
    }

    /// Drops the buckets that are full again with nothing under way.
    fn prune(&mut self, now: Instant) {
        let (cap, per_sec) = (self.capacity, self.per_sec);
        self.map.retain(|_, b| {
            b.under_way > 0
                || b.left + now.saturating_duration_since(b.since).as_secs_f64() * per_sec < cap
        });
        self.next_prune = (self.map.len() * 2).max(1024);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn client() -> ClientId {
        Uuid::now_v7().into()
    }

    /// An attempt that fails at once.
    fn fail<K: Hash + Eq + Copy>(b: &mut Buckets<K>, key: K, now: Instant) {
        assert!(b.start(key, now));
        b.end(&key, true, now);
    }

    #[test]
    fn failures_empty_the_bucket_which_refills_at_its_rate() {
        let mut b: Buckets<u8> = Buckets::new(10);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(b.wait(&1, t0), None);
            fail(&mut b, 1, t0);
        }
        let wait = b.wait(&1, t0).expect("empty after 10 failures");
        assert!((5.9..=6.01).contains(&wait.as_secs_f64()), "{wait:?}");
        // Another key is untouched; after 6 s one more failure may be tried.
        assert_eq!(b.wait(&2, t0), None);
        assert_eq!(b.wait(&1, t0 + Duration::from_secs(6)), None);
        assert!(b.wait(&1, t0 + Duration::from_secs(5)).is_some());
    }

    #[test]
    fn attempts_under_way_hold_what_is_left_and_successes_give_it_back() {
        let mut b: Buckets<u8> = Buckets::new(10);
        let t0 = Instant::now();
        fail(&mut b, 1, t0);
        // Nine failures left: nine attempts may be under way at once, no more.
        for _ in 0..9 {
            assert_eq!(b.wait(&1, t0), None);
            assert!(b.start(1, t0));
        }
        assert_eq!(b.wait(&1, t0), Some(Duration::from_secs(1)));
        for _ in 0..9 {
            b.end(&1, true, t0);
        }
        // Ten failures in all: empty, one refill (6 s) before the next try.
        let wait = b.wait(&1, t0).unwrap();
        assert!((5.9..=6.01).contains(&wait.as_secs_f64()), "{wait:?}");
        // Successes, however many, take nothing.
        let t1 = t0 + Duration::from_secs(7);
        for _ in 0..50 {
            assert!(b.start(1, t1));
            b.end(&1, false, t1);
        }
        assert_eq!(b.wait(&1, t1), None);
    }

    #[test]
    fn idle_full_buckets_are_dropped_and_new_keys_past_the_bound_are_not_tracked() {
        let mut b: Buckets<u32> = Buckets::new(30);
        let t0 = Instant::now();
        for k in 0..1023 {
            fail(&mut b, k, t0);
        }
        assert!(b.start(2000, t0)); // under way: kept however full
                                    // A minute on, every other bucket is full again: the next count drops them.
        assert!(b.start(5000, t0 + Duration::from_secs(61)));
        assert_eq!(b.map.len(), 2, "{}", b.map.len());
        let mut b: Buckets<usize> = Buckets::new(1);
        for k in 0..=MAX_TRACKED {
            b.start(k, t0);
        }
        assert_eq!(b.map.len(), MAX_TRACKED);
        assert!(!b.start(MAX_TRACKED + 1, t0));
        assert_eq!(b.wait(&(MAX_TRACKED + 1), t0), None);
    }

    #[test]
    fn a_refusal_names_the_empty_bucket_and_the_longer_wait() {
        let g = TokenGuard::new(FailureLimits {
            per_client: 2,
            per_address: 3,
        });
        let (c, a): (ClientId, IpAddr) = (client(), "192.0.2.7".parse().unwrap());
        let fail = |c: Option<ClientId>, a: IpAddr| g.attempt(c, Some(a)).unwrap().failed();
        fail(Some(c), a);
        fail(Some(c), a);
        let r = g.attempt(Some(c), Some(a)).err().unwrap();
        assert!(r.by_client);
        assert!(r.retry_after > Duration::from_secs(29), "{r:?}");
        // Another client from the same address still may, until the address is spent.
        let other = client();
        fail(Some(other), a);
        let r = g.attempt(Some(client()), Some(a)).err().unwrap();
        assert!(!r.by_client);
        // A neighbour in the same IPv6 /64 shares its bucket; one in another /64 does not.
        let v6 = |s: &str| -> IpAddr { s.parse().unwrap() };
        for _ in 0..3 {
            fail(None, v6("2001:db8:1:2::1"));
        }
        assert!(g.attempt(None, Some(v6("2001:db8:1:2:ffff::9"))).is_err());
        assert!(g.attempt(None, Some(v6("2001:db8:1:3::1"))).is_ok());
        assert!(g.attempt(None, Some(v6("::ffff:192.0.2.7"))).is_err());
    }

    #[test]
    fn an_attempt_counts_as_a_failure_only_when_marked_so() {
        let g = TokenGuard::new(FailureLimits {
            per_client: 2,
            per_address: 100,
        });
        let c = Some(client());
        let a = Some("192.0.2.9".parse().unwrap());
        for _ in 0..20 {
            drop(g.attempt(c, a).unwrap()); // right secrets
        }
        let first = g.attempt(c, a).unwrap();
        let second = g.attempt(c, a).unwrap();
        // Two under way already: a third waits for one of them to end.
        assert!(g.attempt(c, a).is_err());
        drop(first);
        second.failed();
        g.attempt(c, a).unwrap().failed();
        assert!(g.attempt(c, a).is_err());
    }
}
