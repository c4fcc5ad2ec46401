//! `GET /console/audit`: the organization's audit feed, newest first, 50 changes a page (by
//! keyset: `cursor`, as the API's audit routes page), filtered by agent (`agent`: an id or an
//! e-mail address), skill, console user (`user`), API client (`client`) and time (`from`,
//! `to`, both included). Every role reads it.
//!
//! The filters are the store's (`Store::audit_feed`, in the database): a page costs a constant
//! number of store calls whatever its filters, the feed's page and one read naming its
//! agents among them. Each change says when, who (the console user's e-mail or the API
//! client's name), which agent (a link to its page), which skill and its values before and
//! after.

use super::agent::assignment;
use super::layout::{frame, refused, respond};
use super::navbar::bar;
use super::sessions;
use crate::error::ApiError;
use crate::render::{decode_audit_cursor, encode_audit_cursor, Renderer};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use foldhash::{HashMap, HashSet};
use maud::{html, Markup};
use serde::Deserialize;
use skillgrid_api::{AdminAuditAction, AdminAuditEntry, AdminAuditKind, AuditEntry};
use skillgrid_core::model::{AgentId, ClientId, OrgId, SkillId};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::{
    AdminFilter, AgentFilter, AgentRecord, AuditFilter, ClientRecord, DynStore, PageRequest,
    StoreError, UserRecord,
};
use uuid::Uuid;

const TITLE: &str = "Audit";

/// Changes on one page of the feed.
pub const PAGE_ROWS: u32 = 50;

/// API clients offered by the filter form: one page of the organization's.
const CLIENTS_LISTED: u32 = 500;

/// The feed's query string, as sent: every field may be missing or empty.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuditQuery {
    pub agent: Option<String>,
    pub skill: Option<String>,
    pub user: Option<String>,
    pub client: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    /// What changed: `assignments` (the default), or one kind of the administrative audit
    /// trail: `skills`, `agents`, `settings`, `people`.
    pub what: Option<String>,
}

/// What the feed shows: agents' assignments, or one kind of the administrative trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Assignments,
    Admin(AdminAuditKind),
}

/// The values of the "What" filter, as sent and as labelled.
const WHATS: [(&str, &str, What); 5] = [
    ("assignments", "Agents' skills", What::Assignments),
    ("skills", "Skills", What::Admin(AdminAuditKind::Skill)),
    ("agents", "Agents", What::Admin(AdminAuditKind::Agent)),
    (
        "settings",
        "Settings",
        What::Admin(AdminAuditKind::Settings),
    ),
    ("people", "People", What::Admin(AdminAuditKind::User)),
];

/// A query-string value that says something: trimmed, and absent when empty.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A time of the form: `2026-12-06T05:10` (as a browser's date-and-time field sends it), with
/// seconds or not, in UTC, or any RFC 3339 time. `end` makes a time without seconds stand for
/// the end of its minute, so that `to` includes it.
fn time(field: &str, v: &str, end: bool) -> Result<Timestamp, String> {
    let minute = v.len() == 16 && v.as_bytes().get(10) == Some(&b'T');
    let parsed = if minute {
        Timestamp::parse_rfc3339(&format!("{v}:00Z"))
            .map(|t| Timestamp(t.0 + if end { 59_999 } else { 0 }))
    } else if v.len() == 19 {
        Timestamp::parse_rfc3339(&format!("{v}Z")).map(|t| Timestamp(t.0 + i64::from(end) * 999))
    } else {
        Timestamp::parse_rfc3339(v)
    };
    parsed.ok_or_else(|| {
        format!("`{v}` is not a time for `{field}`: give a date and time such as 2026-12-06T05:10 (UTC) or an RFC 3339 time")
    })
}

fn id(field: &str, what: &str, v: &str) -> Result<Uuid, String> {
    Uuid::parse_str(v).map_err(|_| format!("`{v}` is not {what}'s id (`{field}`)"))
}

