//! `/console/import`: a CSV in the shape `skillgrid apply` reads, shown as a plan and applied
//! all or nothing.
//!
//! The page (`page`) holds a file input; its script (`import.js`) posts the file's bytes to
//! `POST /console/import/plan` and, once the plan has no mistake, the same bytes to
//! `POST /console/import/apply`. Both are called with the session cookie and its anti-forgery
//! header, as the API is, and need the scope to change assignments (a viewer is refused).
//!
//! Both routes compute the plan the same way, from the file alone: the CSV is read by
//! `skillgrid_core::csv_import` (the CLI's reader: columns, lines, the mistakes of a row,
//! agents by id or email and skills by id or name), each agent's rows become one item of a
//! merge-mode, atomic bulk body, and that body goes through the bulk route's own validation
//! and write (`routes::bulk::write_read_body`), as a dry run for the plan and for real at
//! apply; the answer's errors are mapped back to the file's lines by `csv_import::locate`.
//! Apply computes the plan again and writes nothing while it has a mistake, so nothing
//! unchecked is written.

use super::layout::{frame, refused, respond};
use super::navbar::bar;
use super::{csrf, sessions};
use crate::auth::Caller;
use crate::body;
use crate::error::ApiError;
use crate::routes::bulk::write_read_body;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde_json::{json, Map, Value};
use skillgrid_api::{scopes, AssignmentOut, BulkResponse, ProblemCode};
use skillgrid_core::csv_import::{
    check_row, locate, proficiency_syntax, resolve, CsvRows, Diag, ItemLines, HEADER,
};
use skillgrid_core::model::{AgentId, SkillId};
use skillgrid_store::{AgentFilter, PageRequest, StoreError};
use std::collections::HashMap;
use uuid::Uuid;

/// The largest file the import reads (1 MiB, some 15,000 rows).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Agents read a page at a time to resolve the file's emails.
const AGENT_PAGE: u32 = 1000;

pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let s = match sessions::for_page(&state, &headers, false).await? {
        Ok(s) => s,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    let user = &s.record.user;
    if !user.role.scopes().contains(&scopes::AGENT_WRITE) {
        return Ok(refused(
            StatusCode::FORBIDDEN,
            "Import",
            &format!(
                "Your role ({}) may not change assignments, so it may not import them; an editor or an admin can.",
                user.role.as_str()
            ),
        ));
    }
    let org = state
        .store()
        .find_org(&user.org_id.to_string())
        .await?
        .ok_or(StoreError::NotFound)?;
    let body = html! {
        p { a href="/console" { "Back to the grid" } }
        p {
            "A CSV file with a header row naming its columns: "
            code { (HEADER.join(",")) }
            " (" code { "agent" } " and " code { "skill" } " are required; an agent by id or e-mail, a skill by id or name, a proficiency as a number or a level name, dates in RFC 3339). "
            "Each agent's rows are merged into their skills. Nothing is written until you apply, and then all of it or nothing."
        }
        form data-import-form {
            input type="hidden" name=(csrf::FIELD) value=(s.record.csrf_token);
            p {
                label for="import-file" { "CSV file (at most 1 MiB)" }
                " "
                input #import-file type="file" name="file" accept=".csv,text/csv" data-import-file;
            }
            p {
                button type="button" data-import-apply disabled { "Apply" }
            }
        }
        div data-import-result aria-live="polite" {}
        script src="/console/assets/import.js" defer {}
    };
    Ok(respond(
        StatusCode::OK,
        frame("Import", Some(bar(&s, &org.name)), body),
    ))
}

/// `POST /console/import/plan`: the plan of the file in the body, changing nothing.
pub async fn plan(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require(scopes::AGENT_WRITE)?;
    let bytes = read_file(&headers, body).await?;
    let plan = Plan::of(&state, &caller, &bytes).await?;
    let (answer, mistakes) = plan.check(&state, &caller, true).await?;
    Ok(fragment(
        StatusCode::OK,
        render(&plan, mistakes, answer.as_ref(), false),
    ))
}

