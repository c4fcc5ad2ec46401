//! Validation alone, in process: the bulk body through what the server runs on it, against
//! plain `serde_json` parsing of the same body into typed structs (the floor any validator
//! that keeps every error has to be compared with).

use crate::stats::median;
use crate::workload::Fixture;
use anyhow::{bail, Result};
use serde::Deserialize;
use skillgrid_api::OrgSettings;
use skillgrid_core::model::{CatalogSkill, SkillId};
use skillgrid_core::validate::{self, BulkLimits, SkillRules};
use std::collections::HashMap;
use std::time::Instant;
use uuid::Uuid;

/// What the bulk route does to a body before anything is written: the same call
/// (`validate::bulk_body`: parse and validate with the organization's rules). Returns the
/// number of valid items.
pub fn validate_bulk_body(bytes: &[u8], rules: &SkillRules, limits: &BulkLimits) -> Result<usize> {
    match validate::bulk_body(bytes, rules, limits) {
        Ok(req) => Ok(req.items.iter().filter(|i| i.is_ok()).count()),
        Err(e) => bail!("the body is invalid: {} problems", e.len()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct TypedBulk {
    mode: Option<String>,
    atomic: Option<bool>,
    items: Vec<TypedItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct TypedItem {
    agent_id: Uuid,
    skills: Vec<TypedAssignment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct TypedAssignment {
    skill_id: Uuid,
    proficiency: i64,
}

pub struct Validation {
    pub validate_mb_s: f64,
    pub parse_mb_s: f64,
    /// Validation time over typed-parse time (the target is at most 2).
    pub validate_over_parse: f64,
}

pub fn measure(f: &Fixture, body: &[u8], runs: usize) -> Result<Validation> {
    let settings = OrgSettings::default();
    let catalog: HashMap<SkillId, CatalogSkill> = f
        .skills
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let id = SkillId::new(*id);
            let c = CatalogSkill {
                id,
                name: format!("Skill {i:02}"),
                active: true,
            };
            (id, c)
        })
        .collect();
    let rules = SkillRules::new(&settings, &catalog);
    let limits = BulkLimits {
        max_items: settings.limits.max_items_per_bulk,
        max_assignments: settings.limits.max_assignments_per_request,
    };
    let mb = body.len() as f64 / 1e6;
    let (mut v, mut p) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let start = Instant::now();
        let n = validate_bulk_body(body, &rules, &limits)?;
        v.push(start.elapsed().as_secs_f64());
        if n != f.agents.len() {
            bail!("{n} valid items, expected {}", f.agents.len());
        }
        let start = Instant::now();
        let t: TypedBulk = serde_json::from_slice(body)?;
        p.push(start.elapsed().as_secs_f64());
        if t.items.len() != f.agents.len() {
            bail!("typed parse read {} items", t.items.len());
        }
    }
    let (v, p) = (median(v), median(p));
    Ok(Validation {
        validate_mb_s: mb / v,
        parse_mb_s: mb / p,
        validate_over_parse: v / p,
    })
}
