//! `skillgrid apply` and `skillgrid plan`: a file of assignments (CSV, JSON or NDJSON) sent as
//! bulk requests, chunk by chunk, with every error reported against the file's line and column.

use super::csvfile::{proficiency_syntax, Diag, InputFormat, Next, RawRow, Rows};
use super::{exit, server_failure, ClientOpts};
use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use skillgrid_client::types::{AssignmentIn, AssignmentOut, BulkResponse, ErrorEntry, OrgSettings};
use skillgrid_client::{
    AgentQuery, BulkItem, BulkMode, BulkOptions, BulkRequest, Client, Error, SkillQuery,
};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::IsTerminal;
use std::path::PathBuf;
use uuid::Uuid;

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
    /// Ask the server what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the valid agents of a chunk even when others in it are invalid.
    #[arg(long)]
    no_atomic: bool,
    /// At most N agents per bulk request (default and cap: the org's limits.maxItemsPerBulk).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    chunk: Option<u64>,
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
        client: args.client,
    };
    run(a, true).await
}

/// What the server knows, to resolve emails and names.
struct Lookup {
    agent_by_email: HashMap<String, Uuid>,
    agent_email: HashMap<Uuid, String>,
    skill_by_name: HashMap<String, Uuid>,
    skill_ids: HashSet<Uuid>,
    levels: Vec<String>,
}

impl Lookup {
    async fn load(client: &Client, settings: &OrgSettings) -> Result<Lookup, Error> {
        let agents = client
            .all_agents(&AgentQuery {
                limit: Some(1000),
                ..Default::default()
            })
            .await?;
        let skills = client
            .all_skills(&SkillQuery {
                limit: Some(1000),
                ..Default::default()
            })
            .await?;
        Ok(Lookup {
            agent_by_email: agents
                .iter()
                .map(|a| (a.email.to_lowercase(), a.id))
                .collect(),
            agent_email: agents.iter().map(|a| (a.id, a.email.clone())).collect(),
            skill_by_name: skills
                .iter()
                .map(|s| (s.name.to_lowercase(), s.id))
                .collect(),
            skill_ids: skills.iter().map(|s| s.id).collect(),
            levels: settings
                .proficiency_scale
                .levels
                .iter()
                .map(|(n, _)| n.to_string())
                .collect(),
        })
    }

    fn agent(&self, v: &str) -> Result<Uuid, String> {
        if v.is_empty() {
            return Err("missing value: an agent id or email is required".into());
        }
        if let Ok(id) = v.parse::<Uuid>() {
            return if self.agent_email.contains_key(&id) {
                Ok(id)
            } else {
                Err(format!("unknown agent id {id}"))
            };
        }
        self.agent_by_email
            .get(&v.to_lowercase())
            .copied()
            .ok_or_else(|| format!("unknown agent email \"{v}\""))
    }

    fn skill(&self, v: &str) -> Result<Uuid, String> {
        if v.is_empty() {
            return Err("missing value: a skill id or name is required".into());
        }
        if let Ok(id) = v.parse::<Uuid>() {
            return if self.skill_ids.contains(&id) {
                Ok(id)
            } else {
                Err(format!("unknown skill id {id}"))
            };
        }
        self.skill_by_name
            .get(&v.to_lowercase())
            .copied()
            .ok_or_else(|| format!("unknown skill name \"{v}\""))
    }

    /// A number stays a number (the server checks the range); a level name must exist.
    fn proficiency(&self, v: &str) -> Result<Option<Value>, String> {
        let p = proficiency_syntax(v);
        if !matches!(p, Ok(Some(Value::String(_)))) {
            return p;
        }
        if self.levels.iter().any(|l| l.eq_ignore_ascii_case(v)) {
            Ok(Some(Value::from(v)))
        } else {
            Err(format!(
                "unknown level \"{v}\"; expected an integer or one of {}",
                self.levels.join(", ")
            ))
        }
    }
}

/// One agent's assignments in a chunk, with the line that produced each.
struct Item {
    agent: Uuid,
    first_line: u64,
    skills: Vec<AssignmentIn>,
    lines: Vec<u64>,
    /// Another row of this agent had a local error (replace mode then skips the agent).
    tainted: bool,
}

#[derive(Default)]
struct Chunk {
    items: Vec<Item>,
    index: HashMap<Uuid, usize>,
    assignments: u64,
}

