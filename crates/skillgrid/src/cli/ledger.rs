//! What became of each row of a file `apply` reads, told in line order and counted once.
//!
//! A row's mistakes are found out of order: its own when it is read, the server's when the
//! chunk holding it is answered, which can be many rows later; and a row can be left unwritten
//! for a mistake elsewhere (another row of its agent, or of its request). The [`Ledger`] holds
//! each line's outcome until the caller says no earlier line can get another one, then prints
//! the mistakes of the lines before that point, each once and in line order, and counts a line
//! with a mistake as failed and an unwritten one without a mistake as skipped. The server's
//! warnings (a row written, or in a dry run that would be, that looks like a mistake) are told
//! the same way, beside the mistakes, and fail nothing. What waits is bounded by the open
//! chunk, not by the file.

use super::csvfile::Diag;
use std::collections::BTreeMap;

/// At most this many mistakes, and as many warnings, are kept for the `--json` summary (all
/// are printed on stderr).
pub const LISTED_ERRORS: usize = 10_000;

#[derive(Default)]
struct Line {
    mistakes: Vec<Diag>,
    warnings: Vec<Diag>,
    unwritten: bool,
}

impl Line {
    fn list(&mut self, warning: bool) -> &mut Vec<Diag> {
        if warning {
            &mut self.warnings
        } else {
            &mut self.mistakes
        }
    }
}

pub struct Ledger {
    file: String,
    waiting: BTreeMap<u64, Line>,
    /// Lines before this one are told.
    told: u64,
    failed: u64,
    skipped: u64,
    errors: u64,
    listed: Vec<Diag>,
    warnings: u64,
    listed_warnings: Vec<Diag>,
}

impl Ledger {
    /// `file` is the name the mistakes are printed with.
    pub fn new(file: String) -> Self {
        Ledger {
            file,
            waiting: BTreeMap::new(),
            told: 0,
            failed: 0,
            skipped: 0,
            errors: 0,
            listed: Vec::new(),
            warnings: 0,
            listed_warnings: Vec::new(),
        }
    }

    /// A mistake; the same one twice on a line is told once.
    pub fn mistake(&mut self, d: Diag) {
        self.note(d, false);
    }

    /// A warning: told like a mistake, but the row neither fails nor is left unwritten by it.
    pub fn warning(&mut self, d: Diag) {
        self.note(d, true);
    }

    fn note(&mut self, d: Diag, warning: bool) {
        if d.line < self.told {
            // Only a bug of the caller gets here: better out of order than lost.
            debug_assert!(false, "line {} is already told", d.line);
            let mut l = Line::default();
            l.list(warning).push(d);
            self.tell(l);
            return;
        }
        let list = self.waiting.entry(d.line).or_default().list(warning);
        if !list.contains(&d) {
            list.push(d);
        }
    }

    /// A row that is not written (or, in a dry run, would not be); skipped unless it has a
    /// mistake of its own.
    pub fn unwritten(&mut self, line: u64) {
        if line >= self.told {
            self.waiting.entry(line).or_default().unwritten = true;
        }
    }

    /// Tells the lines before `line`: no mistake or unwritten row may come for them after this.
    pub fn tell_before(&mut self, line: u64) {
        while let Some(entry) = self.waiting.first_entry() {
            if *entry.key() >= line {
                break;
            }
            let l = entry.remove();
            self.tell(l);
        }
        self.told = self.told.max(line);
    }

    /// Tells every line left.
    pub fn tell_all(&mut self) {
        self.tell_before(u64::MAX);
    }

    fn tell(&mut self, l: Line) {
        if l.mistakes.is_empty() {
            self.skipped += u64::from(l.unwritten);
        } else {
            self.failed += 1;
        }
        for d in l.mistakes {
            eprintln!("{}", d.display(&self.file));
            self.errors += 1;
            if self.listed.len() < LISTED_ERRORS {
                self.listed.push(d);
            }
        }
        for d in l.warnings {
            eprintln!("{}", d.display_warning(&self.file));
            self.warnings += 1;
            if self.listed_warnings.len() < LISTED_ERRORS {
                self.listed_warnings.push(d);
            }
        }
    }

