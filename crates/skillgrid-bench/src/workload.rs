//! The rows every contender writes: `agents × skills` assignments, seeded once into a template
//! database that each run copies, and the bodies that carry them.

use anyhow::{Context, Result};
use skillgrid_api::{OrgSettings, RateLimit};
use skillgrid_core::model::{NewAgent, NewSkill};
use skillgrid_core::timestamp::Timestamp;
use std::fmt::Write;
use uuid::Uuid;

pub struct Fixture {
    pub agents: Vec<Uuid>,
    pub skills: Vec<Uuid>,
    pub client_id: Uuid,
    pub secret: String,
}

/// The proficiency of agent `a`'s skill `s` in round `round`: every round changes every value.
pub fn proficiency(a: usize, s: usize, round: usize) -> i64 {
    ((a * 7 + s * 13 + round * 31) % 100) as i64
}

/// Creates the organization, its API client, the skills and the agents through the store, with
/// a rate limit the benchmark never reaches (a bulk request counts as one, a loop of single
/// writes would otherwise be throttled, which is not what is measured).
pub async fn seed(database: &str, agents: usize, skills: usize) -> Result<Fixture> {
    let store = skillgrid_store::open(database).await?;
    let boot = skillgrid_server::bootstrap::first_start(&store)
        .await?
        .context("the template database was not empty")?;
    let settings = OrgSettings {
        rate_limit: RateLimit {
            requests_per_minute: 100_000_000,
            burst: 1_000_000,
        },
        ..OrgSettings::default()
    };
    store
        .update_settings(boot.org_id, &settings)
        .await?
        .map_err(|_| anyhow::anyhow!("the benchmark's settings were refused"))?;
    let now = Timestamp::now();
    let mut skill_ids = Vec::with_capacity(skills);
    for i in 0..skills {
        let s = NewSkill {
            name: format!("Skill {i:02}"),
            description: None,
        };
        skill_ids.push(store.create_skill(boot.org_id, &s, now).await?.id.get());
    }
    let mut agent_ids = Vec::with_capacity(agents);
    for i in 0..agents {
        let a = NewAgent {
            email: format!("agent{i}@example.com"),
            name: format!("Agent {i}"),
            external_id: None,
        };
        agent_ids.push(store.create_agent(boot.org_id, &a, now).await?.id.get());
    }
    Ok(Fixture {
        agents: agent_ids,
        skills: skill_ids,
        client_id: boot.client_id.get(),
        secret: boot.client_secret,
    })
}

/// One atomic merge of every assignment at `round`'s proficiencies, as sent over the wire.
pub fn bulk_body(f: &Fixture, round: usize) -> Vec<u8> {
    bulk_body_of(f, 0..f.agents.len(), round)
}

/// One atomic merge giving the agents `range` (indexes into `f.agents`) every skill at
/// `round`'s proficiencies.
pub fn bulk_body_of(f: &Fixture, range: std::ops::Range<usize>, round: usize) -> Vec<u8> {
    let mut s = String::with_capacity(range.len() * (f.skills.len() * 75 + 60));
    s.push_str(r#"{"mode": "merge", "atomic": true, "items": ["#);
    let first = range.start;
    for a in range {
        if a > first {
            s.push_str(", ");
        }
        let _ = write!(s, r#"{{"agentId": "{}", "skills": ["#, f.agents[a]);
        for (k, skill) in f.skills.iter().enumerate() {
            if k > 0 {
                s.push_str(", ");
            }
            let _ = write!(
                s,
                r#"{{"skillId": "{skill}", "proficiency": {}}}"#,
                proficiency(a, k, round)
            );
        }
        s.push_str("]}");
    }
    s.push_str("]}");
    s.into_bytes()
}
