//! `skillgrid apply` and `skillgrid plan`: a file of assignments (CSV, JSON or NDJSON) sent as
//! bulk requests, chunk by chunk, with every mistake reported against the file's line and
//! column.
//!
//! By default a file is all or nothing. It is checked whole first: its rows here (names,
//! levels, duplicates), then every chunk by the server's dry run, which finds what only the
//! server knows (a stale `ifMatch`, an inactive skill, too many skills for one agent). Only a
//! file without a mistake is then written, chunk by chunk, each chunk in one atomic request. So
//! the check covers the whole file, while a write is atomic per request: a chunk the server
//! refuses at write time, because the data changed since the check (another client's writes,
//! or the file's own earlier chunks when an agent's rows are scattered over several), is
//! reported and writes nothing, while the other chunks are written (a file that fits in one
//! request is all or nothing outright). `--no-atomic` skips the check and writes the rows
//! without mistakes. The server's warnings (rows it writes that look like a mistake) are told
//! at their rows as mistakes are, from the first pass only, and fail nothing.
//!
//! Memory does not grow with the file: the file is read in passes, row by row. A first pass
//! only notes which agents' rows are scattered (see [`super::dups`]); the check and the write
//! each read the file again, gather each agent's run of rows, pack runs into a chunk within
//! the organization's limits, and send the chunk before reading on. Only the open chunk, the
//! server's lists of agents and skills, and the outcomes of the rows not yet reported (see
//! [`super::ledger`]) are held.

mod chunk;
mod lookup;
pub(super) mod progress;
mod report;

use super::csvfile::{if_match_syntax, Diag, InputFormat, Kind, Next, RawRow, Rows};
use super::dups::{Dups, Runs};
use super::ledger::Ledger;
use super::{exit, server_failure, ClientOpts};
use chunk::{Chunk, Entry, RowCount, Run};
use clap::{Args, ValueEnum};
use lookup::Lookup;
use progress::{Pass, Progress};
use report::{print_diff, Counts};
use serde_json::json;
use skillgrid_client::types::{AssignmentIn, BulkResponse, Changes, ErrorEntry};
use skillgrid_client::{BulkItem, BulkMode, BulkOptions, BulkRequest, Client, IfMatch};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Mode {
    /// Add or update the listed skills; keep the agent's others.
    Merge,
    /// The listed skills become the agent's whole set.
    Replace,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// CSV with a header row: agent,skill[,proficiency][,effectiveDate][,expirationDate];
    /// or, by extension or --format, JSON (array of bulk items or {"items": [...]}) or NDJSON.
    file: PathBuf,
    /// Format of FILE (default: by extension, .json / .ndjson, else CSV).
    #[arg(long, value_enum)]
    format: Option<InputFormat>,
    #[arg(long, value_enum, default_value = "merge")]
    mode: Mode,
    /// Check the whole file and show what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the rows without mistakes even when other rows have some. By default a file with
    /// a mistake on any row writes nothing: the whole file is checked (with the server's dry
    /// run) before any chunk is written.
    #[arg(long)]
    no_atomic: bool,
    /// At most N agents per bulk request (default and cap: the org's limits.maxItemsPerBulk).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    chunk: Option<u64>,
    /// At most N rows per bulk request (default 10000; cap: the org's
    /// limits.maxAssignmentsPerRequest). The CLI's memory follows the size of a request.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    chunk_rows: Option<u64>,
    #[command(flatten)]
    client: ClientOpts,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// CSV with a header row, JSON or NDJSON, as for `apply`.
    file: PathBuf,
    /// Format of FILE (default: by extension, .json / .ndjson, else CSV).
    #[arg(long, value_enum)]
    format: Option<InputFormat>,
    #[arg(long, value_enum, default_value = "merge")]
    mode: Mode,
    #[command(flatten)]
    client: ClientOpts,
}

pub async fn apply(args: ApplyArgs) -> u8 {
    run(args, false).await
}

pub async fn plan(args: PlanArgs) -> u8 {
    let a = ApplyArgs {
        file: args.file,
        format: args.format,
        mode: args.mode,
        dry_run: true,
        no_atomic: false,
        chunk: None,
        chunk_rows: None,
        client: args.client,
    };
    run(a, true).await
}

