//! `skillgrid validate`: checks an assignment file offline, with the readers `apply` uses.
//! Like `apply`, it reads the file twice and holds no record per row (see [`super::dups`]).

use super::csvfile::{check_row, Diag, InputFormat, Kind, Next, Rows};
use super::dups::{Dups, Interner, Runs};
use super::exit;
use super::ledger::LISTED_ERRORS;
use clap::Args;
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// CSV with a header row, JSON or NDJSON, as for `apply`.
    file: PathBuf,
    /// Format of FILE (default: by extension, .json / .ndjson, else CSV).
    #[arg(long, value_enum)]
    format: Option<InputFormat>,
    /// Machine-readable output: one JSON document on stdout.
    #[arg(long)]
    json: bool,
}

/// 0 clean, 1 problems in the file, 2 the file cannot be read.
pub fn validate(args: ValidateArgs) -> u8 {
    let file = args.file.display().to_string();
    if let Err(e) = std::fs::File::open(&args.file) {
        eprintln!(
            "{}",
            Diag::new(1, "-", format!("cannot open: {e}")).display(&file)
        );
        return exit::USAGE;
    }
    let mut errors = 0u64;
    let mut listed = Vec::new();
    let mut report = |d: Diag| {
        eprintln!("{}", d.display(&file));
        errors += 1;
        if listed.len() < LISTED_ERRORS {
            listed.push(d);
        }
    };
    let mut rows_read = 0u64;
    let format = InputFormat::detect(&args.file, args.format);
    let mut agents = Interner::default();
    match scan(&args.file, format, &mut agents)
        .and_then(|s| Ok((s, Rows::open(&args.file, format)?)))
    {
        Err(d) => report(d),
        Ok((scattered, mut rows)) => {
            let mut dups = Dups::new(scattered);
            let mut skills = Interner::default();
            // The pointer of each row ordinal of a JSON file, for its error messages.
            let mut pointers: HashMap<u64, String> = HashMap::new();
            loop {
                let row = match rows.next_entry() {
                    Ok(Some(Next::Row(r))) => r,
                    Ok(Some(Next::Invalid(ds))) => {
                        rows_read += 1;
                        ds.into_iter().for_each(&mut report);
                        continue;
                    }
                    Ok(None) => break,
                    Err(d) => {
                        report(d);
                        break;
                    }
                };
                rows_read += 1;
                if let Some(p) = &row.pointer {
                    pointers.insert(row.line, p.clone());
                }
                check_row(&row).into_iter().for_each(&mut report);
                if row.agent.is_empty() || row.skill.is_empty() || row.kind == Kind::IfMatch {
                    continue;
                }
                let (a, s) = (agents.key(&row.agent), skills.key(&row.skill));
                if let Some(first) = dups.check(a, s, row.line) {
                    let place = pointers
                        .get(&first)
                        .cloned()
                        .unwrap_or_else(|| format!("line {first}"));
                    report(row.diag(
                        if row.kind == Kind::Remove {
                            "remove"
                        } else {
                            "skill"
                        },
                        format!(
                            "duplicate: agent \"{}\" and skill \"{}\" are already on {place}",
                            row.agent, row.skill
                        ),
                    ));
                }
            }
        }
    }
    if args.json {
        println!(
            "{}",
            json!({"file": file, "rows": rows_read, "valid": errors == 0, "errors": listed,
                   "errorsNotListed": errors - listed.len() as u64})
        );
    } else if errors == 0 {
        println!("{file}: {rows_read} rows, no problems found");
    } else {
        println!("{file}: {rows_read} rows, {errors} problems");
    }
    exit::of_rows(errors)
}

/// The first pass: which agents' rows are scattered.
fn scan(
    path: &Path,
    format: InputFormat,
    agents: &mut Interner,
) -> Result<HashMap<u32, u64>, Diag> {
    let mut rows = Rows::open(path, format)?;
    let mut runs = Runs::default();
    while let Some(next) = rows.next_entry()? {
        if let Next::Row(r) = next {
            if !r.agent.is_empty() {
                runs.push(agents.key(&r.agent), r.line);
            }
        }
    }
    Ok(runs.finish())
}
