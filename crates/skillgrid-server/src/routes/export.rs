//! `GET /agents/skills/export`: every assignment of the organization as of one moment, as CSV
//! or NDJSON, in one streamed answer.
//!
//! The store reads one snapshot on a connection of its own and hands its rows over a part at
//! a time (`skillgrid_store::export`); each part is written out here as one chunk of the body
//! as the client takes them, so neither side holds more than a few parts. Two bounds keep a
//! client from holding a snapshot without end: a client that takes nothing for [`STALL`]
//! loses the export (the store stops reading), and no export lasts longer than
//! [`MAX_DURATION`]. An export cut short ends the connection without the body's last chunk,
//! so that a client never mistakes part of an export for all of it.
//!
//! Each export holds a database connection (PostgreSQL) or a blocking thread and a file handle
//! (SQLite) until its reader ends, so the exports running at once are bounded
//! ([`ExportLimits`]): per organization, so that one tenant cannot take every place, and in
//! the process. The place is taken before the snapshot is and given back by the store's
//! reader once its connection is closed; beyond either bound the answer is 429
//! `rate_limited` with `Retry-After`, and nothing is read.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::routes::query;
use crate::slots::Refused;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::BytesMut;
use skillgrid_api::{scopes, ProblemCode, ProficiencyScale};
use skillgrid_core::validate::ExportFormat;
use skillgrid_store::{Export, ExportAgent, ExportOptions, ExportPart, ExportSkill};
use std::time::Duration;
use tokio::time::Instant;

/// How long an export waits for its client to take the next part before it ends, unless
/// [`ExportLimits::stall`] says otherwise.
pub const STALL: Duration = Duration::from_secs(60);

/// Seconds a client refused for too many exports is told to wait.
const RETRY_AFTER: &str = "10";

/// How many exports run at once, and how long one waits for a client that stopped reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportLimits {
    /// Exports one organization runs at once.
    pub per_org: usize,
    /// Exports this process runs at once, every organization's together.
    pub total: usize,
    /// How long an export waits for its client to take the next part ([`STALL`]).
    pub stall: Duration,
}

impl Default for ExportLimits {
    fn default() -> Self {
        ExportLimits {
            per_org: 2,
            total: 8,
            stall: STALL,
        }
    }
}
/// The longest an export may run.
pub const MAX_DURATION: Duration = Duration::from_secs(60 * 60);

/// The CSV answer's header row.
pub const CSV_HEADER: &str =
    "agentId,agentEmail,skillId,skillName,proficiency,level,effectiveDate,expirationDate\n";

pub fn router() -> Router<AppState> {
    Router::new().route("/agents/skills/export", get(export))
}

/// Export every assignment
///
/// Every assignment of the organization in one answer, as of one moment: a write that commits
/// while the export runs is in it entirely or not at all. One row per assignment, by agent
/// e-mail, then skill name (both case-insensitively); an agent without assignments has no
/// row. `Skillgrid-Event-Sequence` is the sequence number of the organization's last event
/// the export includes: `GET /events?after=` that number gives every change made since.
///
/// The answer is streamed: a client that takes nothing for 60 seconds, or an export that runs
/// for more than an hour, is cut short, and the connection then ends without the body's last
/// chunk (an incomplete body, never a shorter export that looks whole). The `level` column
/// names levels by the scale of the same moment as the rows.
///
/// Each export holds a database connection while it runs: an organization runs at most 2 at
/// once and a server at most 8 (operators may change both); beyond either, 429 `rate_limited`
/// with `Retry-After`.
#[utoipa::path(get, path = "/api/v2/agents/skills/export", tag = "bulk", operation_id = "exportAgentSkills",
    security(("oauth2" = ["admin:agent:read"])),
    params(
        ("format" = Option<String>, Query, description = "`csv` or `ndjson`; without it the `Accept` header chooses (`application/x-ndjson` for NDJSON), else CSV"),
        ("active" = Option<bool>, Query, description = "`true`: only active agents' assignments of active skills; `false`: only the others (an inactive agent or skill); absent: every assignment"),
        ("Accept" = Option<String>, Header, description = "`text/csv` or `application/x-ndjson`, when `format` is not given")),
    responses((status = 200,
        description = "CSV with a header row (`agentId,agentEmail,skillId,skillName,proficiency,level,effectiveDate,expirationDate`, dates empty when absent), or NDJSON: one object a line with the same fields (`null` when absent)",
        content((String = "text/csv"), (String = "application/x-ndjson")),
        headers(
            ("Skillgrid-Event-Sequence" = i64, description = "the organization's last event included (0: none); follow with `GET /api/v2/events?after=` it"),
            ("Skillgrid-Snapshot-At" = String, description = "when the export's snapshot was taken (RFC 3339)")))))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    caller.require(scopes::AGENT_READ)?;
    let q = query(q, &["format", "active"])?;
    let format = q.format.unwrap_or_else(|| accepted(&headers));
    let slot = state.exports().take(caller.org_id).map_err(too_many)?;
    let export = state
        .store()
        .export(
            caller.org_id,
            ExportOptions {
                active: q.active,
                stall: state.export_stall(),
                hold: Some(Box::new(slot)),
            },
        )
        .await?;
    let content_type = match format {
        ExportFormat::Csv => "text/csv; charset=utf-8",
        ExportFormat::Ndjson => "application/x-ndjson",
    };
    let head = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            header::HeaderName::from_static("skillgrid-event-sequence"),
            HeaderValue::from(export.event_sequence),
        ),
        (
            header::HeaderName::from_static("skillgrid-snapshot-at"),
            HeaderValue::try_from(export.taken_at.to_rfc3339()).map_err(ApiError::internal)?,
        ),
    ];
    let writer = Rows::new(format, &export.scale, &export.skills);
    Ok((head, Body::from_stream(body(export, writer))).into_response())
}