/// Rows per bulk request unless `--chunk-rows` says otherwise: about 15 MB of the CLI's memory
/// (a request of 100,000 rows, the default server limit, takes about 100 MB).
const DEFAULT_CHUNK_ROWS: u64 = 10_000;

/// Lines whose outcome may wait for the open chunk's answer before it is sent early: a chunk
/// holding a few valid rows between very many rows with mistakes would otherwise keep them all.
const MAX_WAITING: usize = 10_000;

/// One run of `apply` or `plan`.
struct Apply<'a> {
    client: &'a Client,
    path: &'a Path,
    format: InputFormat,
    mode: BulkMode,
    atomic: bool,
    dry_run: bool,
    plan: bool,
    json_out: bool,
    lookup: &'a Lookup,
    max_items: usize,
    max_assignments: u64,
    // The pass being made.
    pass: Pass,
    /// The pass whose answers' warnings are told: the first, so that each is told once (the
    /// write of a checked file sends what the check asked about).
    warn_pass: Pass,
    dups: Dups,
    run: Option<Run>,
    chunk: Chunk,
    rows: RowCount,
    chunks: u64,
    // Over all passes.
    requests: u64,
    counts: Counts,
    ledger: Ledger,
    /// `(agent email, changes)` in plan order, kept only for `plan --json`.
    diffs: Vec<(String, Changes)>,
    /// The JSON pointer of each row ordinal of a JSON file, for its error messages (the one
    /// record kept per row, and only for JSON input).
    pointers: HashMap<u64, String>,
    progress: Progress,
}

async fn run(args: ApplyArgs, plan: bool) -> u8 {
    let file = args.file.display().to_string();
    let client = match args.client.client() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let settings = match client.settings().await {
        Ok(s) => s,
        Err(e) => return server_failure("reading the organization settings", &e),
    };
    let lookup = match Lookup::load(&client, &settings).await {
        Ok(l) => l,
        Err(e) => return server_failure("listing agents and skills", &e),
    };
    let format = InputFormat::detect(&args.file, args.format);
    // An unreadable file is reported here, before anything is sent.
    let (scattered, total) = match scan(&args.file, format, &lookup) {
        Ok(s) => s,
        Err(d) => {
            eprintln!("{}", d.display(&file));
            return exit::USAGE;
        }
    };
    let limits = &settings.limits;
    let mode = match args.mode {
        Mode::Merge => BulkMode::Merge,
        Mode::Replace => BulkMode::Replace,
    };
    let mut ap = Apply {
        client: &client,
        path: &args.file,
        format,
        mode,
        atomic: !args.no_atomic,
        dry_run: args.dry_run,
        plan,
        json_out: args.client.json,
        lookup: &lookup,
        max_items: args
            .chunk
            .unwrap_or(limits.max_items_per_bulk)
            .min(limits.max_items_per_bulk)
            .max(1) as usize,
        max_assignments: args
            .chunk_rows
            .unwrap_or(DEFAULT_CHUNK_ROWS)
            .min(limits.max_assignments_per_request)
            .max(1),
        pass: Pass::Check,
        warn_pass: if args.no_atomic && !args.dry_run {
            Pass::Write
        } else {
            Pass::Check
        },
        dups: Dups::new(scattered),
        run: None,
        chunk: Chunk::default(),
        rows: RowCount::default(),
        chunks: 0,
        requests: 0,
        counts: Counts::default(),
        ledger: Ledger::new(file),
        diffs: Vec::new(),
        pointers: HashMap::new(),
        progress: Progress::new(total),
    };
    let passes: &[Pass] = if args.dry_run {
        &[Pass::Check]
    } else if args.no_atomic {
        &[Pass::Write]
    } else {
        &[Pass::Check, Pass::Write]
    };
    let mut refused = false;
    for &pass in passes {
        let file_error = match ap.read(pass).await {
            Ok(f) => f,
            Err(code) => {
                ap.progress.finish();
                return code;
            }
        };
        if file_error {
            ap.progress.finish();
            ap.print_summary(false);
            return exit::USAGE;
        }
        if pass == Pass::Check && ap.atomic && ap.ledger.errors() > 0 {
            refused = true;
            break;
        }
    }
    ap.progress.finish();
    ap.print_summary(refused);
    exit::of_rows(ap.ledger.errors())
}

