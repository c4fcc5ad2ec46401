//! `skillgrid skills …` and `skillgrid agents …`: the skill catalog and the agents, one call
//! at a time.

use super::{exit, ClientOpts};
use clap::Subcommand;
use skillgrid_client::types::{Agent, Skill};
use skillgrid_client::{
    AgentPatch, AgentQuery, Client, Error, NewAgent, NewSkill, SkillPatch, SkillQuery,
};
use uuid::Uuid;

#[derive(Subcommand, Debug)]
pub enum SkillsCommand {
    /// List skills, every page.
    #[command(after_help = "Example: skillgrid skills list --active true --json")]
    List {
        /// Only the skill of this name.
        #[arg(long)]
        name: Option<String>,
        /// Only active (true) or inactive (false) skills.
        #[arg(long)]
        active: Option<bool>,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Create a skill.
    #[command(
        after_help = "Example: skillgrid skills create --name Billing --description \"Invoices and refunds\""
    )]
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Change a skill's name, description or active flag.
    #[command(
        after_help = "Example: skillgrid skills update Billing --name \"Billing & refunds\""
    )]
    Update {
        /// Skill id or name.
        skill: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        active: Option<bool>,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Mark a skill inactive (it can no longer be assigned; existing assignments stay).
    #[command(after_help = "Example: skillgrid skills deactivate Billing")]
    Deactivate {
        /// Skill id or name.
        skill: String,
        #[command(flatten)]
        client: ClientOpts,
    },
}

#[derive(Subcommand, Debug)]
pub enum AgentsCommand {
    /// List agents, every page.
    #[command(after_help = "Example: skillgrid agents list --email ana@example.com")]
    List {
        /// Only the agent with this email.
        #[arg(long)]
        email: Option<String>,
        /// Only active (true) or inactive (false) agents.
        #[arg(long)]
        active: Option<bool>,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Create an agent.
    #[command(
        after_help = "Example: skillgrid agents create --email ana@example.com --name \"Ana Lima\" --external-id E-1001"
    )]
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        external_id: Option<String>,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Change an agent's email, name, external id or active flag.
    #[command(
        after_help = "Example: skillgrid agents update ana@example.com --name \"Ana L. Lima\""
    )]
    Update {
        /// Agent id or email.
        agent: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        external_id: Option<String>,
        #[arg(long)]
        active: Option<bool>,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Mark an agent inactive (their skills can no longer be changed).
    #[command(after_help = "Example: skillgrid agents deactivate ana@example.com")]
    Deactivate {
        /// Agent id or email.
        agent: String,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Create or update many agents from a CSV file (email,name,active), matched by email;
    /// all or nothing unless --no-atomic.
    #[command(after_help = "Example: skillgrid agents import agents.csv --dry-run")]
    Import(super::agents_import::ImportArgs),
}

/// Why a command failed: already reported, with its exit code.
type Fail = u8;

/// Prints a failed call readably (code, detail, each entry's locator and hint) and gives its
/// exit code: 1 for a 4xx problem, 3 for the network, the token endpoint or a 5xx.
fn failure(what: &str, e: &Error, json_out: bool) -> Fail {
    eprintln!("error: {what}: {e}");
    match e {
        Error::Problem {
            status, problem, ..
        } => {
            if json_out {
                println!("{}", serde_json::json!({ "error": problem }));
            }
            if (400..500).contains(status) {
                exit::ROWS_FAILED
            } else {
                exit::SERVER
            }
        }
        _ => exit::SERVER,
    }
}

fn not_found(what: &str) -> Fail {
    eprintln!("error: {what}");
    exit::ROWS_FAILED
}

fn table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = *w));
            }
        }
        println!("{}", s.trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r);
    }
}

