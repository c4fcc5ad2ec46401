//! `skillgrid agents import FILE`: a CSV of agents (`email,name[,active][,externalId]`) sent
//! to `POST /admin/users/bulk`, chunk by chunk, every mistake told against the file's line
//! and column.
//!
//! All or nothing by default, like `apply`: the whole file is checked first (its rows here,
//! then every chunk by the server's dry run), and only a file without a mistake is written,
//! each chunk in one atomic request. A chunk the server refuses at write time, because the
//! data changed since the check, is reported and writes nothing, while the other chunks are
//! written (a file that fits in one request is all or nothing outright). `--no-atomic` skips
//! the check and writes the rows without mistakes. Each request carries an
//! `Idempotency-Key` that its retries reuse (the client's), so a retried chunk is not written
//! twice.

use super::apply::progress::{Pass, Progress};
use super::{exit, server_failure, ClientOpts};
use clap::Args;
use serde_json::json;
use skillgrid_client::types::{AgentsBulkSummary, ErrorEntry};
use skillgrid_client::{AgentUpsert, BulkOptions, Client, Error};
use skillgrid_core::csv_agents::{AgentCsv, AgentLines, AgentRow};
use skillgrid_core::csv_import::Diag;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// CSV with a header row: email,name[,active][,externalId] (any order, any case). An
    /// empty `active` keeps an existing agent's flag (a new one is active); without an
    /// externalId column existing external ids are kept, an empty cell clears one.
    file: PathBuf,
    /// Check the whole file and show what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the rows without mistakes even when other rows have some. By default a file with
    /// a mistake on any row writes nothing.
    #[arg(long)]
    no_atomic: bool,
    /// At most N agents per request (default and cap: the org's limits.maxItemsPerBulk).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    chunk: Option<u64>,
    #[command(flatten)]
    client: ClientOpts,
}

/// What a run found and did.
#[derive(Default)]
struct Outcome {
    summary: AgentsBulkSummary,
    diags: Vec<Diag>,
    chunks: u64,
    failed_chunks: u64,
    written: bool,
}

pub async fn import(args: ImportArgs) -> u8 {
    let file = args.file.display().to_string();
    let (rows, mut diags, total) = match read(&args.file) {
        Ok(r) => r,
        Err(d) => {
            eprintln!("{}", d.display(&file));
            return exit::USAGE;
        }
    };
    let client = match args.client.client() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let max = match client.settings().await {
        Ok(s) => s.limits.max_items_per_bulk,
        Err(e) => return server_failure("reading the organization's limits", &e),
    };
    let size = args.chunk.unwrap_or(max).clamp(1, max.max(1)) as usize;
    let progress = Progress::new(total);
    let mut out = Outcome::default();
    let atomic = !args.no_atomic;
    let run = async {
        if atomic {
            // The check: every chunk by the server's dry run, each agent judged on its own.
            send(
                &client,
                &rows,
                size,
                (Pass::Check, true),
                &progress,
                &mut out,
            )
            .await?;
            out.diags.append(&mut diags);
            if !out.diags.is_empty() || args.dry_run {
                return Ok(());
            }
            out = Outcome::default();
            send(
                &client,
                &rows,
                size,
                (Pass::Write, true),
                &progress,
                &mut out,
            )
            .await?;
            out.written = true;
        } else {
            let pass = if args.dry_run {
                Pass::Check
            } else {
                Pass::Write
            };
            send(&client, &rows, size, (pass, false), &progress, &mut out).await?;
            out.diags.append(&mut diags);
            out.written = !args.dry_run;
        }
        Ok::<(), Error>(())
    };
    let result = run.await;
    progress.finish();
    if let Err(e) = result {
        return server_failure("sending the agents", &e);
    }
    out.summary.items = total;
    out.summary.failed = total - out.summary.succeeded.min(total);
    report(&file, &out, args.dry_run, atomic, &client, args.client.json)
}

