//! What a chunk of the file becomes before it is sent: each agent's consecutive rows as one
//! bulk item in the making ([`Run`]), the runs of one request ([`Chunk`]), and the way back
//! from a pointer in the server's answer to the file's line and column.

use super::super::csvfile::Diag;
use skillgrid_client::types::{AssignmentIn, ErrorEntry};
use skillgrid_client::{BulkMode, IfMatch};
use skillgrid_core::csv_import::{locate, ItemLines};
use std::collections::HashSet;
use uuid::Uuid;

/// One agent's consecutive rows: a bulk item in the making, with the line of each part.
pub(super) struct Run {
    pub(super) agent: u32,
    /// The line of each part.
    pub(super) at: ItemLines,
    pub(super) skills: Vec<AssignmentIn>,
    pub(super) remove: Vec<Uuid>,
    pub(super) if_match: Option<IfMatch>,
    /// A row of this run has a mistake.
    pub(super) tainted: bool,
    /// The run has an `ifMatch` row, valid or not.
    pub(super) guarded: bool,
}

impl Run {
    pub(super) fn new(agent: u32, first_line: u64) -> Self {
        Run {
            agent,
            at: ItemLines::new(first_line),
            skills: Vec::new(),
            remove: Vec::new(),
            if_match: None,
            tainted: false,
            guarded: false,
        }
    }

    pub(super) fn len(&self) -> u64 {
        (self.skills.len() + self.remove.len()) as u64
    }

    pub(super) fn all_lines(&self) -> impl Iterator<Item = u64> + '_ {
        self.at
            .skills
            .iter()
            .chain(&self.at.remove)
            .copied()
            .chain(self.at.if_match)
    }

    /// Whether none of the run may be sent: replacing with a set missing a row that has a
    /// mistake would drop that skill, and sending a guarded run without its row with a mistake
    /// might drop the precondition.
    pub(super) fn doomed(&self, mode: BulkMode) -> bool {
        self.tainted && (mode == BulkMode::Replace || self.guarded)
    }

    /// Empties the run, giving the lines of what it held.
    pub(super) fn drain(&mut self) -> Vec<u64> {
        let lines = self.all_lines().collect();
        self.skills.clear();
        self.at.skills.clear();
        self.remove.clear();
        self.at.remove.clear();
        self.if_match = None;
        self.at.if_match = None;
        lines
    }
}

#[derive(Default)]
pub(super) struct Chunk {
    pub(super) items: Vec<Run>,
    pub(super) agents: HashSet<u32>,
    pub(super) assignments: u64,
}

impl Chunk {
    /// `(line, column)` of the file cell a pointer of this chunk's request names.
    pub(super) fn locate(&self, pointer: &str, item: Option<usize>) -> Option<(u64, &'static str)> {
        locate(pointer, item, |i| self.items.get(i).map(|r| &r.at))
    }

    /// A server's entry about this chunk's request (an error or a warning), at the line and
    /// column its pointer names; one of item `item` when the pointer is relative to it.
    pub(super) fn diag(&self, e: &ErrorEntry, item: Option<usize>) -> Diag {
        let msg = e.message();
        let pointer = e.pointer.as_deref().unwrap_or("");
        match self.locate(pointer, item) {
            Some((line, column)) => Diag::new(line, column, msg),
            None => {
                let line = item
                    .and_then(|i| self.items.get(i))
                    .or(self.items.first())
                    .map_or(1, |i| i.at.first_line);
                Diag::new(line, "agent", format!("{pointer}: {msg}"))
            }
        }
    }
}

/// Rows, counted by their line: the entries of one NDJSON line are one row, as are a CSV
/// record and an entry of a JSON document (each has an ordinal of its own).
#[derive(Default)]
pub(super) struct RowCount {
    pub(super) last: Option<u64>,
    pub(super) n: u64,
}

impl RowCount {
    pub(super) fn see(&mut self, line: u64) {
        if self.last != Some(line) {
            self.last = Some(line);
            self.n += 1;
        }
    }
}

/// What a row adds to its agent's run.
pub(super) enum Entry {
    Assign(AssignmentIn),
    Remove(Uuid),
    IfMatch(IfMatch),
}

#[cfg(test)]
mod tests {
    use super::*;
    use skillgrid_client::types::EntryCode;

    fn run(agent: u32, lines: &[u64]) -> Run {
        let mut r = Run::new(agent, lines[0]);
        r.at.skills = lines.to_vec();
        r
    }

    #[test]
    fn a_servers_entry_lands_on_the_row_its_pointer_names() {
        let chunk = Chunk {
            items: vec![run(0, &[2, 3]), run(1, &[7, 9])],
            ..Default::default()
        };
        let at = |pointer: &str, code, item| {
            let d = chunk.diag(&ErrorEntry::at(pointer, code, "x"), item);
            (d.line, d.column, d.message)
        };
        let warned =
            |line, column: &str, code: &str| (line, column.to_string(), format!("x ({code})"));
        assert_eq!(
            at("/items/1/skills/1/proficiency", EntryCode::OtherScale, None),
            warned(9, "proficiency", "other_scale")
        );
        // A pointer into one item's own body.
        assert_eq!(
            at(
                "/skills/0/proficiency",
                EntryCode::BelowLowestLevel,
                Some(1)
            ),
            warned(7, "proficiency", "below_lowest_level")
        );
        // An emptied set is the whole item's: its agent's first row.
        assert_eq!(
            at("/items/1/skills", EntryCode::EmptiedSet, None),
            warned(7, "agent", "emptied_set")
        );
        // A place that is no row of the chunk: its first row, with the pointer said.
        assert_eq!(
            at("/items/4/skills/0", EntryCode::Unrecognized, None),
            (2, "agent".to_string(), "/items/4/skills/0: x".to_string())
        );
    }

    #[test]
    fn a_run_with_a_mistake_is_dropped_whole_when_sending_part_of_it_would_change_its_meaning() {
        let mut r = run(0, &[2, 3]);
        assert!(!r.doomed(BulkMode::Merge));
        r.tainted = true;
        // Merging the rows without a mistake adds what they say and touches nothing else.
        assert!(!r.doomed(BulkMode::Merge));
        // Replacing with them would remove the skill of the row with the mistake.
        assert!(r.doomed(BulkMode::Replace));
        // Without its `ifMatch` row, a guarded run would be written unguarded.
        r.guarded = true;
        assert!(r.doomed(BulkMode::Merge));
    }

    #[test]
    fn draining_a_run_gives_the_line_of_everything_it_held() {
        let mut r = run(0, &[2, 3]);
        r.remove.push(Uuid::nil());
        r.at.remove.push(5);
        r.if_match = Some(IfMatch::Version(4));
        r.at.if_match = Some(6);
        // (`run` gives lines without assignments: the removal is all it sends.)
        assert_eq!(r.len(), 1);
        assert_eq!(r.drain(), [2, 3, 5, 6]);
        assert_eq!(r.len(), 0);
        assert!(r.if_match.is_none());
    }

    #[test]
    fn rows_are_counted_by_line_not_by_entry() {
        let mut n = RowCount::default();
        // An NDJSON line holding three entries is one row.
        for line in [1, 1, 1, 2, 3, 3] {
            n.see(line);
        }
        assert_eq!(n.n, 3);
    }
}