    /// An error that is not a row's (the file cannot be read on), told at once.
    pub fn last_word(&mut self, d: Diag) {
        self.tell_all();
        eprintln!("{}", d.display(&self.file));
        self.errors += 1;
        if self.listed.len() < LISTED_ERRORS {
            self.listed.push(d);
        }
    }

    /// The file is read again from its first line; what was told stays counted.
    pub fn rewind(&mut self) {
        self.tell_all();
        self.told = 0;
    }

    /// Lines waiting to be told.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Rows with a mistake, told or waiting.
    pub fn failed_so_far(&self) -> u64 {
        self.failed
            + self
                .waiting
                .values()
                .filter(|l| !l.mistakes.is_empty())
                .count() as u64
    }

    /// Rows with a mistake, told so far.
    pub fn failed(&self) -> u64 {
        self.failed
    }

    /// Rows without a mistake left unwritten, told so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Mistakes told so far.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// The first [`LISTED_ERRORS`] mistakes, in line order.
    pub fn listed(&self) -> &[Diag] {
        &self.listed
    }

    /// Warnings told so far.
    pub fn warnings(&self) -> u64 {
        self.warnings
    }

    /// The first [`LISTED_ERRORS`] warnings, in line order.
    pub fn listed_warnings(&self) -> &[Diag] {
        &self.listed_warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(line: u64, column: &str, message: &str) -> Diag {
        Diag::new(line, column, message)
    }

    #[test]
    fn mistakes_are_told_in_line_order_once_each() {
        let mut l = Ledger::new("f.csv".into());
        l.mistake(d(5, "skill", "unknown"));
        l.mistake(d(3, "proficiency", "out of range"));
        l.mistake(d(5, "proficiency", "bad"));
        l.mistake(d(3, "proficiency", "out of range"));
        l.tell_before(4);
        assert_eq!(l.failed(), 1);
        assert_eq!(l.listed(), &[d(3, "proficiency", "out of range")]);
        l.mistake(d(5, "skill", "unknown"));
        l.mistake(d(4, "agent", "inactive"));
        l.tell_all();
        assert_eq!(
            l.listed(),
            &[
                d(3, "proficiency", "out of range"),
                d(4, "agent", "inactive"),
                d(5, "skill", "unknown"),
                d(5, "proficiency", "bad"),
            ]
        );
        assert_eq!((l.failed(), l.errors(), l.skipped()), (3, 4, 0));
    }

    #[test]
    fn an_unwritten_row_is_skipped_only_without_a_mistake() {
        let mut l = Ledger::new("f.ndjson".into());
        l.unwritten(2);
        l.unwritten(2);
        l.unwritten(3);
        l.mistake(d(3, "skill", "unknown"));
        l.unwritten(7);
        l.tell_before(7);
        assert_eq!((l.failed(), l.skipped(), l.waiting()), (1, 1, 1));
        l.tell_all();
        assert_eq!((l.failed(), l.skipped(), l.waiting()), (1, 2, 0));
    }

    #[test]
    fn a_warning_is_told_in_line_order_and_fails_nothing() {
        let mut l = Ledger::new("f.csv".into());
        l.warning(d(4, "proficiency", "5 of 100"));
        l.mistake(d(3, "skill", "unknown"));
        l.warning(d(2, "proficiency", "3 of 100"));
        l.warning(d(2, "proficiency", "3 of 100"));
        l.unwritten(4);
        l.tell_all();
        assert_eq!(
            l.listed_warnings(),
            &[
                d(2, "proficiency", "3 of 100"),
                d(4, "proficiency", "5 of 100")
            ]
        );
        assert_eq!(l.listed(), &[d(3, "skill", "unknown")]);
        assert_eq!(
            (l.failed(), l.errors(), l.warnings(), l.skipped()),
            (1, 1, 2, 1)
        );
    }
}