fn print_skills(skills: &[Skill], json_out: bool) {
    if json_out {
        println!(
            "{}",
            serde_json::to_string(skills).expect("skills serialise")
        );
        return;
    }
    table(
        &["ID", "NAME", "ACTIVE", "DESCRIPTION"],
        skills
            .iter()
            .map(|s| {
                vec![
                    s.id.to_string(),
                    s.name.clone(),
                    s.active.to_string(),
                    s.description.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    );
}

fn print_agents(agents: &[Agent], json_out: bool) {
    if json_out {
        println!(
            "{}",
            serde_json::to_string(agents).expect("agents serialise")
        );
        return;
    }
    table(
        &["ID", "EMAIL", "NAME", "ACTIVE", "EXTERNAL ID"],
        agents
            .iter()
            .map(|a| {
                vec![
                    a.id.to_string(),
                    a.email.clone(),
                    a.name.clone(),
                    a.active.to_string(),
                    a.external_id.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    );
}

fn print_one<T: serde::Serialize>(v: &T, json_out: bool, list: impl FnOnce(&T)) {
    if json_out {
        println!("{}", serde_json::to_string(v).expect("resources serialise"));
    } else {
        list(v);
    }
}

/// A skill by id or by name (case-insensitively).
async fn find_skill(client: &Client, key: &str, json_out: bool) -> Result<Uuid, Fail> {
    if let Some(id) = super::id_of(key) {
        return Ok(id);
    }
    let all = client
        .all_skills(&SkillQuery {
            name: Some(key.to_string()),
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .map_err(|e| failure("looking up the skill", &e, json_out))?;
    all.iter()
        .find(|s| s.name.eq_ignore_ascii_case(key))
        .map(|s| s.id)
        .ok_or_else(|| not_found(&format!("no skill named \"{key}\"")))
}

/// An agent by id or by email (case-insensitively).
async fn find_agent(client: &Client, key: &str, json_out: bool) -> Result<Uuid, Fail> {
    if let Some(id) = super::id_of(key) {
        return Ok(id);
    }
    let all = client
        .all_agents(&AgentQuery {
            email: Some(key.to_string()),
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .map_err(|e| failure("looking up the agent", &e, json_out))?;
    all.iter()
        .find(|a| a.email.eq_ignore_ascii_case(key))
        .map(|a| a.id)
        .ok_or_else(|| not_found(&format!("no agent with email \"{key}\"")))
}

fn no_change() -> Fail {
    eprintln!("error: nothing to change; give at least one of the options (see --help)");
    exit::USAGE
}

pub async fn skills(cmd: SkillsCommand) -> u8 {
    match skills_inner(cmd).await {
        Ok(()) => exit::OK,
        Err(code) => code,
    }
}

async fn skills_inner(cmd: SkillsCommand) -> Result<(), Fail> {
    match cmd {
        SkillsCommand::List {
            name,
            active,
            client,
        } => {
            let c = client.client()?;
            let q = SkillQuery {
                name,
                active,
                limit: Some(1000),
                cursor: None,
            };
            let list = c
                .all_skills(&q)
                .await
                .map_err(|e| failure("listing skills", &e, client.json))?;
            print_skills(&list, client.json);
        }
        SkillsCommand::Create {
            name,
            description,
            client,
        } => {
            let c = client.client()?;
            let mut new = NewSkill::new(name);
            new.description = description;
            let s = c
                .create_skill(&new)
                .await
                .map_err(|e| failure("creating the skill", &e, client.json))?;
            print_one(&s, client.json, |s| {
                print_skills(std::slice::from_ref(s), false)
            });
        }
        SkillsCommand::Update {
            skill,
            name,
            description,
            active,
            client,
        } => {
            if name.is_none() && description.is_none() && active.is_none() {
                return Err(no_change());
            }
            let patch = SkillPatch {
                name,
                description: description.map(Some),
                active,
            };
            patch_skill(&skill, &patch, &client).await?;
        }
        SkillsCommand::Deactivate { skill, client } => {
            let patch = SkillPatch {
                active: Some(false),
                ..Default::default()
            };
            patch_skill(&skill, &patch, &client).await?;
        }
    }
    Ok(())
}

async fn patch_skill(key: &str, patch: &SkillPatch, client: &ClientOpts) -> Result<(), Fail> {
    let c = client.client()?;
    let id = find_skill(&c, key, client.json).await?;
    let s = c
        .patch_skill(id, patch)
        .await
        .map_err(|e| failure("updating the skill", &e, client.json))?;
    print_one(&s, client.json, |s| {
        print_skills(std::slice::from_ref(s), false)
    });
    Ok(())
}

pub async fn agents(cmd: AgentsCommand) -> u8 {
    match agents_inner(cmd).await {
        Ok(()) => exit::OK,
        Err(code) => code,
    }
}

async fn agents_inner(cmd: AgentsCommand) -> Result<(), Fail> {
    match cmd {
        AgentsCommand::Import(args) => match super::agents_import::import(args).await {
            exit::OK => {}
            code => return Err(code),
        },
        AgentsCommand::List {
            email,
            active,
            client,
        } => {
            let c = client.client()?;
            let q = AgentQuery {
                email,
                active,
                limit: Some(1000),
                cursor: None,
            };
            let list = c
                .all_agents(&q)
                .await
                .map_err(|e| failure("listing agents", &e, client.json))?;
            print_agents(&list, client.json);
        }
        AgentsCommand::Create {
            email,
            name,
            external_id,
            client,
        } => {
            let c = client.client()?;
            let mut new = NewAgent::new(email, name);
            new.external_id = external_id;
            let a = c
                .create_agent(&new)
                .await
                .map_err(|e| failure("creating the agent", &e, client.json))?;
            print_one(&a, client.json, |a| {
                print_agents(std::slice::from_ref(a), false)
            });
        }
        AgentsCommand::Update {
            agent,
            email,
            name,
            external_id,
            active,
            client,
        } => {
            if email.is_none() && name.is_none() && external_id.is_none() && active.is_none() {
                return Err(no_change());
            }
            let patch = AgentPatch {
                email,
                name,
                external_id: external_id.map(Some),
                active,
            };
            patch_agent(&agent, &patch, &client).await?;
        }
        AgentsCommand::Deactivate { agent, client } => {
            let patch = AgentPatch {
                active: Some(false),
                ..Default::default()
            };
            patch_agent(&agent, &patch, &client).await?;
        }
    }
    Ok(())
}

async fn patch_agent(key: &str, patch: &AgentPatch, client: &ClientOpts) -> Result<(), Fail> {
    let c = client.client()?;
    let id = find_agent(&c, key, client.json).await?;
    let a = c
        .patch_agent(id, patch)
        .await
        .map_err(|e| failure("updating the agent", &e, client.json))?;
    print_one(&a, client.json, |a| {
        print_agents(std::slice::from_ref(a), false)
    });
    Ok(())
}