impl Chunk {
    fn lines(&self) -> impl Iterator<Item = u64> + '_ {
        self.items.iter().flat_map(|i| i.lines.iter().copied())
    }

    /// `(line, column)` of the CSV cell a pointer of this chunk's request names.
    fn locate(&self, pointer: &str, item: Option<usize>) -> Option<(u64, &'static str)> {
        let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
        let (i, rest) = match parts.as_slice() {
            ["items", i, rest @ ..] => (i.parse::<usize>().ok()?, rest),
            rest => (item?, rest),
        };
        let it = self.items.get(i)?;
        match rest {
            ["skills", j, field @ ..] => {
                let line = *it.lines.get(j.parse::<usize>().ok()?)?;
                let column = match field.first() {
                    Some(&"proficiency") => "proficiency",
                    Some(&"effectiveDate") => "effectiveDate",
                    Some(&"expirationDate") => "expirationDate",
                    _ => "skill",
                };
                Some((line, column))
            }
            _ => Some((it.first_line, "agent")),
        }
    }
}

#[derive(Default)]
struct Report {
    rows: u64,
    chunks: u64,
    added: u64,
    updated: u64,
    removed: u64,
    unchanged: u64,
    failed: BTreeSet<u64>,
    diags: Vec<Diag>,
    /// `(agent email, changes)` in plan order.
    diffs: Vec<(String, skillgrid_client::types::Changes)>,
    /// The JSON pointer of each row ordinal of a JSON file.
    pointers: HashMap<u64, String>,
}

impl Report {
    fn error(&mut self, mut d: Diag, file: &str) {
        if d.pointer.is_none() {
            d.pointer = self.pointers.get(&d.line).cloned();
        }
        eprintln!("{}", d.display(file));
        self.failed.insert(d.line);
        self.diags.push(d);
    }

    fn entry(&mut self, chunk: &Chunk, e: &ErrorEntry, item: Option<usize>, file: &str) {
        let mut msg = format!("{} ({})", e.detail, e.code.as_str());
        if let Some(x) = &e.expected {
            msg.push_str(&format!("; expected {x}"));
        }
        if let Some(h) = &e.hint {
            msg.push_str(&format!("; hint: {h}"));
        }
        let pointer = e.pointer.as_deref().unwrap_or("");
        match chunk.locate(pointer, item) {
            Some((line, column)) => self.error(Diag::new(line, column, msg), file),
            None => {
                let line = item
                    .and_then(|i| chunk.items.get(i))
                    .or(chunk.items.first())
                    .map_or(1, |i| i.first_line);
                self.error(Diag::new(line, "agent", format!("{pointer}: {msg}")), file)
            }
        }
    }
}