/// `POST /console/import/apply`: the file in the body written all or nothing; refused (422,
/// with the plan) while the plan has a mistake.
pub async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require(scopes::AGENT_WRITE)?;
    let bytes = read_file(&headers, body).await?;
    let plan = Plan::of(&state, &caller, &bytes).await?;
    if !plan.mistakes.is_empty() || plan.body.is_none() {
        let (answer, mistakes) = plan.check(&state, &caller, true).await?;
        return Ok(fragment(
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&plan, mistakes, answer.as_ref(), false),
        ));
    }
    let (answer, mistakes) = plan.check(&state, &caller, false).await?;
    let status = if mistakes.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(fragment(
        status,
        render(&plan, mistakes, answer.as_ref(), true),
    ))
}

/// The body, at most [`MAX_FILE_BYTES`].
async fn read_file(headers: &HeaderMap, body: Body) -> Result<Vec<u8>, ApiError> {
    match body::read_bytes(headers, body, MAX_FILE_BYTES).await {
        Ok(b) => Ok(b.to_vec()),
        Err(e) if e.is(ProblemCode::PayloadTooLarge) => Err(ApiError::new(
            ProblemCode::PayloadTooLarge,
            format!(
                "the file is larger than the import's limit of {MAX_FILE_BYTES} bytes (1 MiB); split it into smaller files and import each"
            ),
        )),
        Err(e) => Err(e),
    }
}

/// A mistake of the file, against its line and column.
struct Mistake {
    line: u64,
    column: String,
    code: String,
    message: String,
    hint: Option<String>,
}

impl Mistake {
    fn of(d: Diag, code: &str) -> Self {
        Mistake {
            line: d.line,
            column: d.column,
            code: code.to_string(),
            message: d.message,
            hint: None,
        }
    }
}

/// One agent's rows: a bulk item.
struct Item {
    agent: AgentId,
    email: String,
    lines: ItemLines,
    skills: Vec<Value>,
}

/// What the file asks for, before the API's checks.
struct Plan {
    /// Data rows read.
    rows: u64,
    mistakes: Vec<Mistake>,
    items: Vec<Item>,
    /// The bulk body of the rows without a mistake; `None` when there is none.
    body: Option<Vec<u8>>,
}

impl Plan {
    async fn of(state: &AppState, caller: &Caller, bytes: &[u8]) -> Result<Plan, ApiError> {
        let mut plan = Plan {
            rows: 0,
            mistakes: Vec::new(),
            items: Vec::new(),
            body: None,
        };
        if let Err(e) = std::str::from_utf8(bytes) {
            let at = e.valid_up_to();
            let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            plan.mistakes.push(Mistake {
                line,
                column: "-".into(),
                code: "not_utf8".into(),
                message: format!(
                    "the file is not UTF-8 text: byte {} (0x{:02X}) cannot start or continue a character",
                    at + 1,
                    bytes[at]
                ),
                hint: Some("save the file as UTF-8 (CSV UTF-8) and import it again".into()),
            });
            return Ok(plan);
        }
        let mut rows = match CsvRows::new(bytes) {
            Ok(r) => r,
            Err(d) => {
                plan.mistakes.push(Mistake::of(d, "invalid_header"));
                return Ok(plan);
            }
        };
        let org = caller.org(state).await?;
        let mut skill_by_id: HashMap<Uuid, SkillId> = HashMap::new();
        let mut skill_by_name: HashMap<String, SkillId> = HashMap::new();
        for s in &org.catalog {
            skill_by_id.insert(s.id.into(), s.id);
            skill_by_name.insert(s.name.to_lowercase(), s.id);
        }
        let agents = Agents::load(state, caller).await?;
        let mut by_agent: HashMap<AgentId, usize> = HashMap::new();
        loop {
            let row = match rows.next_row() {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(d) => {
                    plan.mistakes.push(Mistake::of(d, "unreadable_csv"));
                    break;
                }
            };
            plan.rows += 1;
            let found = check_row(&row);
            let clean = found.is_empty();
            plan.mistakes
                .extend(found.into_iter().map(|d| Mistake::of(d, "invalid_value")));
            let agent = resolve(
                &row.agent,
                &agents.by_id,
                &agents.by_email,
                "an agent",
                "email",
            );
            let skill = resolve(&row.skill, &skill_by_id, &skill_by_name, "a skill", "name");
            // An empty value is reported by `check_row` already.
            if let (Err(m), false) = (&agent, row.agent.is_empty()) {
                plan.mistakes
                    .push(Mistake::of(row.diag("agent", m.clone()), "unknown_agent"));
            }
            if let (Err(m), false) = (&skill, row.skill.is_empty()) {
                plan.mistakes
                    .push(Mistake::of(row.diag("skill", m.clone()), "unknown_skill"));
            }
            let (Ok(agent), Ok(skill), true) = (agent, skill, clean) else {
                continue;
            };
            let mut entry = Map::new();
            entry.insert("skillId".into(), Value::String(skill.to_string()));
            if let Ok(Some(p)) = proficiency_syntax(&row.proficiency) {
                entry.insert("proficiency".into(), p);
            }
            for (k, v) in [
                ("effectiveDate", &row.effective_date),
                ("expirationDate", &row.expiration_date),
            ] {
                if !v.is_empty() {
                    entry.insert(k.into(), Value::String(v.clone()));
                }
            }
            let i = *by_agent.entry(agent).or_insert_with(|| {
                plan.items.push(Item {
                    agent,
                    email: agents.email.get(&agent).cloned().unwrap_or_default(),
                    lines: ItemLines::new(row.line),
                    skills: Vec::new(),
                });
                plan.items.len() - 1
            });
            plan.items[i].lines.skills.push(row.line);
            plan.items[i].skills.push(Value::Object(entry));
        }
        if plan.rows == 0 && plan.mistakes.is_empty() {
            plan.mistakes.push(Mistake {
                line: 1,
                column: "-".into(),
                code: "no_rows".into(),
                message: "the file has a header row but no assignments".into(),
                hint: None,
            });
        }
        if !plan.items.is_empty() {
            let items: Vec<Value> = plan
                .items
                .iter()
                .map(|i| json!({"agentId": i.agent.to_string(), "skills": i.skills}))
                .collect();
            let body = json!({"mode": "merge", "atomic": true, "items": items});
            plan.body = Some(serde_json::to_vec(&body).map_err(ApiError::internal)?);
        }
        Ok(plan)
    }

