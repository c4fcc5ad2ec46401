//! First start, demo data and the admin commands: things done to the database directly.

use crate::auth::{hash_secret, new_client_secret, TOKEN_TTL_MAX_SECS, TOKEN_TTL_MIN_SECS};
use crate::console::passwords;
use crate::vendor_scopes::{self, Asked};
use serde::Serialize;
use skillgrid_api::{scopes, OrgSettings};
use skillgrid_core::model::{
    Assignment, ClientId, Given, NewAgent, NewSkill, OrgId, SkillSetWrite,
};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::{
    AgentWrite, ChangedBy, ClientChange, ClientRecord, Conflict, DynStore, NewUser, OrgRecord,
    PageRequest, Role, StoreError, Unique, UserChange, UserRecord, WriteContext, WriteOptions,
};
use uuid::Uuid;

/// A client as `admin create-client --json` prints it; the secret is shown only here.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewClient {
    pub client_id: ClientId,
    pub client_secret: String,
    pub org_id: OrgId,
    pub scopes: Vec<String>,
}

impl NewClient {
    /// A client with the secret just made for it, to be shown this once.
    fn shown(c: ClientRecord, secret: String) -> Self {
        NewClient {
            client_id: c.id,
            client_secret: secret,
            org_id: c.org_id,
            scopes: c.scopes,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewOrg {
    pub org_id: OrgId,
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
        Err(StoreError::Conflict(_)) => {
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
    create_client_lasting(store, org, name, scope_list, None).await
}

/// [`create_client`], whose tokens last `token_lifetime` seconds (within
/// [`TOKEN_TTL_MIN_SECS`]..=[`TOKEN_TTL_MAX_SECS`]) instead of an hour: for an identity
/// provider, which keeps one token.
pub async fn create_client_lasting(
    store: &DynStore,
    org: &str,
    name: &str,
    scope_list: &str,
    token_lifetime: Option<u64>,
) -> anyhow::Result<NewClient> {
    if let Some(t) = token_lifetime {
        anyhow::ensure!(
            (TOKEN_TTL_MIN_SECS..=TOKEN_TTL_MAX_SECS).contains(&t),
            "--token-lifetime must be from {TOKEN_TTL_MIN_SECS} to {TOKEN_TTL_MAX_SECS} seconds (5 minutes to a year), not {t}"
        );
    }
    let name = name.trim();
    anyhow::ensure!(!name.is_empty(), "the client name must not be empty");
    let org = find_org(store, org).await?;
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
        .create_client(org.id, name, &hash_secret(&secret), &requested, &by_cli())
        .await?;
    if let Some(t) = token_lifetime {
        store
            .set_client_token_lifetime(org.id, c.id, Some(t as i64))
            .await?;
    }
    Ok(NewClient::shown(c, secret))
}

/// The author of a change made by an admin command, in its audit entry.
fn by_cli() -> ChangedBy {
    ChangedBy {
        request_id: "admin-cli".into(),
        client: None,
        now: Timestamp::now(),
    }
}

async fn find_org(store: &DynStore, org: &str) -> anyhow::Result<OrgRecord> {
    store
        .find_org(org.trim())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no organization with id or name `{org}`"))
}

/// A client as `admin list-clients --json` prints it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedClient {
    pub client_id: ClientId,
    pub name: String,
    pub scopes: Vec<String>,
    pub active: bool,
    pub created_at: String,
    pub secret_created_at: String,
}

impl From<ClientRecord> for ListedClient {
    fn from(c: ClientRecord) -> Self {
        ListedClient {
            client_id: c.id,
            name: c.name,
            scopes: c.scopes,
            active: c.active,
            created_at: c.created_at.to_rfc3339(),
            secret_created_at: c.secret_created_at.to_rfc3339(),
        }
    }
}

/// Every client of `org` (an id or a name), oldest first.
pub async fn list_clients(store: &DynStore, org: &str) -> anyhow::Result<Vec<ListedClient>> {
    let org = find_org(store, org).await?;
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_clients(org.id, PageRequest { after, limit: 1000 })
            .await?;
        out.extend(page.items.into_iter().map(ListedClient::from));
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

/// The client of `org` that `client` names: its id, or a name no other client of the
/// organization has.
async fn find_client(
    store: &DynStore,
    org: &OrgRecord,
    client: &str,
) -> anyhow::Result<ClientRecord> {
    let client = client.trim();
    if let Ok(id) = client.parse::<ClientId>() {
        return match store.get_client(org.id, id).await {
            Ok(c) => Ok(c),
            Err(StoreError::NotFound) => {
                anyhow::bail!("organization `{}` has no client with id {id}", org.name)
            }
            Err(e) => Err(e.into()),
        };
    }
    let named: Vec<ListedClient> = list_clients(store, &org.id.to_string())
        .await?
        .into_iter()
        .filter(|c| c.name == client)
        .collect();
    match named.as_slice() {
        [one] => Ok(store.get_client(org.id, one.client_id).await?),
        [] => anyhow::bail!(
            "organization `{}` has no client with id or name `{client}`; `admin list-clients` lists them",
            org.name
        ),
        _ => anyhow::bail!(
            "{} clients of organization `{}` are named `{client}`; give the client's id (`admin list-clients` lists them)",
            named.len(),
            org.name
        ),
    }
}

/// The client of `org` that `client` names, refused when it is a console user's: that client
/// records the user's changes and is changed only with the user.
async fn changeable_client(
    store: &DynStore,
    org: &OrgRecord,
    client: &str,
) -> anyhow::Result<ClientRecord> {
    let c = find_client(store, org, client).await?;
    if let Some(u) = store
        .list_users(org.id)
        .await?
        .into_iter()
        .find(|u| u.client_id == c.id)
    {
        anyhow::bail!(
            "client `{}` records the changes of the console user {} and is changed only with the user; use `admin disable-user` or `admin enable-user`",
            c.name,
            u.email
        );
    }
    Ok(c)
}

/// Disables (or, with `active`, enables) a client of `org`: a disabled client gets no token,
/// and the tokens it holds are refused from the next request on, by every server.
pub async fn set_client_active(
    store: &DynStore,
    org: &str,
    client: &str,
    active: bool,
) -> anyhow::Result<ListedClient> {
    let org = find_org(store, org).await?;
    let c = changeable_client(store, &org, client).await?;
    let change = ClientChange {
        active: Some(active),
        ..ClientChange::default()
    };
    Ok(store
        .update_client(org.id, c.id, &change, &by_cli())
        .await?
        .into())
}

/// Gives a client of `org` a new secret, returned to be printed once; the old secret stops
/// working, and so do the tokens issued before.
pub async fn rotate_secret(store: &DynStore, org: &str, client: &str) -> anyhow::Result<NewClient> {
    let org = find_org(store, org).await?;
    let c = changeable_client(store, &org, client).await?;
    let secret = new_client_secret();
    let change = ClientChange {
        secret_hash: Some(hash_secret(&secret)),
        ..ClientChange::default()
    };
    let c = store
        .update_client(org.id, c.id, &change, &by_cli())
        .await?;
    Ok(NewClient::shown(c, secret))
}

/// A console user as `admin create-user --json` prints it; a password made for the user is
/// shown only here.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewConsoleUser {
    pub user_id: Uuid,
    pub org_id: OrgId,
    pub email: String,
    pub role: Role,
    /// The one-time password made for the user; absent when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// Creates a console user of `org` (an id or a name). Without `password`, a one-time password
/// is made and returned to be shown once; either way the user must choose their own at their
/// first sign-in.
pub async fn create_user(
    store: &DynStore,
    org: &str,
    email: &str,
    role: Role,
    password: Option<&str>,
) -> anyhow::Result<NewConsoleUser> {
    let org = find_org(store, org).await?;
    match create_user_in(store, &org, email, role, password, &by_cli()).await? {
        Ok(u) => Ok(u),
        Err(refusal) => anyhow::bail!("{refusal}"),
    }
}

/// Creates a console user of `org`, recorded as made `by` (the CLI, or an admin of the
/// console); the outer error is the store's, the inner one says why the user was refused, in
/// words for the person who asked: the same rules for both.
pub async fn create_user_in(
    store: &DynStore,
    org: &OrgRecord,
    email: &str,
    role: Role,
    password: Option<&str>,
    by: &ChangedBy,
) -> anyhow::Result<Result<NewConsoleUser, String>> {
    let email = email.trim();
    if !(email.len() >= 3 && email.contains('@') && !email.contains(char::is_whitespace)) {
        return Ok(Err(format!("`{email}` is not an e-mail address")));
    }
    let made = password.is_none().then(passwords::one_time);
    let password = password.or(made.as_deref()).unwrap_or_default();
    if let Some(why) = passwords::refusal(password) {
        return Ok(Err(why));
    }
    let new = NewUser {
        email: email.into(),
        role,
        password_hash: passwords::hash(password)?,
        must_change_password: true,
    };
    let user = match store.create_user(org.id, &new, by).await {
        Ok(u) => u,
        Err(StoreError::Conflict(Conflict::Taken(Unique::UserEmail))) => {
            return Ok(Err(format!(
                "organization `{}` already has a user with the e-mail `{email}`",
                org.name
            )))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Ok(NewConsoleUser {
        user_id: user.id,
        org_id: user.org_id,
        email: user.email,
        role: user.role,
        password: made,
    }))
}

/// A console user as `admin list-users --json` prints it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedUser {
    pub user_id: Uuid,
    pub email: String,
    pub role: Role,
    pub active: bool,
    pub must_change_password: bool,
    pub created_at: String,
}

impl From<UserRecord> for ListedUser {
    fn from(u: UserRecord) -> Self {
        ListedUser {
            user_id: u.id,
            email: u.email,
            role: u.role,
            active: u.active,
            must_change_password: u.must_change_password,
            created_at: u.created_at.to_rfc3339(),
        }
    }
}

/// Every console user of `org` (an id or a name), oldest first.
pub async fn list_users(store: &DynStore, org: &str) -> anyhow::Result<Vec<ListedUser>> {
    let org = find_org(store, org).await?;
    Ok(store
        .list_users(org.id)
        .await?
        .into_iter()
        .map(ListedUser::from)
        .collect())
}

/// Disables (or, with `active`, enables) the console user of `org` with `email`: disabling
/// ends every session of theirs at once.
pub async fn set_user_active(
    store: &DynStore,
    org: &str,
    email: &str,
    active: bool,
) -> anyhow::Result<ListedUser> {
    let org = find_org(store, org).await?;
    let user = store
        .find_user(org.id, email.trim())
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "organization `{}` has no user with the e-mail `{}`",
                org.name,
                email.trim()
            )
        })?;
    let change = UserChange {
        active: Some(active),
        ..UserChange::default()
    };
    Ok(store
        .update_user_by(org.id, user.id, &change, &by_cli())
        .await?
        .into())
}

/// The console user `serve --demo` makes in the `default` organization.
pub const DEMO_ADMIN: &str = "admin@example.com";

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
    let (_, client) = match store
        .create_org_with_client(
            "default",
            &OrgSettings::default(),
            "bootstrap",
            &hash_secret(&secret),
            &scopes,
            &ChangedBy {
                request_id: "first-start".into(),
                client: None,
                now: Timestamp::now(),
            },
        )
        .await
    {
        Ok(created) => created,
        // Another `serve` on the same database got there first: it prints the credentials.
        Err(StoreError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(NewClient::shown(client, secret)))
}

/// Fills an organization that has no skills yet with a small sample catalog and agents.
pub async fn demo_data(store: &DynStore, org: OrgId, client: ClientId) -> anyhow::Result<bool> {
    if !store.catalog(org).await?.is_empty() {
        return Ok(false);
    }
    let now = Timestamp::now();
    // Made by the server itself: in the audit trail with no client, as an admin command's.
    let by = ChangedBy::direct("demo-data", now);
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
            .create_skill_by(
                org,
                &NewSkill {
                    name: name.into(),
                    description: Some(description.into()),
                },
                &by,
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
            .create_agent_by(
                org,
                &NewAgent {
                    email: email.into(),
                    name: name.into(),
                    external_id: Some(format!("EMP-{:04}", 1001 + i)),
                },
                &by,
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
                inactive_ok: false,
            },
        )
        .await?;
    Ok(true)
}