impl AuditQuery {
    /// What the query asks for, or why it cannot be read.
    fn what(&self) -> Result<What, String> {
        match given(&self.what) {
            None => Ok(What::Assignments),
            Some(w) => WHATS
                .iter()
                .find(|(v, _, _)| *v == w)
                .map(|(_, _, what)| *what)
                .ok_or_else(|| {
                    format!("`{w}` is not something the audit shows (`what`): choose assignments, skills, agents, settings or people")
                }),
        }
    }

    /// The store's filter, or why the query string cannot be one.
    async fn filter(
        &self,
        store: &DynStore,
        org: OrgId,
        users: &[UserRecord],
    ) -> Result<Result<AuditFilter, String>, StoreError> {
        let mut f = AuditFilter::default();
        let asked = (|| -> Result<(), String> {
            if let Some(s) = given(&self.skill) {
                f.skill = Some(SkillId::from(id("skill", "a skill", s)?));
            }
            if let Some(u) = given(&self.user) {
                let u = id("user", "a user", u)?;
                let user = users
                    .iter()
                    .find(|x| x.id == u)
                    .ok_or("no user of your organization has this id (`user`)")?;
                f.client = Some(user.client_id);
            }
            if let Some(c) = given(&self.client) {
                let c = ClientId::from(id("client", "an API client", c)?);
                if f.client.is_some_and(|u| u != c) {
                    return Err("choose a user or an API client, not both".into());
                }
                f.client = Some(c);
            }
            f.from = given(&self.from)
                .map(|v| time("from", v, false))
                .transpose()?;
            f.to = given(&self.to).map(|v| time("to", v, true)).transpose()?;
            if let (Some(from), Some(to)) = (f.from, f.to) {
                if from > to {
                    return Err("`from` is after `to`: no change can be in between".into());
                }
            }
            Ok(())
        })();
        if let Err(why) = asked {
            return Ok(Err(why));
        }
        if let Some(a) = given(&self.agent) {
            if let Ok(u) = Uuid::parse_str(a) {
                f.agent = Some(AgentId::from(u));
            } else {
                let found = store
                    .list_agents(
                        org,
                        &AgentFilter {
                            email: Some(a.to_string()),
                            active: None,
                        },
                        PageRequest {
                            after: None,
                            limit: 1,
                        },
                    )
                    .await?;
                match found.items.first() {
                    Some(agent) => f.agent = Some(agent.id),
                    None => {
                        return Ok(Err(format!(
                            "no agent of your organization has the id or e-mail address `{a}`"
                        )))
                    }
                }
            }
        }
        Ok(Ok(f))
    }

    /// This query's filters with the cursor `at`: a link.
    fn link(&self, at: Option<&str>) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("agent", &self.agent),
            ("skill", &self.skill),
            ("user", &self.user),
            ("client", &self.client),
            ("from", &self.from),
            ("to", &self.to),
            ("what", &self.what),
        ] {
            if let Some(v) = given(v) {
                s.append_pair(k, v);
            }
        }
        if let Some(at) = at {
            s.append_pair("cursor", at);
        }
        format!("/console/audit?{}", s.finish())
    }
}

/// A change as shown: the entry, who made it, and its agent when it still exists.
struct Change {
    entry: AuditEntry,
    who: String,
    agent: Option<AgentRecord>,
}