    /// The bulk route's answer to the plan's body (a dry run, or the write), or its mistakes
    /// at the lines of the file.
    async fn check(
        &self,
        state: &AppState,
        caller: &Caller,
        dry_run: bool,
    ) -> Result<(Option<BulkResponse>, Vec<Mistake>), ApiError> {
        let Some(body) = &self.body else {
            return Ok((None, Vec::new()));
        };
        match write_read_body(state, caller, body, dry_run).await {
            Ok(answer) => Ok((Some(answer), Vec::new())),
            Err(ApiError::Problem { problem, .. })
                if problem.code == ProblemCode::ValidationFailed.as_str() =>
            {
                let first = self.items.first().map_or(1, |i| i.lines.first_line);
                let mistakes = problem
                    .errors
                    .into_iter()
                    .map(|e| {
                        let pointer = e.pointer.clone().unwrap_or_default();
                        let at = locate(&pointer, None, |i| self.items.get(i).map(|i| &i.lines));
                        let (line, column, message) = match at {
                            Some((line, column)) => (line, column.to_string(), e.detail),
                            None => (first, "-".to_string(), format!("{pointer}: {}", e.detail)),
                        };
                        Mistake {
                            line,
                            column,
                            code: e.code.as_str().to_string(),
                            message,
                            hint: e.hint,
                        }
                    })
                    .collect();
                Ok((None, mistakes))
            }
            Err(e) => Err(e),
        }
    }
}

/// The organization's agents by id and by e-mail (lowercase), and their e-mails.
struct Agents {
    by_id: HashMap<Uuid, AgentId>,
    by_email: HashMap<String, AgentId>,
    email: HashMap<AgentId, String>,
}

impl Agents {
    async fn load(state: &AppState, caller: &Caller) -> Result<Agents, ApiError> {
        let mut a = Agents {
            by_id: HashMap::new(),
            by_email: HashMap::new(),
            email: HashMap::new(),
        };
        let mut after = None;
        loop {
            let page = state
                .store()
                .list_agents(
                    caller.org_id,
                    &AgentFilter::default(),
                    PageRequest {
                        after,
                        limit: AGENT_PAGE,
                    },
                )
                .await?;
            for r in page.items {
                a.by_id.insert(r.id.into(), r.id);
                a.by_email.insert(r.email.to_lowercase(), r.id);
                a.email.insert(r.id, r.email);
            }
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(a),
            }
        }
    }
}

