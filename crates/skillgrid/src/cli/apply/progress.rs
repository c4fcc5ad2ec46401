//! Where a run is: which pass over the file, and progress on stderr (a bar on a terminal,
//! plain lines otherwise).

use std::io::IsTerminal;

/// The two reads of the file that send it: the check asks the server for a dry run of every
/// chunk (each agent judged on its own, so that every mistake is found), the write writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    Check,
    Write,
}

impl Pass {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Pass::Check => "checking",
            Pass::Write => "writing",
        }
    }
}

/// Progress on stderr: a bar on a terminal, plain lines otherwise.
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
}

impl Progress {
    pub(crate) fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(total);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} rows, {msg} [{elapsed}, eta {eta}]",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b
        });
        Progress { bar, total }
    }

    pub(crate) fn chunk_done(&self, pass: Pass, rows: u64, chunks: u64, failed: u64, retries: u64) {
        let msg = format!("{chunks} chunks sent, {failed} failed, {retries} retried requests");
        match &self.bar {
            Some(b) => {
                b.set_position(rows);
                b.set_message(format!("{}: {msg}", pass.name()));
            }
            None => eprintln!(
                "progress: {} {rows}/{} rows read, {msg}",
                pass.name(),
                self.total
            ),
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
