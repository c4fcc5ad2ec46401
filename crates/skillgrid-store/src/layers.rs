//! Skills given by SCIM Groups, layered over an agent's own assignments (migration 0016).
//!
//! An agent's stored assignments are its effective skills, what every reader sees. For a skill
//! some group of the agent gives, `skill_layers` keeps the highest proficiency its groups give
//! and the agent's own ("direct") assignment, if any; the effective assignment is the direct one
//! when it is at least what the groups give (with its dates), else what the groups give (no
//! dates). A direct write (the API, SCIM Users) to such a skill changes the direct layer, and
//! the effective value stays the higher of the two: removing the skill directly leaves what
//! the groups give. These are the rules, no I/O; each backend reads and writes the layers.

use crate::common::AgentRow;
use crate::*;
use foldhash::HashMap as Map;
use skillgrid_core::model::{Assignment, Given, SkillSetWrite};

/// The options of the skill-set write inside a group's change: every member written, active
/// or not, whatever the organization's limit of skills per agent (a group's skills are its
/// identity provider's to give).
pub(crate) const SETTLE: WriteOptions = WriteOptions {
    dry_run: false,
    atomic: true,
    max_skills_per_agent: u64::MAX,
    return_sets: false,
    inactive_ok: true,
};

/// What groups give an agent of one skill, and the agent's own assignment of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layer {
    pub skill: SkillId,
    pub given: i64,
    pub direct: Option<Assignment>,
}

/// An assignment as a layer's direct one, from its stored columns.
pub(crate) fn direct(
    skill: SkillId,
    proficiency: Option<i64>,
    effective: Option<i64>,
    expires: Option<i64>,
) -> Option<Assignment> {
    proficiency.map(|p| Assignment {
        skill_id: skill,
        proficiency: p,
        effective: effective.map(Timestamp),
        expires: expires.map(Timestamp),
        given: Given::Number,
    })
}

/// The effective assignment of `skill`: the direct one when it is at least what groups give,
/// else what they give (no dates); none when neither is.
pub(crate) fn effective(
    skill: SkillId,
    given: Option<i64>,
    direct: Option<Assignment>,
) -> Option<Assignment> {
    match (given, direct) {
        (None, d) => d,
        (Some(g), Some(d)) if d.proficiency >= g => Some(d),
        (Some(g), _) => Some(Assignment {
            skill_id: skill,
            proficiency: g,
            effective: None,
            expires: None,
            given: Given::Number,
        }),
    }
}

/// A direct write to agents with layers, made a write of their effective sets.
pub(crate) struct Layered {
    pub items: Vec<AgentWrite>,
    /// The new direct assignment of each layer the write touches: (item, agent key, skill).
    pub updates: Vec<(usize, i64, SkillId, Option<Assignment>)>,
}

impl Layered {
    /// The updates of the items that were applied, as (agent key, skill, direct assignment).
    pub(crate) fn applied<'a>(
        &'a self,
        outcomes: &'a [ItemOutcome],
    ) -> impl Iterator<Item = (i64, SkillId, Option<Assignment>)> + 'a {
        self.updates.iter().filter_map(move |(i, pk, s, d)| {
            matches!(outcomes.get(*i), Some(ItemOutcome::Applied { .. })).then_some((*pk, *s, *d))
        })
    }
}

