//! `skillgrid validate`: checks an assignment file offline, with the readers `apply` uses.

use super::csvfile::{check_row, Diag, InputFormat, Next, Rows};
use super::exit;
use clap::Args;
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;

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
    let mut diags = Vec::new();
    let mut rows_read = 0u64;
    let format = InputFormat::detect(&args.file, args.format);
    match Rows::open(&args.file, format) {
        Err(d) => diags.push(d),
        Ok(mut rows) => {
            // (agent, skill) as written, compared case-insensitively -> where first seen.
            let mut seen: HashMap<(String, String), String> = HashMap::new();
            loop {
                let row = match rows.next_entry() {
                    Ok(Some(Next::Row(r))) => r,
                    Ok(Some(Next::Invalid(ds))) => {
                        rows_read += 1;
                        diags.extend(ds);
                        continue;
                    }
                    Ok(None) => break,
                    Err(d) => {
                        diags.push(d);
                        break;
                    }
                };
                rows_read += 1;
                diags.extend(check_row(&row));
                if row.agent.is_empty() || row.skill.is_empty() {
                    continue;
                }
                let key = (row.agent.to_lowercase(), row.skill.to_lowercase());
                match seen.get(&key) {
                    Some(first) => diags.push(row.diag(
                        "skill",
                        format!(
                            "duplicate: agent \"{}\" and skill \"{}\" are already on {first}",
                            row.agent, row.skill
                        ),
                    )),
                    None => {
                        seen.insert(key, row.place());
                    }
                }
            }
        }
    }
    for d in &diags {
        eprintln!("{}", d.display(&file));
    }
    if args.json {
        println!(
            "{}",
            json!({"file": file, "rows": rows_read, "valid": diags.is_empty(), "errors": diags})
        );
    } else if diags.is_empty() {
        println!("{file}: {rows_read} rows, no problems found");
    } else {
        println!("{file}: {rows_read} rows, {} problems", diags.len());
    }
    if diags.is_empty() {
        exit::OK
    } else {
        exit::ROWS_FAILED
    }
}