/// 429 for an export beyond the limits: nothing was read.
pub(crate) fn too_many(r: Refused) -> ApiError {
    let detail = match r {
        Refused::Owner(n) => format!(
            "this organization already runs {n} exports at once; retry when one of them ends"
        ),
        Refused::Process(n) => {
            format!("this server already runs {n} exports at once; retry when one of them ends")
        }
    };
    ApiError::new(ProblemCode::RateLimited, detail).with_header(header::RETRY_AFTER, RETRY_AFTER)
}

/// The format an `Accept` header asks for: NDJSON when it names it, else CSV.
fn accepted(headers: &HeaderMap) -> ExportFormat {
    let ndjson = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| {
            let m = m.split(';').next().unwrap_or("").trim();
            m.eq_ignore_ascii_case("application/x-ndjson")
        });
    if ndjson {
        ExportFormat::Ndjson
    } else {
        ExportFormat::Csv
    }
}

/// An export cut short: the body ends with an error, and hyper ends the connection.
fn cut_short(why: &str) -> std::io::Error {
    tracing::warn!(reason = why, "export cut short");
    std::io::Error::other(format!("the export was cut short: {why}"))
}

/// The body: the CSV header (if any), then a chunk per part, until the store says it is done.
fn body(
    export: Export,
    writer: Rows,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let deadline = Instant::now() + MAX_DURATION;
    let first = match writer.format {
        ExportFormat::Csv => CSV_HEADER.as_bytes().to_vec(),
        ExportFormat::Ndjson => Vec::new(),
    };
    // Each chunk is split off one buffer, which takes its memory back once the chunks sent
    // before it are dropped: a buffer of its own for each chunk had every page of it faulted
    // in anew (a third of the server's time in an export, by a profile).
    let start = Some((export.parts, writer, BytesMut::from(&first[..]), 0));
    // The state is gone once the body ends, well or not: nothing more is polled.
    futures::stream::unfold(start, move |state| async move {
        let (mut parts, writer, mut head, last) = state?;
        match tokio::time::timeout_at(deadline, parts.recv()).await {
            Err(_) => Some((Err(cut_short("it ran longer than its limit")), None)),
            Ok(None) => Some((Err(cut_short("the client took nothing for too long")), None)),
            Ok(Some(Err(e))) => {
                tracing::error!(error = %e, "export failed");
                Some((Err(cut_short("the database failed")), None))
            }
            // An empty export still has its header row.
            Ok(Some(Ok(ExportPart::End))) => (!head.is_empty()).then(|| (Ok(head.freeze()), None)),
            Ok(Some(Ok(ExportPart::Agents(agents)))) => {
                // Room for a chunk as long as the last one, and an eighth more.
                head.reserve(last + last / 8);
                writer.write(&mut head, &agents);
                let chunk = head.split().freeze();
                let last = chunk.len();
                Some((Ok(chunk), Some((parts, writer, head, last))))
            }
        }
    })
}

/// Writes agents' rows: what repeats (an agent's columns, a skill's) is written out once.
struct Rows {
    format: ExportFormat,
    /// Per skill of the export: its columns up to the proficiency, as this format writes them.
    skills: Vec<Vec<u8>>,
    /// Per proficiency of the scale: what follows it up to the dates (its level).
    levels: Vec<Vec<u8>>,
    min: i64,
}

impl Rows {
    fn new(format: ExportFormat, scale: &ProficiencyScale, skills: &[ExportSkill]) -> Self {
        let skills = skills
            .iter()
            .map(|s| {
                let mut out = vec![b','];
                pair(
                    &mut out,
                    format,
                    ["skillId", "skillName"],
                    s.id.get(),
                    &s.name,
                );
                out.extend_from_slice(match format {
                    ExportFormat::Csv => b",",
                    ExportFormat::Ndjson => b",\"proficiency\":" as &[u8],
                });
                out
            })
            .collect();
        let levels = (scale.min..=scale.max)
            .map(|p| level_columns(format, scale.level_of(p)))
            .collect();
        Rows {
            format,
            skills,
            levels,
            min: scale.min,
        }
    }

