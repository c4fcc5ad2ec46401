//! What a desired skill set changes against the stored one.
//!
//! The store loads an agent's current assignments, asks [`plan`] what changes, writes exactly
//! that (and its audit entries), and bumps the version only when the plan is not empty.

use crate::model::{Assignment, SkillSetWrite, StoredAssignment};
use std::collections::HashMap;
use uuid::Uuid;

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

pub fn plan(current: &[StoredAssignment], write: &SkillSetWrite) -> Plan {
    let by_id: HashMap<Uuid, &StoredAssignment> = current.iter().map(|a| (a.skill_id, a)).collect();
    let mut p = Plan::default();
    let upserts: &[Assignment] = match write {
        SkillSetWrite::Replace(set) => set,
        SkillSetWrite::Merge { upsert, .. } => upsert,
    };
    for a in upserts {
        match by_id.get(&a.skill_id) {
            None => p.added.push(*a),
            Some(old) if old.same_values(a) => p.unchanged += 1,
            Some(old) => p.updated.push((**old, *a)),
        }
    }
    match write {
        SkillSetWrite::Replace(set) => {
            let keep: std::collections::HashSet<Uuid> = set.iter().map(|a| a.skill_id).collect();
            p.removed = current
                .iter()
                .filter(|a| !keep.contains(&a.skill_id))
                .copied()
                .collect();
        }
        SkillSetWrite::Merge { remove, .. } => {
            for id in remove {
                if let Some(old) = by_id.get(id) {
                    p.removed.push(**old);
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

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
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
            skill_id: id(n),
            proficiency: p,
            effective: None,
            expires: None,
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