/// The first pass: which agents' rows are scattered (see [`super::dups`]), and how many rows
/// there are. Rows that do not resolve are left to the later passes to report.
fn scan(
    path: &Path,
    format: InputFormat,
    lookup: &Lookup,
) -> Result<(HashMap<u32, u64>, u64), Diag> {
    let mut rows = Rows::open(path, format)?;
    let mut runs = Runs::default();
    let mut total = RowCount::default();
    while let Some(next) = rows.next_entry()? {
        match next {
            Next::Row(r) => {
                total.see(r.line);
                if let Ok(a) = lookup.agent(&r.agent) {
                    runs.push(a, r.line);
                }
            }
            Next::Invalid(diags) => diags.iter().for_each(|d| total.see(d.line)),
        }
    }
    Ok((runs.finish(), total.n))
}

impl Apply<'_> {
    /// Reads the file once, sending its chunks as `pass` says; `Ok(true)` when the file could
    /// not be read to its end, `Err(exit code)` when the server or network failed.
    async fn read(&mut self, pass: Pass) -> Result<bool, u8> {
        self.pass = pass;
        self.dups.rewind();
        self.rows = RowCount::default();
        self.chunks = 0;
        self.ledger.rewind();
        let mut rows = match Rows::open(self.path, self.format) {
            Ok(r) => r,
            Err(d) => {
                self.ledger.last_word(d);
                return Ok(true);
            }
        };
        loop {
            let line = match rows.next_entry() {
                Ok(Some(Next::Row(r))) => {
                    let line = r.line;
                    self.row(r).await?;
                    line
                }
                Ok(Some(Next::Invalid(diags))) => {
                    let mut line = 0;
                    for d in diags {
                        self.rows.see(d.line);
                        line = d.line;
                        self.ledger.mistake(d);
                    }
                    line
                }
                Ok(None) => {
                    self.finish().await?;
                    return Ok(false);
                }
                Err(d) => {
                    // The file changed since it was first read.
                    self.finish().await?;
                    self.ledger.last_word(d);
                    return Ok(true);
                }
            };
            self.after_row(line).await?;
        }
    }

    /// Reports the lines no pending answer can change any more.
    async fn after_row(&mut self, line: u64) -> Result<(), u8> {
        if self.ledger.waiting() > MAX_WAITING {
            // In merge mode an agent's rows may go in two items, unless the first holds their
            // precondition.
            if self.mode == BulkMode::Merge && self.run.as_ref().is_some_and(|r| !r.guarded) {
                self.close_run().await?;
            }
            self.send().await?;
        }
        let mut before = line;
        // A doomed run gets no answer: its rows were reported when it was doomed.
        if let Some(r) = self.run.as_ref().filter(|r| !r.doomed(self.mode)) {
            before = before.min(r.at.first_line);
        }
        if let Some(i) = self.chunk.items.first() {
            before = before.min(i.at.first_line);
        }
        self.ledger.tell_before(before);
        Ok(())
    }

    /// A mistake, placed at its row's pointer in a JSON file.
    fn mistake(&mut self, d: Diag) {
        let d = self.at_pointer(d);
        self.ledger.mistake(d);
    }

    /// A warning, placed as a mistake is.
    fn warning(&mut self, d: Diag) {
        let d = self.at_pointer(d);
        self.ledger.warning(d);
    }

    fn at_pointer(&self, mut d: Diag) -> Diag {
        if d.pointer.is_none() {
            d.pointer = self.pointers.get(&d.line).cloned();
        }
        d
    }

    /// `line N`, or the row's pointer in a JSON file.
    fn place(&self, line: u64) -> String {
        match self.pointers.get(&line) {
            Some(p) => p.clone(),
            None => format!("line {line}"),
        }
    }

    /// A server error, at the line and column its pointer names.
    fn entry(&mut self, chunk: &Chunk, e: &ErrorEntry, item: Option<usize>) {
        self.mistake(chunk.diag(e, item));
    }

    /// Takes one row into the open run; `Err(exit code)` when the server or network failed.
    async fn row(&mut self, row: RawRow) -> Result<(), u8> {
        self.rows.see(row.line);
        if let Some(p) = &row.pointer {
            self.pointers.insert(row.line, p.clone());
        }
        let mut errors = Vec::new();
        let agent = self
            .lookup
            .agent(&row.agent)
            .map_err(|m| errors.push(row.diag("agent", m)))
            .ok();
        if let Some(a) = agent {
            let full = self
                .run
                .as_ref()
                .is_some_and(|r| r.len() >= self.max_assignments && row.kind != Kind::IfMatch);
            if self.run.as_ref().map(|r| r.agent) != Some(a)
                || (full && self.mode == BulkMode::Merge)
            {
                self.close_run().await?;
                self.run = Some(Run::new(a, row.line));
                if let (BulkMode::Replace, Some(first)) = (self.mode, self.dups.scattered(a)) {
                    errors.push(row.diag(
                        "agent",
                        format!(
                            "in replace mode all rows of an agent must be next to each other, but \"{}\" also has rows apart from these (its first on {}); none of its rows are sent",
                            row.agent,
                            self.place(first)
                        ),
                    ));
                }
            } else if full {
                errors.push(row.diag(
                    "agent",
                    format!(
                        "more than {} rows for one agent, and a request holds at most {} rows (--chunk-rows, at most limits.maxAssignmentsPerRequest)",
                        self.max_assignments, self.max_assignments
                    ),
                ));
            }
        }
        let mut skill = None;
        let mut entry = None;
        match row.kind {
            Kind::Assign => {
                skill = self
                    .lookup
                    .skill(&row.skill)
                    .map_err(|m| errors.push(row.diag("skill", m)))
                    .ok();
                let proficiency = self
                    .lookup
                    .proficiency(&row.proficiency)
                    .map_err(|m| errors.push(row.diag("proficiency", m)))
                    .ok()
                    .flatten();
                let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
                entry = skill.map(|s| {
                    Entry::Assign(AssignmentIn {
                        skill_id: self.lookup.skill_ids[s as usize],
                        proficiency,
                        effective_date: opt(&row.effective_date),
                        expiration_date: opt(&row.expiration_date),
                    })
                });
            }
            Kind::Remove => {
                if self.mode == BulkMode::Replace {
                    errors.push(row.diag(
                        "remove",
                        "remove is not allowed in replace mode: the listed skills already are the whole set",
                    ));
                }
                skill = self
                    .lookup
                    .skill(&row.skill)
                    .map_err(|m| errors.push(row.diag("remove", m)))
                    .ok();
                entry = skill.map(|s| Entry::Remove(self.lookup.skill_ids[s as usize]));
            }
            Kind::IfMatch => match if_match_syntax(&row.if_match) {
                Ok(m) => {
                    // The agent's earlier rows are written first and move its version on, which
                    // the check, asking about each chunk as things stand, cannot foresee.
                    let earlier = agent.and_then(|a| self.dups.scattered(a)).filter(|&first| {
                        self.run.as_ref().is_some_and(|r| first < r.at.first_line)
                    });
                    match earlier {
                        Some(first) if matches!(m, IfMatch::Version(_)) => {
                            errors.push(row.diag(
                                "ifMatch",
                                format!(
                                    "an ifMatch version for an agent with rows earlier in the file (from {}), which are written first and change its version; put the agent's rows together, or its ifMatch on its first rows",
                                    self.place(first)
                                ),
                            ))
                        }
                        _ => entry = Some(Entry::IfMatch(m)),
                    }
                }
                Err(m) => errors.push(row.diag("ifMatch", m)),
            },
        }
        if let (Some(a), Some(s)) = (agent, skill) {
            if let Some(first) = self.dups.check(a, s, row.line) {
                errors.push(row.diag(
                    if row.kind == Kind::Remove {
                        "remove"
                    } else {
                        "skill"
                    },
                    format!(
                        "duplicate: agent \"{}\" and skill \"{}\" are already on {}",
                        row.agent,
                        row.skill,
                        self.place(first)
                    ),
                ));
            }
        }
        let earlier_if_match = agent
            .and(self.run.as_ref())
            .and_then(|r| r.at.if_match)
            .filter(|_| matches!(entry, Some(Entry::IfMatch(_))));
        if let Some(first) = earlier_if_match {
            errors.push(row.diag(
                "ifMatch",
                format!(
                    "a second ifMatch for this agent (the first is on {})",
                    self.place(first)
                ),
            ));
        }
        if let Some(run) = agent.and(self.run.as_mut()) {
            run.guarded |= row.kind == Kind::IfMatch;
            if !errors.is_empty() {
                run.tainted = true;
            } else {
                match entry {
                    Some(Entry::Assign(a)) => {
                        run.skills.push(a);
                        run.at.skills.push(row.line);
                    }
                    Some(Entry::Remove(s)) => {
                        run.remove.push(s);
                        run.at.remove.push(row.line);
                    }
                    Some(Entry::IfMatch(m)) => {
                        run.if_match = Some(m);
                        run.at.if_match = Some(row.line);
                    }
                    None => {}
                }
            }
            if run.doomed(self.mode) {
                for line in run.drain() {
                    self.ledger.unwritten(line);
                }
            }
        }
        for d in errors {
            self.mistake(d);
        }
        Ok(())
    }

    /// Moves the open run into the chunk, sending the chunk first when the run does not fit.
    async fn close_run(&mut self) -> Result<(), u8> {
        let Some(mut run) = self.run.take() else {
            return Ok(());
        };
        if run.len() == 0 {
            // Nothing to send; an `ifMatch` alone is no item.
            for line in run.drain() {
                self.ledger.unwritten(line);
            }
            return Ok(());
        }
        let c = &self.chunk;
        if c.agents.contains(&run.agent)
            || c.items.len() >= self.max_items
            || c.assignments + run.len() > self.max_assignments
        {
            self.send().await?;
        }
        self.chunk.assignments += run.len();
        self.chunk.agents.insert(run.agent);
        self.chunk.items.push(run);
        Ok(())
    }

    /// Closes the last run, sends what is left and reports every line.
    async fn finish(&mut self) -> Result<(), u8> {
        self.close_run().await?;
        self.send().await?;
        self.ledger.tell_all();
        Ok(())
    }

    /// Whether the server's answers are what this run reports as changed: the writes, or the
    /// dry run when that is all that was asked for.
    fn counting(&self) -> bool {
        self.pass == Pass::Write || self.dry_run
    }

    /// Sends the chunk; `Err(exit code)` when the server or network failed.
    async fn send(&mut self) -> Result<(), u8> {
        let mut chunk = std::mem::take(&mut self.chunk);
        if chunk.items.is_empty() {
            return Ok(());
        }
        let write = self.pass == Pass::Write;
        let req = BulkRequest {
            mode: self.mode,
            // The check asks about each agent on its own, so that every mistake is found.
            atomic: write && self.atomic,
            items: chunk
                .items
                .iter_mut()
                .map(|i| BulkItem {
                    agent_id: self.lookup.agent_ids[i.agent as usize],
                    skills: (!i.skills.is_empty() || i.remove.is_empty())
                        .then(|| std::mem::take(&mut i.skills)),
                    remove: (!i.remove.is_empty()).then(|| std::mem::take(&mut i.remove)),
                    if_match: i.if_match,
                })
                .collect(),
        };
        let opts = BulkOptions {
            dry_run: !write,
            idempotency_key: None,
        };
        self.chunks += 1;
        self.requests += 1;
        let answer = self.client.bulk(&req, &opts).await;
        drop(req);
        match answer {
            Ok(out) => self.absorb(&chunk, out.response),
            Err(e) if e.status() == Some(400) && !e.entries().is_empty() => {
                // Refused whole: nothing of this chunk was written.
                for entry in e.entries() {
                    self.entry(&chunk, entry, None);
                }
                for line in chunk.items.iter().flat_map(Run::all_lines) {
                    self.ledger.unwritten(line);
                }
            }
            Err(e) => return Err(server_failure("sending a bulk request", &e)),
        }
        self.progress.chunk_done(
            self.pass,
            self.rows.n,
            self.chunks,
            self.ledger.failed_so_far(),
            self.client.stats().retries,
        );
        Ok(())
    }

    fn absorb(&mut self, chunk: &Chunk, res: BulkResponse) {
        if self.counting() {
            let c = &mut self.counts;
            c.added += res.summary.added;
            c.updated += res.summary.updated;
            c.removed += res.summary.removed;
            c.unchanged += res.summary.unchanged;
        }
        for result in res.results {
            let i = result.index as usize;
            if let Some(p) = result.problem {
                if p.errors.is_empty() {
                    let line = chunk.items.get(i).map_or(1, |it| it.at.first_line);
                    self.mistake(Diag::new(
                        line,
                        "agent",
                        format!("{} ({})", p.detail, p.code),
                    ));
                }
                for entry in &p.errors {
                    self.entry(chunk, entry, Some(i));
                }
                for line in chunk.items.get(i).into_iter().flat_map(Run::all_lines) {
                    self.ledger.unwritten(line);
                }
                continue;
            }
            if self.pass == self.warn_pass {
                for w in &result.warnings {
                    self.warning(chunk.diag(w, Some(i)));
                }
            }
            if let (true, Some(changes), Some(it)) = (self.plan, result.changes, chunk.items.get(i))
            {
                let email = self.lookup.agent_emails[it.agent as usize].clone();
                if self.json_out {
                    self.diffs.push((email, changes));
                } else {
                    print_diff(&email, &changes);
                }
            }
        }
    }

    /// The counts. `refused`: the check found mistakes, so nothing was written (or, in a dry
    /// run, would be without `--no-atomic`).
    fn print_summary(&self, refused: bool) {
        let l = &self.ledger;
        let rows = self.rows.n;
        let failed = l.failed();
        // Refused, every row without a mistake is left unwritten.
        let skipped = if refused && !self.dry_run {
            rows.saturating_sub(failed)
        } else {
            l.skipped()
        };
        let c = &self.counts;
        if self.json_out {
            let listed = l.listed();
            let mut v = json!({
                "dryRun": self.dry_run,
                "atomic": self.atomic,
                "refused": refused,
                "rows": rows,
                "chunks": self.chunks,
                "requests": self.requests,
                "retries": self.client.stats().retries,
                "added": c.added,
                "updated": c.updated,
                "removed": c.removed,
                "unchanged": c.unchanged,
                "failed": failed,
                "skipped": skipped,
                "errors": listed,
            });
            if l.errors() > listed.len() as u64 {
                v["errorsNotListed"] = (l.errors() - listed.len() as u64).into();
            }
            let warnings = l.listed_warnings();
            v["warnings"] = json!(warnings);
            if l.warnings() > warnings.len() as u64 {
                v["warningsNotListed"] = (l.warnings() - warnings.len() as u64).into();
            }
            if self.plan {
                v["agents"] = self
                    .diffs
                    .iter()
                    .filter(|(_, c)| !c.is_empty())
                    .map(|(email, c)| json!({"agent": email, "changes": c}))
                    .collect();
            }
            println!("{v}");
            return;
        }
        if refused {
            let have = if failed == 1 { "has a" } else { "have" };
            if self.dry_run {
                println!(
                    "apply would write nothing: {failed} of {rows} rows {have} mistake{} (with --no-atomic it writes the rows without mistakes)",
                    if failed == 1 { "" } else { "s" }
                );
            } else {
                println!(
                    "nothing written: {failed} of {rows} rows {have} mistake{}; correct them and apply again, or write the rows without mistakes with --no-atomic",
                    if failed == 1 { "" } else { "s" }
                );
            }
        }
        let skipped = if skipped > 0 {
            format!(", skipped {skipped}")
        } else {
            String::new()
        };
        let warnings = match l.warnings() {
            0 => String::new(),
            n => format!(", warnings {n}"),
        };
        println!(
            "{}added {}, updated {}, removed {}, unchanged {}, failed {failed}{skipped}{warnings}",
            if self.dry_run { "dry run: " } else { "" },
            c.added,
            c.updated,
            c.removed,
            c.unchanged,
        );
    }
}