pub async fn page(
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let s = match sessions::for_page(&state, &headers, false).await? {
        Ok(s) => s,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    let org_id = s.record.user.org_id;
    let store = state.store();
    let users = store.list_users(org_id).await?;
    let filter = match query.filter(store, org_id, &users).await? {
        Ok(f) => f,
        Err(why) => return Ok(refused(StatusCode::BAD_REQUEST, TITLE, &why)),
    };
    let after = match decode_audit_cursor(given(&query.cursor)) {
        Ok(after) => after,
        Err(e) => return Ok(refused(StatusCode::BAD_REQUEST, TITLE, &e.detail)),
    };
    let org = store
        .find_org(&org_id.to_string())
        .await?
        .ok_or(StoreError::NotFound)?;
    let kind = match query.what() {
        Ok(What::Assignments) => None,
        Ok(What::Admin(kind)) => Some(kind),
        Err(why) => return Ok(refused(StatusCode::BAD_REQUEST, TITLE, &why)),
    };
    let view = state.org_view(org_id).await?;
    let r = Renderer::new(&view.settings.proficiency_scale, &view.catalog);
    let clients = store
        .list_clients(
            org_id,
            PageRequest {
                after: None,
                limit: CLIENTS_LISTED,
            },
        )
        .await?
        .items;
    let authors = Authors::new(&users, &clients);
    let mut skills = view.catalog.clone();
    skills.sort_by_cached_key(|k| k.name.to_lowercase());
    let mut shown = Shown {
        query: &query,
        users: &users,
        clients: clients
            .iter()
            .filter(|c| !authors.emails.contains_key(&c.id))
            .collect(),
        skills: &skills,
        changes: Vec::new(),
        next: None,
        first_page: after.is_none(),
    };
    let page = PageRequest {
        after,
        limit: PAGE_ROWS,
    };
    let body = if let Some(kind) = kind {
        let admin = match admin_filter(kind, filter) {
            Ok(f) => f,
            Err(why) => return Ok(refused(StatusCode::BAD_REQUEST, TITLE, &why)),
        };
        let trail = store.admin_feed(org_id, &admin, page).await?;
        shown.next = encode_audit_cursor(trail.next);
        let changes: Vec<AdminChange> = trail
            .items
            .into_iter()
            .map(|e| AdminChange {
                who: e
                    .actor
                    .map_or_else(|| "admin command".to_string(), |c| authors.name(c)),
                entry: crate::routes::admin_audit::render(e, &authors.by_user),
            })
            .collect();
        render_admin(&shown, kind, &changes)
    } else {
        let feed = store.audit_feed(org_id, &filter, page).await?;
        shown.next = encode_audit_cursor(feed.next);
        let ids: Vec<AgentId> = feed
            .items
            .iter()
            .map(|a| a.agent_id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let agents: HashMap<AgentId, AgentRecord> = store
            .agents_by_ids(org_id, &ids)
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        shown.changes = feed
            .items
            .into_iter()
            .map(|a| Change {
                who: authors.name(a.client_id),
                agent: agents.get(&a.agent_id).cloned(),
                entry: r.audit(a, &authors.by_user),
            })
            .collect();
        render(&shown)
    };
    Ok(respond(
        StatusCode::OK,
        frame(TITLE, Some(bar(&s, &org.name)), body),
    ))
}

/// Who made a change, by the API client it is recorded under: a console user's e-mail, or an
/// API client's name.
struct Authors<'a> {
    emails: HashMap<ClientId, &'a str>,
    names: HashMap<ClientId, &'a str>,
    by_user: HashMap<ClientId, Uuid>,
}

impl<'a> Authors<'a> {
    fn new(users: &'a [UserRecord], clients: &'a [ClientRecord]) -> Self {
        Authors {
            emails: users
                .iter()
                .map(|u| (u.client_id, u.email.as_str()))
                .collect(),
            names: clients.iter().map(|c| (c.id, c.name.as_str())).collect(),
            by_user: users.iter().map(|u| (u.client_id, u.id)).collect(),
        }
    }

    fn name(&self, client: ClientId) -> String {
        match (self.emails.get(&client), self.names.get(&client)) {
            (Some(email), _) => email.to_string(),
            (None, Some(name)) => format!("API client {name}"),
            (None, None) => format!("API client {client}"),
        }
    }
}

struct Shown<'a> {
    query: &'a AuditQuery,
    users: &'a [UserRecord],
    /// The API clients that are no console user's.
    clients: Vec<&'a ClientRecord>,
    skills: &'a [skillgrid_core::model::CatalogSkill],
    changes: Vec<Change>,
    next: Option<String>,
    first_page: bool,
}

