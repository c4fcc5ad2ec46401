//! Places for long-lived work (an export, an event stream) bounded in this process and per
//! owner (an organization, an API client), so that no one owner takes every place and the
//! process never runs more than it can hold connections and threads for.
//!
//! A [`Slot`] is given back when it is dropped, wherever that happens: the work holds it for
//! as long as it holds what is being counted.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// How many places there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotLimits {
    /// Places one owner may hold at once.
    pub per_owner: usize,
    /// Places this process holds at once, every owner's together.
    pub total: usize,
}

/// Why a place was refused: the limit that was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The owner already holds this many.
    Owner(usize),
    /// The process already holds this many.
    Process(usize),
}

/// The places taken, per owner.
pub struct Slots<K> {
    limits: SlotLimits,
    taken: Mutex<HashMap<K, usize>>,
}

/// A place taken; given back when dropped.
pub struct Slot<K: Eq + Hash> {
    slots: Arc<Slots<K>>,
    owner: K,
}

impl<K: Eq + Hash> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut taken = self.slots.taken();
        if let Some(n) = taken.get_mut(&self.owner) {
            *n -= 1;
            if *n == 0 {
                taken.remove(&self.owner);
            }
        }
    }
}

impl<K: Eq + Hash + Clone> Slots<K> {
    pub fn new(limits: SlotLimits) -> Arc<Self> {
        Arc::new(Slots {
            limits,
            taken: Mutex::default(),
        })
    }

    pub fn limits(&self) -> SlotLimits {
        self.limits
    }

    /// One more place for `owner`, within both limits.
    pub fn take(self: &Arc<Self>, owner: K) -> Result<Slot<K>, Refused> {
        let mut taken = self.taken();
        let total: usize = taken.values().sum();
        if total >= self.limits.total {
            return Err(Refused::Process(self.limits.total));
        }
        let mine = taken.entry(owner.clone()).or_default();
        if *mine >= self.limits.per_owner {
            let n = self.limits.per_owner;
            if *mine == 0 {
                taken.remove(&owner);
            }
            return Err(Refused::Owner(n));
        }
        *mine += 1;
        Ok(Slot {
            slots: self.clone(),
            owner,
        })
    }

    /// Places taken now, every owner's together.
    pub fn taken_now(&self) -> usize {
        self.taken().values().sum()
    }
}

impl<K> Slots<K> {
    fn taken(&self) -> std::sync::MutexGuard<'_, HashMap<K, usize>> {
        self.taken.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_is_held_to_its_share_and_the_process_to_its_total() {
        let slots = Slots::new(SlotLimits {
            per_owner: 2,
            total: 3,
        });
        let a1 = slots.take("a").unwrap();
        let _a2 = slots.take("a").unwrap();
        assert_eq!(slots.take("a").err(), Some(Refused::Owner(2)));
        let b1 = slots.take("b").unwrap();
        // Three taken: every owner is refused, whatever its own count.
        assert_eq!(slots.take("c").err(), Some(Refused::Process(3)));
        assert_eq!(slots.take("a").err(), Some(Refused::Process(3)));
        assert_eq!(slots.taken_now(), 3);
        // A place given back is free again, for its owner or another.
        drop(a1);
        let _c1 = slots.take("c").unwrap();
        drop(b1);
        let _a3 = slots.take("a").unwrap();
        assert_eq!(slots.taken_now(), 3);
    }

    #[test]
    fn a_refused_owner_leaves_nothing_behind_and_zero_places_refuse_everyone() {
        let none = Slots::new(SlotLimits {
            per_owner: 0,
            total: 5,
        });
        assert_eq!(none.take(1).err(), Some(Refused::Owner(0)));
        assert!(none.taken().is_empty());
        let closed = Slots::new(SlotLimits {
            per_owner: 5,
            total: 0,
        });
        assert_eq!(closed.take(1).err(), Some(Refused::Process(0)));
        assert_eq!(closed.taken_now(), 0);
    }
}