/// Every row of the file: those without a mistake found here, the mistakes, how many rows.
fn read(path: &std::path::Path) -> Result<(Vec<AgentRow>, Vec<Diag>, u64), Diag> {
    let f = std::fs::File::open(path)
        .map_err(|e| Diag::new(0, "-", format!("cannot open the file: {e}")))?;
    let mut csv = AgentCsv::new(std::io::BufReader::new(f))?;
    let (mut rows, mut diags, mut total) = (Vec::new(), Vec::new(), 0);
    while let Some(r) = csv.next_row()? {
        total += 1;
        match r {
            Ok(row) => rows.push(row),
            Err(d) => diags.extend(d),
        }
    }
    Ok((rows, diags, total))
}

fn upserts(rows: &[AgentRow]) -> Vec<AgentUpsert> {
    rows.iter()
        .map(|r| AgentUpsert {
            email: r.email.clone(),
            name: r.name.clone(),
            external_id: r.external_id.clone(),
            active: r.active,
        })
        .collect()
}

fn lines(rows: &[AgentRow]) -> AgentLines {
    AgentLines {
        lines: rows.iter().map(|r| r.line).collect(),
    }
}

fn add(total: &mut AgentsBulkSummary, s: &AgentsBulkSummary) {
    total.items += s.items;
    total.succeeded += s.succeeded;
    total.failed += s.failed;
    total.created += s.created;
    total.updated += s.updated;
    total.unchanged += s.unchanged;
}

/// Sends every chunk (a dry run for [`Pass::Check`]), all or nothing per chunk when
/// `atomic`: a chunk refused with a 400 adds its entries, and a chunk written in part its
/// failed rows' entries, each at its line.
async fn send(
    client: &Client,
    rows: &[AgentRow],
    size: usize,
    (pass, atomic): (Pass, bool),
    progress: &Progress,
    out: &mut Outcome,
) -> Result<(), Error> {
    let mut done = 0;
    for chunk in rows.chunks(size) {
        let opts = BulkOptions {
            dry_run: pass == Pass::Check,
            idempotency_key: None,
        };
        out.chunks += 1;
        let l = lines(chunk);
        let mut at_lines = |errors: &[ErrorEntry]| {
            out.diags.extend(
                errors
                    .iter()
                    .map(|e| l.diag(e.pointer.as_deref(), &e.detail, e.hint.as_deref())),
            )
        };
        match client.upsert_agents(&upserts(chunk), atomic, &opts).await {
            Ok(o) => {
                for p in o.response.results.iter().filter_map(|r| r.problem.as_ref()) {
                    at_lines(&p.errors);
                }
                add(&mut out.summary, &o.response.summary);
            }
            Err(Error::Problem {
                status: 400,
                problem,
                ..
            }) => {
                at_lines(&problem.errors);
                out.failed_chunks += 1;
            }
            Err(e) => return Err(e),
        }
        done += chunk.len() as u64;
        progress.chunk_done(
            pass,
            done,
            out.chunks,
            out.failed_chunks,
            client.stats().retries,
        );
    }
    Ok(())
}

fn report(
    file: &str,
    out: &Outcome,
    dry_run: bool,
    atomic: bool,
    client: &Client,
    json_out: bool,
) -> u8 {
    let mut diags = out.diags.clone();
    diags.sort_by_key(|a| a.line);
    let s = &out.summary;
    if json_out {
        println!(
            "{}",
            json!({
                "dryRun": dry_run,
                "atomic": atomic,
                "written": out.written,
                "summary": s,
                "errors": diags,
                "chunks": out.chunks,
                "retries": client.stats().retries,
            })
        );
    } else {
        for d in &diags {
            eprintln!("{}", d.display(file));
        }
        if atomic && !diags.is_empty() && !out.written {
            eprintln!(
                "{} mistakes in {file}; nothing was written (--no-atomic writes the rows without mistakes)",
                diags.len()
            );
        } else if atomic && out.failed_chunks > 0 {
            eprintln!(
                "{} of {} requests were refused (the data changed since the check) and wrote nothing; the others were written",
                out.failed_chunks, out.chunks
            );
        }
        let verb = if out.written { "" } else { "would be " };
        if out.written || diags.is_empty() || !atomic {
            println!(
                "{} agents: {} {verb}created, {} {verb}updated, {} unchanged, {} failed",
                s.items, s.created, s.updated, s.unchanged, s.failed
            );
        }
    }
    exit::of_rows(diags.len() as u64)
}
