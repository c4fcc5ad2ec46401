//! `skillgrid export`: every agent's assignments, in the CSV shape `apply` reads.

use super::csvfile::HEADER;
use super::{exit, server_failure, ClientOpts};
use clap::{Args, ValueEnum};
use serde_json::json;
use skillgrid_client::AgentQuery;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Output format (`--json` is the same as `--format json`).
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    #[command(flatten)]
    client: ClientOpts,
}

pub async fn export(args: ExportArgs) -> u8 {
    let client = match args.client.client() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut agents = match client
        .all_agents(&AgentQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .await
    {
        Ok(a) => a,
        Err(e) => return server_failure("listing agents", &e),
    };
    agents.sort_by_key(|a| a.email.to_lowercase());
    let mut rows: Vec<[String; 5]> = Vec::new();
    for a in &agents {
        let set = match client.agent_skills(a.id).await {
            Ok(s) => s,
            Err(e) => return server_failure(&format!("reading the skills of {}", a.email), &e),
        };
        let mut skills = set.skills;
        skills.sort_by(|x, y| {
            x.skill_name
                .to_lowercase()
                .cmp(&y.skill_name.to_lowercase())
        });
        for s in skills {
            rows.push([
                a.email.clone(),
                s.skill_name,
                s.proficiency.to_string(),
                s.effective_date.unwrap_or_default(),
                s.expiration_date.unwrap_or_default(),
            ]);
        }
    }
    let json_out = args.client.json || matches!(args.format, Format::Json);
    if json_out {
        let items: Vec<_> = rows
            .iter()
            .map(|r| {
                let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
                json!({
                    "agent": r[0], "skill": r[1],
                    "proficiency": r[2].parse::<i64>().ok(),
                    "effectiveDate": opt(&r[3]), "expirationDate": opt(&r[4]),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(items));
        return exit::OK;
    }
    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
    let written = w
        .write_record(HEADER)
        .and_then(|()| rows.iter().try_for_each(|r| w.write_record(r)))
        .and_then(|()| w.flush().map_err(csv::Error::from));
    match written {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: writing the output: {e}");
            exit::USAGE
        }
    }
}
