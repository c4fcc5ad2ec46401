//! What a desired skill set changes against the stored one.
//!
//! The store loads an agent's current assignments, asks [`plan`] what changes, writes exactly
//! that (and its audit entries), and bumps the version only when the plan is not empty.

use crate::model::{Assignment, SkillId, SkillSetWrite, StoredAssignment};
use foldhash::HashMap;

/// The changes one write makes to one agent's set.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    pub added: Vec<Assignment>,
    pub updated: Vec<(StoredAssignment, Assignment)>,
    pub removed: Vec<StoredAssignment>,
    pub unchanged: usize,
    /// How many skills the agent holds afterwards.
    pub resulting_len: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }
}

/// Sets up to this long are searched in place; longer ones through a hash map. Agents hold a
/// handful of skills, and a bulk write plans 10,000 agents: building a map for each cost more
/// than the scans it saves.
const SCAN: usize = 16;

/// Finds a current assignment by skill.
enum ById<'a> {
    Scan(&'a [StoredAssignment]),
    Map(HashMap<SkillId, &'a StoredAssignment>),
}

impl<'a> ById<'a> {
    fn new(current: &'a [StoredAssignment]) -> Self {
        if current.len() <= SCAN {
            ById::Scan(current)
        } else {
            ById::Map(current.iter().map(|a| (a.skill_id, a)).collect())
        }
    }

    fn get(&self, id: &SkillId) -> Option<&'a StoredAssignment> {
        match self {
            ById::Scan(s) => s.iter().find(|a| a.skill_id == *id),
            ById::Map(m) => m.get(id).copied(),
        }
    }
}

pub fn plan(current: &[StoredAssignment], write: &SkillSetWrite) -> Plan {
    let by_id = ById::new(current);
    let mut p = Plan::default();
    let upserts: &[Assignment] = match write {
        SkillSetWrite::Replace(set) => set,
        SkillSetWrite::Merge { upsert, .. } => upsert,
    };
    for a in upserts {
        match by_id.get(&a.skill_id) {
            None => p.added.push(*a),
            Some(old) if old.same_values(a) => p.unchanged += 1,
            Some(old) => p.updated.push((*old, *a)),
        }
    }
    match write {
        SkillSetWrite::Replace(set) if set.len() <= SCAN => {
            p.removed = current
                .iter()
                .filter(|a| !set.iter().any(|n| n.skill_id == a.skill_id))
                .copied()
                .collect();
        }
        SkillSetWrite::Replace(set) => {
            let keep: std::collections::HashSet<SkillId> = set.iter().map(|a| a.skill_id).collect();
            p.removed = current
                .iter()
                .filter(|a| !keep.contains(&a.skill_id))
                .copied()
                .collect();
        }
        SkillSetWrite::Merge { remove, .. } => {
            for id in remove {
                if let Some(old) = by_id.get(id) {
                    p.removed.push(*old);
                }
            }
            // Skills neither listed nor removed are kept unchanged.
        }
    }
    p.resulting_len = current.len() + p.added.len() - p.removed.len();
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::Timestamp;

    fn id(n: u128) -> SkillId {
        SkillId::new(uuid::Uuid::from_u128(n))
    }
    fn stored(n: u128, p: i64) -> StoredAssignment {
        StoredAssignment {
            skill_id: id(n),
            proficiency: p,
            effective: None,
            expires: None,
            updated_at: Timestamp(0),
        }
    }
    fn want(n: u128, p: i64) -> Assignment {
        Assignment {
            proficiency: p,
            ..Assignment::omitted(id(n), p)
        }
    }

    /// Sets searched in place and sets searched through a map plan alike.
    #[test]
    fn short_and_long_sets_plan_the_same_way() {
        for n in [0u128, 1, SCAN as u128, SCAN as u128 + 1, 40] {
            // Holds 0..n at 10; the write lists n/2..n+n/2: the held half changes
            // (even ids) or stays (odd), the rest is new.
            let current: Vec<StoredAssignment> = (0..n).map(|i| stored(i, 10)).collect();
            let listed: Vec<Assignment> = (n / 2..n + n / 2)
                .map(|i| want(i, if i % 2 == 0 { 20 } else { 10 }))
                .collect();
            let held_listed = (n / 2..n).count();
            let changed = (n / 2..n).filter(|i| i % 2 == 0).count();
            let p = plan(&current, &SkillSetWrite::Replace(listed.clone()));
            assert_eq!(p.added.len(), listed.len() - held_listed, "n={n}");
            assert_eq!(p.updated.len(), changed, "n={n}");
            assert_eq!(p.unchanged, held_listed - changed, "n={n}");
            let removed: Vec<SkillId> = p.removed.iter().map(|a| a.skill_id).collect();
            assert_eq!(removed, (0..n / 2).map(id).collect::<Vec<_>>(), "n={n}");
            let remove: Vec<SkillId> = (0..n + 3).step_by(3).map(id).collect();
            let m = plan(
                &current,
                &SkillSetWrite::Merge {
                    upsert: listed,
                    remove,
                },
            );
            assert_eq!(m.updated.len(), changed, "n={n}");
            assert_eq!(m.removed.len(), (0..n).step_by(3).count(), "n={n}");
        }
    }

    #[test]
    fn replace_adds_updates_removes_and_keeps() {
        let cur = [stored(1, 10), stored(2, 20), stored(3, 30)];
        let p = plan(
            &cur,
            &SkillSetWrite::Replace(vec![want(1, 10), want(2, 25), want(4, 40)]),
        );
        assert_eq!(p.added, vec![want(4, 40)]);
        assert_eq!(p.updated, vec![(stored(2, 20), want(2, 25))]);
        assert_eq!(p.removed, vec![stored(3, 30)]);
        assert_eq!(p.unchanged, 1);
        assert_eq!(p.resulting_len, 3);
    }

    #[test]
    fn merge_keeps_unlisted_and_ignores_removal_of_unheld() {
        let cur = [stored(1, 10), stored(2, 20)];
        let p = plan(
            &cur,
            &SkillSetWrite::Merge {
                upsert: vec![want(3, 30)],
                remove: vec![id(2), id(9)],
            },
        );
        assert_eq!(p.added, vec![want(3, 30)]);
        assert_eq!(p.removed, vec![stored(2, 20)]);
        assert_eq!(p.resulting_len, 2);
        assert!(!p.is_empty());
    }

    #[test]
    fn same_values_is_no_change() {
        let cur = [stored(1, 10)];
        let p = plan(&cur, &SkillSetWrite::Replace(vec![want(1, 10)]));
        assert!(p.is_empty());
    }
}
