//! First start, demo data and the admin commands: things done to the database directly.

use crate::auth::{hash_secret, new_client_secret};
use crate::vendor_scopes::{self, Asked};
use serde::Serialize;
use skillgrid_api::{scopes, OrgSettings};
use skillgrid_core::model::{Assignment, Given, NewAgent, NewSkill, SkillSetWrite};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::{AgentWrite, DynStore, StoreError, WriteContext, WriteOptions};
use uuid::Uuid;

/// A client as `admin create-client --json` prints it; the secret is shown only here.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewClient {
    pub client_id: Uuid,
    pub client_secret: String,
    pub org_id: Uuid,
    pub scopes: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewOrg {
    pub org_id: Uuid,
    pub name: String,
}

pub async fn create_org(store: &DynStore, name: &str) -> anyhow::Result<NewOrg> {
    let name = name.trim();
    anyhow::ensure!(!name.is_empty(), "the organization name must not be empty");
    match store.create_org(name, &OrgSettings::default()).await {
        Ok(o) => Ok(NewOrg {
            org_id: o.id,
            name: o.name,
        }),
        Err(StoreError::Conflict { .. }) => {
            anyhow::bail!("an organization named `{name}` already exists")
        }
        Err(e) => Err(e.into()),
    }
}

/// Creates an API client of `org` (an id or a name) with `scopes` (space-separated).
pub async fn create_client(
    store: &DynStore,
    org: &str,
    name: &str,
    scope_list: &str,
) -> anyhow::Result<NewClient> {
    let name = name.trim();
    anyhow::ensure!(!name.is_empty(), "the client name must not be empty");
    let org = store
        .find_org(org.trim())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no organization with id or name `{org}`"))?;
    // Separated by spaces (as in OAuth) or commas; a scope given twice is held once.
    let mut requested: Vec<String> = Vec::new();
    for s in scope_list.split(|c: char| c.is_whitespace() || c == ',') {
        if !s.is_empty() && !requested.iter().any(|r| r == s) {
            requested.push(s.to_string());
        }
    }
    anyhow::ensure!(
        !requested.is_empty(),
        "give at least one scope; known scopes: {}",
        scopes::ALL.join(" ")
    );
    let names: Vec<&str> = requested.iter().map(String::as_str).collect();
    if let Some(why) = vendor_scopes::refusal(&names, Asked::CreateClient) {
        anyhow::bail!("{why}");
    }
    let secret = new_client_secret();
    let c = store
        .create_client(org.id, name, &hash_secret(&secret), &requested)
        .await?;
    Ok(NewClient {
        client_id: c.id,
        client_secret: secret,
        org_id: org.id,
        scopes: c.scopes,
    })
}

/// On an empty database: the `default` organization and a `bootstrap` client with every
/// scope, whose credentials are returned to be printed once.
pub async fn first_start(store: &DynStore) -> anyhow::Result<Option<NewClient>> {
    if store.org_count().await? > 0 {
        return Ok(None);
    }
    let scopes: Vec<String> = scopes::ALL.iter().map(|s| s.to_string()).collect();
    let secret = new_client_secret();
    // One transaction: a process killed here leaves an empty database, not an organization
    // nobody can reach, and the next start tries again.
    let (org, client) = match store
        .create_org_with_client(
            "default",
            &OrgSettings::default(),
            "bootstrap",
            &hash_secret(&secret),
            &scopes,
        )
        .await
    {
        Ok(created) => created,
        // Another `serve` on the same database got there first: it prints the credentials.
        Err(StoreError::Conflict { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(NewClient {
        client_id: client.id,
        client_secret: secret,
        org_id: org.id,
        scopes: client.scopes,
    }))
}

/// Fills an organization that has no skills yet with a small sample catalog and agents.
pub async fn demo_data(store: &DynStore, org: Uuid, client: Uuid) -> anyhow::Result<bool> {
    if !store.catalog(org).await?.is_empty() {
        return Ok(false);
    }
    let now = Timestamp::now();
    let mut skills = Vec::new();
    for (name, description) in [
        ("Billing", "Invoices, payments and refunds"),
        (
            "Technical Support",
            "Troubleshooting devices and connectivity",
        ),
        ("Sales", "New subscriptions and upgrades"),
        ("Retention", "Cancellation requests and win-back offers"),
        ("Spanish", "Handles conversations in Spanish"),
        ("French", "Handles conversations in French"),
    ] {
        let s = store
            .create_skill(
                org,
                &NewSkill {
                    name: name.into(),
                    description: Some(description.into()),
                },
                now,
            )
            .await?;
        skills.push(s.id);
    }
    let mut writes = Vec::new();
    for (i, (email, name)) in [
        ("ana.garcia@example.com", "Ana García"),
        ("ben.okafor@example.com", "Ben Okafor"),
        ("chloe.martin@example.com", "Chloé Martin"),
        ("dev.patel@example.com", "Dev Patel"),
        ("emma.schmidt@example.com", "Emma Schmidt"),
    ]
    .into_iter()
    .enumerate()
    {
        let a = store
            .create_agent(
                org,
                &NewAgent {
                    email: email.into(),
                    name: name.into(),
                    external_id: Some(format!("EMP-{:04}", 1001 + i)),
                },
                now,
            )
            .await?;
        let set = (0..3)
            .map(|k| Assignment {
                skill_id: skills[(i + k) % skills.len()],
                proficiency: [25, 50, 75, 100][(i + k) % 4],
                effective: None,
                expires: None,
                given: Given::Number,
            })
            .collect();
        writes.push(AgentWrite {
            agent_id: a.id,
            write: SkillSetWrite::Replace(set),
            if_match: None,
        });
    }
    let ctx = WriteContext {
        request_id: "demo-data".into(),
        client_id: client,
        now,
    };
    store
        .write_skill_sets(
            org,
            &ctx,
            &writes,
            WriteOptions {
                dry_run: false,
                atomic: true,
                max_skills_per_agent: 500,
                return_sets: false,
            },
        )
        .await?;
    Ok(true)
}