/// `items` as writes of effective sets, where their agents have `layers` (by agent key); none
/// when no agent of theirs has any.
pub(crate) fn layer_items(
    items: &[AgentWrite],
    agents: &Map<AgentId, AgentRow>,
    layers: &Map<i64, Vec<Layer>>,
) -> Option<Layered> {
    let of = |it: &AgentWrite| {
        agents
            .get(&it.agent_id)
            .and_then(|a| Some((a.pk, layers.get(&a.pk)?)))
    };
    if !items.iter().any(|it| of(it).is_some()) {
        return None;
    }
    let mut out = Layered {
        items: Vec::with_capacity(items.len()),
        updates: Vec::new(),
    };
    for (i, it) in items.iter().enumerate() {
        let Some((pk, ls)) = of(it) else {
            out.items.push(it.clone());
            continue;
        };
        let layer = |s: SkillId| ls.iter().find(|l| l.skill == s);
        let lift = |a: &Assignment, l: &Layer| effective(a.skill_id, Some(l.given), Some(*a));
        let write = match &it.write {
            SkillSetWrite::Replace(set) => {
                let mut next = Vec::with_capacity(set.len() + ls.len());
                for a in set {
                    match layer(a.skill_id) {
                        Some(l) => {
                            out.updates.push((i, pk, a.skill_id, Some(*a)));
                            next.extend(lift(a, l));
                        }
                        None => next.push(*a),
                    }
                }
                for l in ls {
                    if !set.iter().any(|a| a.skill_id == l.skill) {
                        out.updates.push((i, pk, l.skill, None));
                        next.extend(effective(l.skill, Some(l.given), None));
                    }
                }
                SkillSetWrite::Replace(next)
            }
            SkillSetWrite::Merge { upsert, remove } => {
                let mut up = Vec::with_capacity(upsert.len());
                let mut rm = Vec::with_capacity(remove.len());
                for a in upsert {
                    match layer(a.skill_id) {
                        Some(l) => {
                            out.updates.push((i, pk, a.skill_id, Some(*a)));
                            up.extend(lift(a, l));
                        }
                        None => up.push(*a),
                    }
                }
                for s in remove {
                    match layer(*s) {
                        Some(l) => {
                            out.updates.push((i, pk, *s, None));
                            up.extend(effective(*s, Some(l.given), None));
                        }
                        None => rm.push(*s),
                    }
                }
                SkillSetWrite::Merge {
                    upsert: up,
                    remove: rm,
                }
            }
        };
        out.items.push(AgentWrite {
            agent_id: it.agent_id,
            write,
            if_match: it.if_match,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skill(n: u128) -> SkillId {
        SkillId::new(Uuid::from_u128(n))
    }
    fn a(n: u128, p: i64) -> Assignment {
        Assignment {
            proficiency: p,
            ..Assignment::omitted(skill(n), p)
        }
    }

    #[test]
    fn the_higher_layer_wins_and_a_group_alone_has_no_dates() {
        let dated = Assignment {
            expires: Some(Timestamp(5)),
            ..a(1, 90)
        };
        assert_eq!(effective(skill(1), Some(50), Some(dated)), Some(dated));
        let e = effective(skill(1), Some(95), Some(dated)).unwrap();
        assert_eq!((e.proficiency, e.expires), (95, None));
        assert_eq!(effective(skill(1), None, None), None);
        assert_eq!(effective(skill(1), None, Some(dated)), Some(dated));
    }

    #[test]
    fn a_direct_write_changes_the_direct_layer_and_keeps_what_groups_give() {
        let agent = AgentId::new(Uuid::from_u128(7));
        let agents: Map<AgentId, AgentRow> = [(
            agent,
            AgentRow {
                pk: 3,
                version: 1,
                active: true,
            },
        )]
        .into_iter()
        .collect();
        let layers: Map<i64, Vec<Layer>> = [(
            3,
            vec![Layer {
                skill: skill(1),
                given: 60,
                direct: None,
            }],
        )]
        .into_iter()
        .collect();
        // Replacing the set with another skill keeps the group's; a direct 40 stays 60.
        let items = [
            AgentWrite {
                agent_id: agent,
                write: SkillSetWrite::Replace(vec![a(2, 10)]),
                if_match: None,
            },
            AgentWrite {
                agent_id: agent,
                write: SkillSetWrite::Merge {
                    upsert: vec![a(1, 40)],
                    remove: vec![],
                },
                if_match: None,
            },
            AgentWrite {
                agent_id: agent,
                write: SkillSetWrite::Merge {
                    upsert: vec![],
                    remove: vec![skill(1), skill(2)],
                },
                if_match: None,
            },
        ];
        let l = layer_items(&items, &agents, &layers).unwrap();
        let SkillSetWrite::Replace(set) = &l.items[0].write else {
            panic!("a replace stays one")
        };
        assert_eq!(
            set.iter()
                .map(|x| (x.skill_id, x.proficiency))
                .collect::<Vec<_>>(),
            vec![(skill(2), 10), (skill(1), 60)]
        );
        let SkillSetWrite::Merge { upsert, remove } = &l.items[1].write else {
            panic!("a merge stays one")
        };
        assert_eq!((upsert[0].proficiency, remove.len()), (60, 0));
        let SkillSetWrite::Merge { upsert, remove } = &l.items[2].write else {
            panic!("a merge stays one")
        };
        assert_eq!(
            (upsert[0].proficiency, remove.clone()),
            (60, vec![skill(2)])
        );
        assert_eq!(
            l.updates,
            vec![
                (0, 3, skill(1), None),
                (1, 3, skill(1), Some(a(1, 40))),
                (2, 3, skill(1), None)
            ]
        );
        // Agents without layers are left as they are.
        assert!(layer_items(&items, &agents, &Map::default()).is_none());
    }
}