/// A piece of a page, for the script to place.
fn fragment(status: StatusCode, markup: Markup) -> Response {
    let mut res = (status, markup).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

/// An assignment's value as shown: proficiency, level and dates when set.
fn value(a: &AssignmentOut) -> Markup {
    html! {
        (a.proficiency)
        @if let Some(level) = &a.level { " (" (level) ")" }
        @if let Some(d) = &a.effective_date { ", from " (d) }
        @if let Some(d) = &a.expiration_date { ", until " (d) }
    }
}

fn render(
    plan: &Plan,
    mut later: Vec<Mistake>,
    answer: Option<&BulkResponse>,
    applying: bool,
) -> Markup {
    let mut mistakes: Vec<&Mistake> = plan.mistakes.iter().collect();
    later.sort_by_key(|m| m.line);
    mistakes.extend(later.iter());
    mistakes.sort_by_key(|m| m.line);
    let ok = mistakes.is_empty() && answer.is_some();
    let applied = ok && applying && answer.is_some_and(|a| !a.dry_run);
    let email: HashMap<Uuid, &str> = plan
        .items
        .iter()
        .map(|i| (i.agent.into(), i.email.as_str()))
        .collect();
    html! {
        section data-plan data-ok=(ok) data-applied=(applied) data-mistake-count=(mistakes.len()) aria-labelledby="plan-heading" {
            h2 #plan-heading { @if applied { "Applied" } @else { "Plan" } }
            @if let Some(a) = answer {
                @let s = &a.summary;
                p role="status" data-summary data-rows=(plan.rows) data-agents=(s.items) data-added=(s.added) data-updated=(s.updated) data-unchanged=(s.unchanged) {
                    (plan.rows) " rows for " (s.items) " agents: "
                    (s.added) " to add, " (s.updated) " to update, " (s.unchanged) " unchanged"
                    @if applied { ". Written." } @else { ". Nothing is written yet." }
                }
            } @else {
                p role="alert" data-summary data-rows=(plan.rows) {
                    (plan.rows) " rows, " (mistakes.len()) " mistakes. Nothing was written; correct the file and choose it again."
                }
            }
            @if !mistakes.is_empty() {
                table data-mistakes {
                    caption { "Mistakes, by line of the file" }
                    thead { tr { th scope="col" { "Line" } th scope="col" { "Column" } th scope="col" { "Mistake" } } }
                    tbody {
                        @for m in &mistakes {
                            tr data-line=(m.line) data-column=(m.column) data-error-code=(m.code) {
                                th scope="row" { (m.line) }
                                td { (m.column) }
                                td {
                                    (m.message)
                                    @if let Some(h) = &m.hint { " " span data-hint { "(" (h) ")" } }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(a) = answer {
                @if a.results.iter().any(|r| r.changes.as_ref().is_some_and(|c| !c.is_empty())) {
                    table data-changes {
                        caption { "Changes per agent" }
                        thead { tr { th scope="col" { "Agent" } th scope="col" { "Skill" } th scope="col" { "Before" } th scope="col" { "After" } } }
                        tbody {
                            @for r in &a.results {
                                @let who = r.agent_id.and_then(|id| email.get(&id).copied()).unwrap_or("");
                                @if let Some(c) = &r.changes {
                                    @for x in &c.added {
                                        tr data-agent=(who) data-skill=(x.skill_name) data-change="added" {
                                            th scope="row" { (who) } td { (x.skill_name) } td { "(none)" } td { (value(x)) }
                                        }
                                    }
                                    @for x in &c.updated {
                                        tr data-agent=(who) data-skill=(x.after.skill_name) data-change="updated" {
                                            th scope="row" { (who) } td { (x.after.skill_name) } td { (value(&x.before)) } td { (value(&x.after)) }
                                        }
                                    }
                                    @for x in &c.removed {
                                        tr data-agent=(who) data-skill=(x.skill_name) data-change="removed" {
                                            th scope="row" { (who) } td { (x.skill_name) } td { (value(x)) } td { "(none)" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                } @else {
                    p data-no-changes { "The file changes nothing: every agent already holds these skills." }
                }
            }
        }
    }
}
