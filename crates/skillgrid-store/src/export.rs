//! The export of every assignment of an organization as of one moment, backend-neutral.
//!
//! An export reads one snapshot (an SQLite read transaction, a PostgreSQL `REPEATABLE READ`
//! one) on a connection of its own, so that it neither takes a connection other requests wait
//! for nor sees half of a write that commits while it runs. Its rows are handed over in
//! parts through a bounded channel: the reader stays at most [`PARTS_AHEAD`] parts ahead of
//! whoever sends them on, so memory does not grow with the organization. When the receiver
//! is dropped (the client went away) the reader stops at its next part and its transaction
//! ends; when the receiver takes nothing for [`ExportOptions::stall`], the reader gives up
//! the same way, and the parts end without [`ExportPart::End`]. The organization's proficiency
//! scale is read in the same snapshot, so that the levels written beside the rows are those
//! the rows were stored under.

use crate::*;
use skillgrid_core::api::ProficiencyScale;
use std::collections::HashMap;
use std::time::Duration;

/// Parts a reader may have ready before the receiver takes them.
pub const PARTS_AHEAD: usize = 4;

/// Assignments a part holds, at least (a part ends with an agent's last assignment).
pub const PART_ROWS: usize = 4096;

/// Which assignments an export holds, and how its reader ends.
pub struct ExportOptions {
    /// `Some(true)`: only active agents' assignments of active skills; `Some(false)`: only
    /// the others (an inactive agent or skill); `None`: every assignment.
    pub active: Option<bool>,
    /// How long the reader waits for the receiver to take a part before it gives up.
    pub stall: Duration,
    /// Kept by the reader and dropped once its connection is closed (or never opened): what a
    /// caller that bounds the exports running at once counts them with.
    pub hold: Option<Box<dyn Send>>,
}

impl ExportOptions {
    /// Every assignment (or those `active` says), given up after `stall`, held by nothing.
    pub fn new(active: Option<bool>, stall: Duration) -> Self {
        ExportOptions {
            active,
            stall,
            hold: None,
        }
    }
}

impl std::fmt::Debug for ExportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportOptions")
            .field("active", &self.active)
            .field("stall", &self.stall)
            .field("hold", &self.hold.is_some())
            .finish()
    }
}

/// A skill of the exported organization, as the snapshot sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSkill {
    pub id: SkillId,
    pub name: String,
    pub active: bool,
}

/// An assignment of an exported agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportHeld {
    /// The skill: its place in [`Export::skills`].
    pub skill: u32,
    pub proficiency: i64,
    pub effective: Option<Timestamp>,
    pub expires: Option<Timestamp>,
}

/// An agent and its exported assignments, in skill-name order (case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportAgent {
    pub id: AgentId,
    pub email: String,
    pub held: Vec<ExportHeld>,
}

/// What an export's channel carries.
#[derive(Debug)]
pub enum ExportPart {
    /// Agents in e-mail order (case-insensitively), each with at least one assignment.
    Agents(Vec<ExportAgent>),
    /// Everything was read: the parts before this are the whole export.
    End,
}

/// An export under way: what its snapshot says about itself, and its parts.
#[derive(Debug)]
pub struct Export {
    /// The organization's last event sequence number the snapshot includes (0: none): the
    /// event feed's `after` from which a consumer follows the changes made since.
    pub event_sequence: i64,
    /// When the snapshot was taken (by the server's clock).
    pub taken_at: Timestamp,
    /// The organization's proficiency scale as the snapshot sees it: the one its rows' levels
    /// are named by, whatever the scale is by the time they are written out.
    pub scale: ProficiencyScale,
    /// The organization's skills in name order (case-insensitively), as the snapshot sees
    /// them; [`ExportHeld::skill`] is a place in this list.
    pub skills: Vec<ExportSkill>,
    /// The agents, a part at a time; a channel that closes without [`ExportPart::End`] means
    /// the export was cut short (an error is sent first when there was one).
    pub parts: tokio::sync::mpsc::Receiver<Result<ExportPart>>,
}

/// Turns rows of `(agent, assignment)`, read in agent order, into parts of agents with their
/// assignments in skill order: the one grouping both backends use.
pub(crate) struct Grouper {
    /// A skill's key to its place in the export's skill list (which is in name order).
    places: HashMap<i64, u32>,
    skill_active: Vec<bool>,
    want_active: Option<bool>,
    /// The agent being read: its key, whether it is active, and what it holds so far.
    current: Option<(i64, bool, ExportAgent)>,
    part: Vec<ExportAgent>,
    rows: usize,
}