/// Progress on stderr: a bar on a terminal, plain lines otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            b
        });
        Progress { bar }
    }

    fn chunk_done(&self, r: &Report) {
        let msg = format!(
            "{} rows read, {} chunks sent, {} failed",
            r.rows,
            r.chunks,
            r.failed.len()
        );
        match &self.bar {
            Some(b) => {
                b.set_message(msg);
                b.tick();
            }
            None => eprintln!("progress: {msg}"),
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

struct Ctx<'a> {
    client: &'a Client,
    file: String,
    mode: BulkMode,
    atomic: bool,
    dry_run: bool,
    lookup: &'a Lookup,
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
    let mut report = Report::default();
    let format = InputFormat::detect(&args.file, args.format);
    let mut rows = match Rows::open(&args.file, format) {
        Ok(r) => r,
        Err(d) => {
            report.error(d, &file);
            return exit::USAGE;
        }
    };
    let limits = &settings.limits;
    let max_items = args
        .chunk
        .unwrap_or(limits.max_items_per_bulk)
        .min(limits.max_items_per_bulk)
        .max(1) as usize;
    let max_assignments = limits.max_assignments_per_request.max(1);
    let ctx = Ctx {
        client: &client,
        file: file.clone(),
        mode: match args.mode {
            Mode::Merge => BulkMode::Merge,
            Mode::Replace => BulkMode::Replace,
        },
        atomic: !args.no_atomic,
        dry_run: args.dry_run,
        lookup: &lookup,
    };
    let progress = Progress::new();
    let mut chunk = Chunk::default();
    let mut seen: HashMap<(Uuid, Uuid), String> = HashMap::new();
    let mut sent_agents: HashSet<Uuid> = HashSet::new();
    let mut file_error = false;
    loop {
        let row = match rows.next_entry() {
            Ok(Some(Next::Row(r))) => r,
            Ok(Some(Next::Invalid(diags))) => {
                report.rows += 1;
                for d in diags {
                    report.error(d, &file);
                }
                continue;
            }
            Ok(None) => break,
            Err(d) => {
                report.error(d, &file);
                file_error = true;
                break;
            }
        };
        report.rows += 1;
        if let Some(p) = &row.pointer {
            report.pointers.insert(row.line, p.clone());
        }
        let Some((agent, a)) = resolve(&ctx, &row, &mut chunk, &mut seen, &mut report) else {
            continue;
        };
        if ctx.mode == BulkMode::Replace
            && sent_agents.contains(&agent)
            && !chunk.index.contains_key(&agent)
        {
            report.error(
                row.diag(
                    "agent",
                    "in replace mode an agent's rows must be next to each other (this agent was already sent)",
                ),
                &file,
            );
            continue;
        }
        let new_agent = !chunk.index.contains_key(&agent);
        if (new_agent && chunk.items.len() >= max_items) || chunk.assignments + 1 > max_assignments
        {
            if let Err(code) = send(&ctx, std::mem::take(&mut chunk), &mut report).await {
                progress.finish();
                return code;
            }
            progress.chunk_done(&report);
        }
        let i = *chunk.index.entry(agent).or_insert_with(|| {
            sent_agents.insert(agent);
            chunk.items.push(Item {
                agent,
                first_line: row.line,
                skills: Vec::new(),
                lines: Vec::new(),
                tainted: false,
            });
            chunk.items.len() - 1
        });
        chunk.items[i].skills.push(a);
        chunk.items[i].lines.push(row.line);
        chunk.assignments += 1;
    }
    if !chunk.items.is_empty() {
        if let Err(code) = send(&ctx, chunk, &mut report).await {
            progress.finish();
            return code;
        }
        progress.chunk_done(&report);
    }
    progress.finish();
    print_summary(&report, plan, args.dry_run, args.client.json);
    if file_error {
        exit::USAGE
    } else if report.failed.is_empty() {
        exit::OK
    } else {
        exit::ROWS_FAILED
    }
}

/// The row as an assignment, or `None` after reporting its errors.
fn resolve(
    ctx: &Ctx<'_>,
    row: &RawRow,
    chunk: &mut Chunk,
    seen: &mut HashMap<(Uuid, Uuid), String>,
    report: &mut Report,
) -> Option<(Uuid, AssignmentIn)> {
    let mut errors = Vec::new();
    let agent = ctx
        .lookup
        .agent(&row.agent)
        .map_err(|m| errors.push(row.diag("agent", m)))
        .ok();
    let skill = ctx
        .lookup
        .skill(&row.skill)
        .map_err(|m| errors.push(row.diag("skill", m)))
        .ok();
    let proficiency = ctx
        .lookup
        .proficiency(&row.proficiency)
        .map_err(|m| errors.push(row.diag("proficiency", m)))
        .ok()
        .flatten();
    if let (Some(a), Some(s)) = (agent, skill) {
        if let Some(first) = seen.get(&(a, s)) {
            errors.push(row.diag(
                "skill",
                format!(
                    "duplicate: agent \"{}\" and skill \"{}\" are already on {first}",
                    row.agent, row.skill
                ),
            ));
        } else {
            seen.insert((a, s), row.place());
        }
    }
    if !errors.is_empty() {
        if let Some(i) = agent.and_then(|a| chunk.index.get(&a)) {
            chunk.items[*i].tainted = true;
        }
        for d in errors {
            report.error(d, &ctx.file);
        }
        return None;
    }
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Some((
        agent?,
        AssignmentIn {
            skill_id: skill?,
            proficiency,
            effective_date: opt(&row.effective_date),
            expiration_date: opt(&row.expiration_date),
        },
    ))
}

/// Sends one chunk; `Err(exit code)` when the server or network failed.
async fn send(ctx: &Ctx<'_>, mut chunk: Chunk, report: &mut Report) -> Result<(), u8> {
    if ctx.mode == BulkMode::Replace {
        // Replacing with a set missing a row that failed locally would drop that skill.
        let (keep, skip): (Vec<Item>, Vec<Item>) =
            chunk.items.into_iter().partition(|i| !i.tainted);
        for it in skip {
            report.failed.extend(it.lines);
        }
        chunk.items = keep;
    }
    if chunk.items.is_empty() {
        return Ok(());
    }
    let req = BulkRequest {
        mode: ctx.mode,
        atomic: ctx.atomic,
        items: chunk
            .items
            .iter()
            .map(|i| BulkItem::new(i.agent, i.skills.clone()))
            .collect(),
    };
    let opts = BulkOptions {
        dry_run: ctx.dry_run,
        idempotency_key: None,
    };
    report.chunks += 1;
    match ctx.client.bulk(&req, &opts).await {
        Ok(out) => {
            absorb(ctx, &chunk, out.response, report);
            Ok(())
        }
        Err(e) if e.status() == Some(400) && !e.entries().is_empty() => {
            // Atomic and invalid: nothing of this chunk was written.
            for entry in e.entries() {
                report.entry(&chunk, entry, None, &ctx.file);
            }
            report.failed.extend(chunk.lines());
            Ok(())
        }
        Err(e) => Err(server_failure("sending a bulk request", &e)),
    }
}

fn absorb(ctx: &Ctx<'_>, chunk: &Chunk, res: BulkResponse, report: &mut Report) {
    report.added += res.summary.added;
    report.updated += res.summary.updated;
    report.removed += res.summary.removed;
    report.unchanged += res.summary.unchanged;
    for r in res.results {
        let i = r.index as usize;
        if let Some(p) = r.problem {
            if p.errors.is_empty() {
                let line = chunk.items.get(i).map_or(1, |it| it.first_line);
                report.error(
                    Diag::new(line, "agent", format!("{} ({})", p.detail, p.code)),
                    &ctx.file,
                );
            }
            for entry in &p.errors {
                report.entry(chunk, entry, Some(i), &ctx.file);
            }
            if let Some(it) = chunk.items.get(i) {
                report.failed.extend(it.lines.iter().copied());
            }
        } else if let (Some(changes), Some(it)) = (r.changes, chunk.items.get(i)) {
            let email = ctx
                .lookup
                .agent_email
                .get(&it.agent)
                .cloned()
                .unwrap_or_else(|| it.agent.to_string());
            report.diffs.push((email, changes));
        }
    }
}

fn describe(a: &AssignmentOut) -> String {
    let mut s = a.proficiency.to_string();
    if let Some(l) = &a.level {
        s.push_str(&format!(" ({l})"));
    }
    if let Some(d) = &a.effective_date {
        s.push_str(&format!(" from {d}"));
    }
    if let Some(d) = &a.expiration_date {
        s.push_str(&format!(" until {d}"));
    }
    s
}

fn print_summary(r: &Report, plan: bool, dry_run: bool, json_out: bool) {
    if json_out {
        let mut v = json!({
            "dryRun": dry_run,
            "rows": r.rows,
            "chunks": r.chunks,
            "added": r.added,
            "updated": r.updated,
            "removed": r.removed,
            "unchanged": r.unchanged,
            "failed": r.failed.len(),
            "errors": r.diags,
        });
        if plan {
            v["agents"] = r
                .diffs
                .iter()
                .filter(|(_, c)| !c.is_empty())
                .map(|(email, c)| json!({"agent": email, "changes": c}))
                .collect();
        }
        println!("{v}");
        return;
    }
    if plan {
        for (email, c) in &r.diffs {
            if c.is_empty() {
                continue;
            }
            println!("{email}");
            for a in &c.added {
                println!("  + {} {}", a.skill_name, describe(a));
            }
            for u in &c.updated {
                println!(
                    "  ~ {} {} -> {}",
                    u.after.skill_name,
                    describe(&u.before),
                    describe(&u.after)
                );
            }
            for a in &c.removed {
                println!("  - {} {}", a.skill_name, describe(a));
            }
        }
    }
    println!(
        "{}added {}, updated {}, removed {}, unchanged {}, failed {}",
        if dry_run { "dry run: " } else { "" },
        r.added,
        r.updated,
        r.removed,
        r.unchanged,
        r.failed.len()
    );
}
