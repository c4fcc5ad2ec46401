//! `skillgrid export`: every agent's assignments, in a shape `apply` reads back (CSV rows, or
//! JSON bulk items). Inactive agents and inactive skills are left out unless asked for, since
//! the server refuses writes to them: an export applied as it is changes nothing.

use super::csvfile::HEADER;
use super::{exit, server_failure, ClientOpts};
use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};
use skillgrid_client::types::AssignmentOut;
use skillgrid_client::{AgentQuery, PageQuery, SkillQuery};
use std::collections::HashMap;
use std::io::Write;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// agent,skill,proficiency,effectiveDate,expirationDate rows.
    Csv,
    /// An array of bulk items: {"agentId": EMAIL, "skills": [{"skillId": NAME, …}]}.
    Json,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Output format (`--json` is the same as `--format json`).
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Also export inactive agents and assignments of inactive skills. `apply` refuses those
    /// rows (the server does not write to inactive agents or skills), so such an export does
    /// not apply back cleanly.
    #[arg(long)]
    include_inactive: bool,
    #[command(flatten)]
    client: ClientOpts,
}

pub async fn export(args: ExportArgs) -> u8 {
    let client = match args.client.client() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let active = (!args.include_inactive).then_some(true);
    let mut agents = match client
        .all_agents(&AgentQuery {
            active,
            limit: Some(1000),
            ..Default::default()
        })
        .await
    {
        Ok(a) => a,
        Err(e) => return server_failure("listing agents", &e),
    };
    let skills = match client
        .all_skills(&SkillQuery {
            active,
            limit: Some(1000),
            ..Default::default()
        })
        .await
    {
        Ok(s) => s,
        Err(e) => return server_failure("listing skills", &e),
    };
    // Read skill by skill (who holds each, 1,000 a page), not agent by agent: an organization
    // of 10,000 agents and 10 skills is about a hundred requests instead of 10,000, which the
    // rate limit (600 a minute by default) would stretch over a quarter of an hour.
    let mut held: HashMap<Uuid, Vec<AssignmentOut>> =
        agents.iter().map(|a| (a.id, Vec::new())).collect();
    for skill in &skills {
        let holders = match client
            .all_skill_holders(
                skill.id,
                &PageQuery {
                    limit: Some(1000),
                    cursor: None,
                },
            )
            .await
        {
            Ok(h) => h,
            Err(e) => return server_failure(&format!("reading who holds {}", skill.name), &e),
        };
        for h in holders {
            // Agents left out (inactive ones, unless asked for) are not in `held`.
            if let Some(set) = held.get_mut(&h.agent_id) {
                set.push(h.assignment);
            }
        }
    }
    agents.sort_by_key(|a| a.email.to_lowercase());
    let json_out = args.client.json || matches!(args.format, Format::Json);
    // Every exported assignment is held until the output is written, agent by agent.
    let mut out = std::io::stdout().lock();
    let mut csv = (!json_out).then(|| csv::Writer::from_writer(std::io::stdout()));
    let mut written = match &mut csv {
        Some(w) => w.write_record(HEADER).map_err(std::io::Error::from),
        None => write!(out, "["),
    };
    let mut first_item = true;
    for a in &agents {
        if written.is_err() {
            break;
        }
        let mut skills = held.remove(&a.id).unwrap_or_default();
        if skills.is_empty() {
            continue;
        }
        skills.sort_by(|x, y| {
            x.skill_name
                .to_lowercase()
                .cmp(&y.skill_name.to_lowercase())
        });
        written = match &mut csv {
            Some(w) => skills.iter().try_for_each(|s| {
                w.write_record([
                    a.email.as_str(),
                    &s.skill_name,
                    &s.proficiency.to_string(),
                    s.effective_date.as_deref().unwrap_or(""),
                    s.expiration_date.as_deref().unwrap_or(""),
                ])
                .map_err(std::io::Error::from)
            }),
            None => {
                let skills: Vec<Value> = skills
                    .iter()
                    .map(|s| {
                        let mut o = Map::new();
                        o.insert("skillId".into(), s.skill_name.clone().into());
                        o.insert("proficiency".into(), s.proficiency.into());
                        if let Some(d) = &s.effective_date {
                            o.insert("effectiveDate".into(), d.clone().into());
                        }
                        if let Some(d) = &s.expiration_date {
                            o.insert("expirationDate".into(), d.clone().into());
                        }
                        Value::Object(o)
                    })
                    .collect();
                let sep = if first_item { "" } else { "," };
                first_item = false;
                writeln!(
                    out,
                    "{sep}{}",
                    json!({"agentId": a.email, "skills": skills})
                )
            }
        };
    }
    let written = written.and_then(|()| match &mut csv {
        Some(w) => w.flush(),
        None => writeln!(out, "]").and_then(|()| out.flush()),
    });
    match written {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: writing the output: {e}");
            exit::USAGE
        }
    }
}