impl Grouper {
    /// `skills` are the organization's `(key, skill)`s in name order.
    pub(crate) fn new(skills: &[(i64, ExportSkill)], want_active: Option<bool>) -> Self {
        Grouper {
            places: skills
                .iter()
                .enumerate()
                .map(|(i, (pk, _))| (*pk, i as u32))
                .collect(),
            skill_active: skills.iter().map(|(_, s)| s.active).collect(),
            want_active,
            current: None,
            part: Vec::new(),
            rows: 0,
        }
    }

    /// Whether the agent with the key `pk` is the one being read (its row then needs only
    /// [`Grouper::hold`]).
    pub(crate) fn is_current(&self, pk: i64) -> bool {
        self.current.as_ref().is_some_and(|(c, _, _)| *c == pk)
    }

    /// The next agent's first row: the agent before it is done. A full part, when there is one.
    pub(crate) fn begin(
        &mut self,
        pk: i64,
        id: AgentId,
        email: String,
        active: bool,
    ) -> Option<Vec<ExportAgent>> {
        self.close();
        self.current = Some((
            pk,
            active,
            ExportAgent {
                id,
                email,
                held: Vec::new(),
            },
        ));
        (self.rows >= PART_ROWS).then(|| {
            self.rows = 0;
            std::mem::take(&mut self.part)
        })
    }

    /// An assignment of the agent being read.
    pub(crate) fn hold(
        &mut self,
        skill_pk: i64,
        proficiency: i64,
        effective: Option<i64>,
        expires: Option<i64>,
    ) {
        let (Some((_, agent_active, agent)), Some(&skill)) =
            (self.current.as_mut(), self.places.get(&skill_pk))
        else {
            return;
        };
        let both = *agent_active && self.skill_active[skill as usize];
        if self.want_active.is_some_and(|want| want != both) {
            return;
        }
        agent.held.push(ExportHeld {
            skill,
            proficiency,
            effective: effective.map(Timestamp),
            expires: expires.map(Timestamp),
        });
    }

    fn close(&mut self) {
        if let Some((_, _, mut agent)) = self.current.take() {
            if !agent.held.is_empty() {
                agent.held.sort_unstable_by_key(|h| h.skill);
                self.rows += agent.held.len();
                self.part.push(agent);
            }
        }
    }

    /// The last part (possibly empty).
    pub(crate) fn finish(mut self) -> Vec<ExportAgent> {
        self.close();
        self.part
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skill(name: &str, active: bool) -> ExportSkill {
        ExportSkill {
            id: SkillId::from(Uuid::now_v7()),
            name: name.into(),
            active,
        }
    }

    #[test]
    fn rows_are_grouped_by_agent_in_skill_order_and_filtered() {
        // Keys deliberately out of name order: the list's order decides.
        let skills = [(9, skill("Billing", true)), (3, skill("Sales", false))];
        let agent = AgentId::from(Uuid::now_v7());
        for (want, expected) in [
            (None, vec![0, 1]),
            (Some(true), vec![0]),
            (Some(false), vec![1]),
        ] {
            let mut g = Grouper::new(&skills, want);
            assert!(g.begin(1, agent, "a@x".into(), true).is_none());
            assert!(g.is_current(1));
            g.hold(3, 40, None, None);
            g.hold(9, 50, Some(1), Some(2));
            g.hold(77, 1, None, None); // not in the list: left out
            let held: Vec<u32> = g.finish()[0].held.iter().map(|h| h.skill).collect();
            assert_eq!(held, expected, "{want:?}");
        }
    }

    #[test]
    fn a_part_closes_at_an_agent_boundary_once_full() {
        let skills: Vec<(i64, ExportSkill)> = (0..PART_ROWS as i64)
            .map(|i| (i, skill(&format!("s{i:05}"), true)))
            .collect();
        let mut g = Grouper::new(&skills, None);
        let id = AgentId::from(Uuid::now_v7());
        assert!(g.begin(1, id, "a".into(), true).is_none());
        for s in 0..PART_ROWS as i64 {
            g.hold(s, 1, None, None);
        }
        let part = g.begin(2, id, "b".into(), true).expect("a full part");
        assert_eq!(part.len(), 1);
        assert_eq!(part[0].held.len(), PART_ROWS);
        // An agent without assignments is left out entirely.
        assert!(g.begin(3, id, "c".into(), true).is_none());
        g.hold(0, 1, None, None);
        let last = g.finish();
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].email, "c");
    }
}