fn filters(s: &Shown) -> Markup {
    let q = s.query;
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let (skill, user, client) = (value(&q.skill), value(&q.user), value(&q.client));
    let what = q.what().unwrap_or(What::Assignments);
    html! {
        form.filters method="get" action="/console/audit" role="search" data-form="audit-filters" {
            div {
                label for="what" { "What changed" }
                select #what name="what" data-what {
                    @for (v, label, w) in WHATS {
                        option value=(v) selected[w == what] { (label) }
                    }
                }
            }
            div {
                label for="agent" { "Agent (e-mail or id)" }
                input #agent type="search" name="agent" value=(value(&q.agent));
            }
            div {
                label for="skill" { "Skill" }
                select #skill name="skill" {
                    option value="" { "Any skill" }
                    @for k in s.skills {
                        @let id = k.id.to_string();
                        option value=(id) selected[id == skill] {
                            (k.name) @if !k.active { " (inactive)" }
                        }
                    }
                }
            }
            div {
                label for="user" { "Console user" }
                select #user name="user" {
                    option value="" { "Any user" }
                    @for u in s.users {
                        @let id = u.id.to_string();
                        option value=(id) selected[id == user] { (u.email) }
                    }
                }
            }
            div {
                label for="client" { "API client" }
                select #client name="client" {
                    option value="" { "Any API client" }
                    @for c in &s.clients {
                        @let id = c.id.to_string();
                        option value=(id) selected[id == client] { (c.name) }
                    }
                }
            }
            div {
                label for="from" { "From (UTC)" }
                input #from type="datetime-local" name="from" value=(value(&q.from));
            }
            div {
                label for="to" { "To (UTC, included)" }
                input #to type="datetime-local" name="to" value=(value(&q.to));
            }
            button type="submit" { "Show" }
        }
    }
}

/// The administrative trail's filter for `kind` from the form's: the skill filter names the
/// skill changed (of skills), the agent filter the agent changed (of agents).
fn admin_filter(kind: AdminAuditKind, f: AuditFilter) -> Result<AdminFilter, String> {
    let subject = match (kind, f.skill, f.agent) {
        (_, Some(_), Some(_)) => {
            return Err(
                "choose a skill or an agent when the audit shows skills or agents, not both".into(),
            )
        }
        (AdminAuditKind::Skill, Some(skill), None) => Some(skill.get()),
        (AdminAuditKind::Agent, None, Some(agent)) => Some(agent.get()),
        (_, None, None) => None,
        (_, Some(_), None) => {
            return Err("the skill filter applies to agents' skills and to skills only".into())
        }
        (_, None, Some(_)) => {
            return Err("the agent filter applies to agents' skills and to agents only".into())
        }
    };
    Ok(AdminFilter {
        kind: Some(kind),
        subject,
        client: f.client,
        from: f.from,
        to: f.to,
    })
}

/// A change of the administrative trail as shown: the entry as the API shows it, and who
/// made it.
struct AdminChange {
    entry: AdminAuditEntry,
    who: String,
}

/// What an entry's side names: a skill's name, an agent's name, a user's e-mail.
fn subject_label(e: &AdminAuditEntry) -> String {
    let side = e.after.as_ref().or(e.before.as_ref());
    let field = |f: &str| {
        side.and_then(|v| v.get(f))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match e.kind {
        AdminAuditKind::Skill => field("name"),
        AdminAuditKind::Agent => format!("{} ({})", field("name"), field("email")),
        AdminAuditKind::Settings => "Organization settings".into(),
        AdminAuditKind::User => field("email"),
        AdminAuditKind::Webhook => format!("Webhook {}", field("url")),
    }
}

/// A value as a line of the page shows it.
fn shown_value(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "(none)".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The fields an entry changed, each with its value before and after (all of them, for a
/// creation), leaving out the time of the change.
fn changed_fields(e: &AdminAuditEntry) -> Vec<(String, String, String)> {
    let empty = serde_json::Map::new();
    let before = e
        .before
        .as_ref()
        .and_then(|v| v.as_object())
        .unwrap_or(&empty);
    let after = e
        .after
        .as_ref()
        .and_then(|v| v.as_object())
        .unwrap_or(&empty);
    after
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "id" | "createdAt" | "updatedAt"))
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| {
            let was = if e.before.is_some() {
                shown_value(before.get(k))
            } else {
                String::new()
            };
            (k.clone(), was, shown_value(Some(v)))
        })
        .collect()
}