    fn write(&self, out: &mut BytesMut, agents: &[ExportAgent]) {
        let mut agent = Vec::new();
        for a in agents {
            agent.clear();
            if self.format == ExportFormat::Ndjson {
                agent.push(b'{');
            }
            pair(
                &mut agent,
                self.format,
                ["agentId", "agentEmail"],
                a.id.get(),
                &a.email,
            );
            for h in &a.held {
                out.extend_from_slice(&agent);
                out.extend_from_slice(&self.skills[h.skill as usize]);
                out.extend_from_slice(itoa::Buffer::new().format(h.proficiency).as_bytes());
                let level = usize::try_from(h.proficiency - self.min)
                    .ok()
                    .and_then(|i| self.levels.get(i));
                match level {
                    Some(l) => out.extend_from_slice(l),
                    // Outside the scale (it changed since): the level is worked out here.
                    None => out.extend_from_slice(&level_columns(self.format, None)),
                }
                self.date(out, h.effective);
                out.extend_from_slice(match self.format {
                    ExportFormat::Csv => b",",
                    ExportFormat::Ndjson => b",\"expirationDate\":" as &[u8],
                });
                self.date(out, h.expires);
                out.extend_from_slice(match self.format {
                    ExportFormat::Csv => b"\n",
                    ExportFormat::Ndjson => b"}\n" as &[u8],
                });
            }
        }
    }

    fn date(&self, out: &mut BytesMut, t: Option<skillgrid_core::timestamp::Timestamp>) {
        let mut buf = [0; skillgrid_core::timestamp::RFC3339_LEN];
        let other;
        let text = match t {
            None => None,
            Some(t) => match t.format_rfc3339(&mut buf) {
                Some(s) => Some(s),
                None => {
                    other = t.to_rfc3339();
                    Some(other.as_str())
                }
            },
        };
        match (self.format, text) {
            (ExportFormat::Csv, Some(s)) => out.extend_from_slice(s.as_bytes()),
            (ExportFormat::Csv, None) => {}
            (ExportFormat::Ndjson, Some(s)) => {
                out.extend_from_slice(b"\"");
                out.extend_from_slice(s.as_bytes());
                out.extend_from_slice(b"\"");
            }
            (ExportFormat::Ndjson, None) => out.extend_from_slice(b"null"),
        }
    }
}

/// What follows a proficiency up to the effective date: its level, as `format` writes it.
fn level_columns(format: ExportFormat, level: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        ExportFormat::Csv => {
            out.push(b',');
            if let Some(l) = level {
                csv_field(&mut out, l);
            }
            out.push(b',');
        }
        ExportFormat::Ndjson => {
            out.extend_from_slice(b",\"level\":");
            match level {
                Some(l) => json_string(&mut out, l),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"effectiveDate\":");
        }
    }
    out
}

/// An id and the name beside it: `id,name` in CSV, `"idKey":"id","nameKey":"name"` in NDJSON.
fn pair(out: &mut Vec<u8>, format: ExportFormat, keys: [&str; 2], id: uuid::Uuid, name: &str) {
    let mut buf = uuid::Uuid::encode_buffer();
    let id: &str = id.hyphenated().encode_lower(&mut buf);
    match format {
        ExportFormat::Csv => {
            out.extend_from_slice(id.as_bytes());
            out.push(b',');
            csv_field(out, name);
        }
        ExportFormat::Ndjson => {
            json_string(out, keys[0]);
            out.push(b':');
            json_string(out, id);
            out.push(b',');
            json_string(out, keys[1]);
            out.push(b':');
            json_string(out, name);
        }
    }
}

/// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
fn csv_field(out: &mut Vec<u8>, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push(b'"');
        out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

fn json_string(out: &mut Vec<u8>, s: &str) {
    // Writing a string into a vector cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        for (raw, want) in [
            ("plain", "plain"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
        ] {
            let mut out = Vec::new();
            csv_field(&mut out, raw);
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }

    #[test]
    fn accept_chooses_ndjson_only_when_it_names_it() {
        for (accept, want) in [
            ("application/x-ndjson", ExportFormat::Ndjson),
            ("text/csv;q=0.5, Application/X-NDJSON", ExportFormat::Ndjson),
            ("text/csv", ExportFormat::Csv),
            ("*/*", ExportFormat::Csv),
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, HeaderValue::from_static(accept));
            assert_eq!(accepted(&h), want, "{accept}");
        }
        assert_eq!(accepted(&HeaderMap::new()), ExportFormat::Csv);
    }
}
