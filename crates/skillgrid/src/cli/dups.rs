//! Finding rows that repeat an agent+skill pair without keeping a record of every row.
//!
//! Files are read twice. The first pass ([`Runs`]) only notes which agents' rows are not next to
//! each other ("scattered"): one entry per distinct agent. In the second pass ([`Dups`]) a
//! repeat of a contiguous agent can only fall inside that agent's run, so only the current run's
//! skills are kept; the pairs of scattered agents are kept in one map of 8-byte keys. A file
//! grouped by agent (as `export` writes it) is thus checked in memory that does not grow with
//! its length.
//!
//! Agents and skills are small integer keys: indices in the server's lists for `apply`, or
//! interned spellings for the offline `validate` ([`Interner`]).

use std::collections::HashMap;

/// First pass: which agents have more than one run of rows, and where each began.
#[derive(Default)]
pub struct Runs {
    /// First line of every agent seen.
    first: HashMap<u32, u64>,
    /// Scattered agent -> the first line of its first run.
    scattered: HashMap<u32, u64>,
    current: Option<u32>,
}

impl Runs {
    pub fn push(&mut self, agent: u32, line: u64) {
        if self.current == Some(agent) {
            return;
        }
        self.current = Some(agent);
        match self.first.get(&agent) {
            Some(&first) => {
                self.scattered.insert(agent, first);
            }
            None => {
                self.first.insert(agent, line);
            }
        }
    }

    /// Scattered agent -> the line its rows begin.
    pub fn finish(self) -> HashMap<u32, u64> {
        self.scattered
    }
}

/// Second pass: the line a pair was first seen on, if it was.
pub struct Dups {
    scattered: HashMap<u32, u64>,
    /// Pairs of scattered agents: `agent << 32 | skill` -> line.
    across: HashMap<u64, u64>,
    current: Option<u32>,
    /// Skills of the current run of a contiguous agent -> line.
    run: HashMap<u32, u64>,
}

impl Dups {
    pub fn new(scattered: HashMap<u32, u64>) -> Self {
        Dups {
            scattered,
            across: HashMap::new(),
            current: None,
            run: HashMap::new(),
        }
    }

    /// Forgets the pairs seen, to read the file again; the room they took is kept for the
    /// same pairs.
    pub fn rewind(&mut self) {
        self.across.clear();
        self.run.clear();
        self.current = None;
    }

    /// Where `agent`'s rows begin, when they are not all next to each other.
    pub fn scattered(&self, agent: u32) -> Option<u64> {
        self.scattered.get(&agent).copied()
    }

    /// Records the pair; `Some(first line)` when it was already seen.
    pub fn check(&mut self, agent: u32, skill: u32, line: u64) -> Option<u64> {
        if self.scattered.contains_key(&agent) {
            let key = u64::from(agent) << 32 | u64::from(skill);
            return match self.across.insert(key, line) {
                Some(first) => {
                    self.across.insert(key, first);
                    Some(first)
                }
                None => None,
            };
        }
        if self.current != Some(agent) {
            self.current = Some(agent);
            self.run.clear();
        }
        match self.run.insert(skill, line) {
            Some(first) => {
                self.run.insert(skill, first);
                Some(first)
            }
            None => None,
        }
    }
}

/// Small integer keys for spellings compared case-insensitively (offline, without the server).
#[derive(Default)]
pub struct Interner {
    keys: HashMap<String, u32>,
}

impl Interner {
    pub fn key(&mut self, s: &str) -> u32 {
        let lower = s.to_lowercase();
        if let Some(&k) = self.keys.get(&lower) {
            return k;
        }
        let k = self.keys.len() as u32;
        self.keys.insert(lower, k);
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rows: &[(u32, u32)]) -> Vec<Option<u64>> {
        let mut runs = Runs::default();
        for (i, (a, _)) in rows.iter().enumerate() {
            runs.push(*a, i as u64 + 2);
        }
        let mut d = Dups::new(runs.finish());
        rows.iter()
            .enumerate()
            .map(|(i, (a, s))| d.check(*a, *s, i as u64 + 2))
            .collect()
    }

    #[test]
    fn repeats_are_found_in_a_run_and_across_runs() {
        // agent 0 is contiguous, agent 1 scattered.
        assert_eq!(
            run(&[
                (0, 5),
                (0, 6),
                (0, 5),
                (1, 5),
                (2, 5),
                (1, 5),
                (1, 7),
                (2, 5)
            ]),
            vec![None, None, Some(2), None, None, Some(5), None, Some(6)]
        );
    }

    #[test]
    fn a_rewound_file_repeats_nothing_yet() {
        let mut runs = Runs::default();
        for (line, a) in [(2, 0), (3, 1), (4, 0)] {
            runs.push(a, line);
        }
        let mut d = Dups::new(runs.finish());
        for _ in 0..2 {
            assert_eq!(d.check(0, 5, 2), None);
            assert_eq!(d.check(1, 5, 3), None);
            assert_eq!(d.check(0, 5, 4), Some(2));
            d.rewind();
        }
        assert_eq!(d.scattered(0), Some(2));
    }

    #[test]
    fn contiguous_runs_keep_only_the_current_run() {
        let rows: Vec<(u32, u32)> = (0..1000)
            .flat_map(|a| (0..3).map(move |s| (a, s)))
            .collect();
        let mut runs = Runs::default();
        for (i, (a, _)) in rows.iter().enumerate() {
            runs.push(*a, i as u64);
        }
        let mut d = Dups::new(runs.finish());
        assert!(d.scattered.is_empty());
        for (i, (a, s)) in rows.iter().enumerate() {
            assert_eq!(d.check(*a, *s, i as u64), None);
            assert!(d.run.len() <= 3 && d.across.is_empty());
        }
    }
}