fn render_admin(s: &Shown, kind: AdminAuditKind, changes: &[AdminChange]) -> Markup {
    let label = WHATS
        .iter()
        .find(|(_, _, w)| *w == What::Admin(kind))
        .map_or("", |(_, l, _)| l);
    html! {
        (filters(s))
        @if changes.is_empty() {
            p.notice data-no-changes { "No change on this page matches these filters." }
        } @else {
            table.list #audit data-audit data-admin-audit {
                caption { "Changes to " (label.to_lowercase()) ", newest first" }
                thead {
                    tr {
                        @for c in ["When", "Who", "Changed", "Action", "What changed"] {
                            th scope="col" { (c) }
                        }
                    }
                }
                tbody {
                    @for c in changes {
                        @let e = &c.entry;
                        @let action = match e.action {
                            AdminAuditAction::Created => "created",
                            AdminAuditAction::Updated => "updated",
                            AdminAuditAction::Deleted => "deleted",
                        };
                        tr data-admin-entry-id=(e.id) data-subject-id=(e.subject_id)
                            data-client-id=[e.actor_client_id] {
                            td data-at=(e.at) { (e.at) }
                            td data-who { (c.who) }
                            th scope="row" data-subject {
                                @if e.kind == AdminAuditKind::Agent {
                                    a href=(format!("/console/agents/{}", e.subject_id)) { (subject_label(e)) }
                                } @else {
                                    (subject_label(e))
                                }
                            }
                            td data-action=(action) { (action) }
                            td {
                                ul.changes {
                                    @for (field, was, now) in changed_fields(e) {
                                        li data-field=(field) {
                                            (field) ": "
                                            @if e.before.is_some() {
                                                span data-before { (was) } " → "
                                            }
                                            span data-after { (now) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        nav.pager aria-label="Audit pages" {
            @if !s.first_page {
                a data-page="newest" href=(s.query.link(None)) { "Newest changes" }
            }
            @if let Some(next) = &s.next {
                a rel="next" data-page="older" href=(s.query.link(Some(next))) { "Older changes" }
            }
        }
    }
}

fn render(s: &Shown) -> Markup {
    html! {
        (filters(s))
        @if s.changes.is_empty() {
            p.notice data-no-changes { "No change on this page matches these filters." }
        } @else {
            table.list #audit data-audit {
                caption { "Changes to agents' skills, newest first" }
                thead {
                    tr {
                        @for c in ["When", "Who", "Agent", "Skill", "Action", "Before", "After"] {
                            th scope="col" { (c) }
                        }
                    }
                }
                tbody {
                    @for c in &s.changes {
                        @let e = &c.entry;
                        @let skill = e.after.as_ref().or(e.before.as_ref())
                            .map_or("(deleted skill)", |k| k.skill_name.as_str());
                        tr data-entry-id=(e.id) data-agent-id=(e.agent_id) data-skill-id=(e.skill_id)
                            data-client-id=(e.client_id) {
                            td data-at=(e.at) { (e.at) }
                            td data-who { (c.who) }
                            th scope="row" data-agent {
                                @match &c.agent {
                                    Some(a) => a href=(format!("/console/agents/{}", a.id)) data-agent-link { (a.name) },
                                    None => "(deleted agent)",
                                }
                            }
                            td data-skill { (skill) }
                            td data-action=(e.action.as_str()) { (e.action.as_str()) }
                            td { (assignment(&e.before)) }
                            td { (assignment(&e.after)) }
                        }
                    }
                }
            }
        }
        nav.pager aria-label="Audit pages" {
            @if !s.first_page {
                a data-page="newest" href=(s.query.link(None)) { "Newest changes" }
            }
            @if let Some(next) = &s.next {
                a rel="next" data-page="older" href=(s.query.link(Some(next))) { "Older changes" }
            }
        }
    }
}
