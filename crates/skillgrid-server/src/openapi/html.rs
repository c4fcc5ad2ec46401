//! `/docs`: the OpenAPI document rendered as one self-contained HTML page on the server.
//!
//! Nothing is fetched from anywhere: the styles and the small script (which builds the
//! navigation and the filter box) are inline, and the Content-Security-Policy forbids any
//! other source. Rendering on the server keeps `#problem-<code>` anchors plain fragment links.

use super::{examples, meaning_and_fix};
use crate::vendor_routes::{DOCS_ANCHOR, ROUTES};
use serde_json::{Map, Value};
use skillgrid_api::{EntryCode, ProblemCode};
use std::fmt::Write;

pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

const STYLE: &str = r#"
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2430;display:flex}
nav#toc{position:sticky;top:0;height:100vh;overflow:auto;width:19rem;flex:none;padding:1rem;background:#f3f5f8;border-right:1px solid #dde2ea;box-sizing:border-box}
nav#toc input{width:100%;box-sizing:border-box;padding:.3rem;margin-bottom:.5rem}
nav#toc a{display:block;text-decoration:none;color:#1d2430;font-size:12px;padding:1px 0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
nav#toc a.hidden{display:none}
main{padding:1rem 2rem;max-width:60rem;min-width:0}
code,pre{font:13px/1.4 ui-monospace,monospace}
pre{background:#f3f5f8;padding:.6rem;overflow:auto;border-radius:4px}
.method{display:inline-block;min-width:4.2rem;text-align:center;border-radius:3px;color:#fff;font-size:12px;padding:1px 4px;margin-right:.4rem;text-transform:uppercase}
.get{background:#2f7d32}.put{background:#8a5a00}.post{background:#1a5fb4}.patch{background:#6a3fa0}.delete{background:#b3261e}
section.operation,section.problem,section.schema{border-top:1px solid #dde2ea;padding-top:.5rem;margin-top:1rem}
table{border-collapse:collapse;margin:.4rem 0}th,td{border:1px solid #dde2ea;padding:.2rem .5rem;vertical-align:top;text-align:left}
.status{font-weight:bold}details{margin:.3rem 0}summary{cursor:pointer}
table.foreign-routes{table-layout:fixed;width:100%}table.foreign-routes td{overflow-wrap:anywhere}
table.foreign-routes th:nth-child(1){width:12%}table.foreign-routes th:nth-child(2),table.foreign-routes th:nth-child(3){width:26%}
"#;

const SCRIPT: &str = r#"
(function(){
  var toc=document.getElementById('toc-list');
  var ops=document.querySelectorAll('section.operation');
  ops.forEach(function(s){
    var a=document.createElement('a');
    a.href='#'+s.id;a.className='toc-op';
    a.textContent=s.dataset.method.toUpperCase()+' '+s.dataset.path;
    toc.appendChild(a);
  });
  var probs=document.querySelectorAll('section.problem');
  var h=document.createElement('strong');h.textContent='Errors';toc.appendChild(h);
  probs.forEach(function(s){
    var a=document.createElement('a');a.href='#'+s.id;a.className='toc-problem';
    a.textContent=s.dataset.code;toc.appendChild(a);
  });
  document.getElementById('filter').addEventListener('input',function(e){
    var q=e.target.value.toLowerCase();
    toc.querySelectorAll('a').forEach(function(a){
      a.classList.toggle('hidden',q!==''&&a.textContent.toLowerCase().indexOf(q)<0);
    });
  });
  document.body.dataset.rendered=String(ops.length);
})();
"#;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The little Markdown the descriptions use: paragraphs, `- ` lists, `code`.
fn md(s: &str) -> String {
    let inline = |line: &str| -> String {
        let e = esc(line);
        let mut out = String::new();
        for (i, part) in e.split('`').enumerate() {
            if i % 2 == 1 {
                let _ = write!(out, "<code>{part}</code>");
            } else {
                out.push_str(part);
            }
        }
        out
    };
    let mut out = String::new();
    for para in s.split("\n\n") {
        let lines: Vec<&str> = para.lines().collect();
        if !lines.is_empty() && lines.iter().all(|l| l.starts_with("- ")) {
            out.push_str("<ul>");
            for l in lines {
                let _ = write!(out, "<li>{}</li>", inline(&l[2..]));
            }
            out.push_str("</ul>");
        } else if !para.trim().is_empty() {
            let _ = write!(out, "<p>{}</p>", inline(&lines.join(" ")));
        }
    }
    out
}

fn json_pre(v: &Value) -> String {
    format!(
        "<pre>{}</pre>",
        esc(&serde_json::to_string_pretty(v).unwrap_or_default())
    )
}

/// A schema as a short type expression, with links to named schemas.
fn type_of(s: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{n}\">{n}</a>", n = esc(name));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = s.get(key).and_then(Value::as_array) {
            let sep = if key == "allOf" { " &amp; " } else { " | " };
            return list.iter().map(type_of).collect::<Vec<_>>().join(sep);
        }
    }
    let mut base = match s.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(String::from))
            .collect(),
        _ => vec!["any".into()],
    };
    for t in base.iter_mut() {
        if t == "array" {
            *t = format!(
                "array of {}",
                s.get("items").map(type_of).unwrap_or_else(|| "any".into())
            );
        } else if t == "object" {
            if let Some(ap) = s.get("additionalProperties").filter(|v| v.is_object()) {
                *t = format!("object of {}", type_of(ap));
            }
        } else if let Some(f) = s.get("format").and_then(Value::as_str) {
            *t = format!("{t} ({})", esc(f));
        }
    }
    let mut out = base.join(" | ");
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        let vals: Vec<String> = e
            .iter()
            .map(|v| format!("<code>{}</code>", esc(&v.to_string())))
            .collect();
        out = format!("one of {}", vals.join(", "));
    }
    out
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for m in METHODS {
                if let Some(op) = item.get(m) {
                    out.push((path.clone(), m.to_string(), op));
                }
            }
        }
    }
    out
}

fn render_operation(h: &mut String, path: &str, method: &str, op: &Value) {
    let id = op["operationId"].as_str().unwrap_or_default();
    let _ = write!(
        h,
        "<section class=\"operation\" id=\"op-{id}\" data-method=\"{method}\" data-path=\"{p}\"><h3><span class=\"method {method}\">{method}</span><code>{p}</code></h3><p><strong>{s}</strong></p>{d}",
        id = esc(id),
        p = esc(path),
        s = esc(op["summary"].as_str().unwrap_or_default()),
        d = md(op["description"].as_str().unwrap_or_default()),
    );
    let _ = write!(
        h,
        "<p class=\"example-request\">Example request: <code>{}</code></p>",
        esc(&example_request(path, method, op))
    );
    if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
        h.push_str("<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th>required</th><th>description</th></tr>");
        for p in params {
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(p["name"].as_str().unwrap_or_default()),
                esc(p["in"].as_str().unwrap_or_default()),
                type_of(&p["schema"]),
                if p["required"].as_bool() == Some(true) {
                    "yes"
                } else {
                    "no"
                },
                md(p["description"].as_str().unwrap_or_default()),
            );
        }
        h.push_str("</table>");
    }
    if let Some(content) = op
        .pointer("/requestBody/content")
        .and_then(Value::as_object)
    {
        h.push_str("<h4>Request body</h4>");
        for (ct, media) in content {
            let _ = write!(
                h,
                "<p><code>{}</code>: {}</p>",
                esc(ct),
                type_of(&media["schema"])
            );
            if let Some(exs) = media["examples"].as_object() {
                for (name, e) in exs {
                    let _ = write!(
                        h,
                        "<details class=\"example\"><summary>Example: {}</summary>{}</details>",
                        esc(name),
                        json_pre(&e["value"])
                    );
                }
            }
        }
    }
    h.push_str("<h4>Responses</h4><table><tr><th>status</th><th>meaning</th><th>body</th><th>headers</th></tr>");
    if let Some(responses) = op["responses"].as_object() {
        for (status, r) in responses {
            let body: Vec<String> = r["content"]
                .as_object()
                .map(|c| {
                    c.iter()
                        .map(|(ct, m)| {
                            format!("<code>{}</code> {}", esc(ct), type_of(&m["schema"]))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let headers: Vec<String> = r["headers"]
                .as_object()
                .map(|hs| {
                    hs.keys()
                        .map(|k| format!("<code>{}</code>", esc(k)))
                        .collect()
                })
                .unwrap_or_default();
            let mut meaning = md(r["description"].as_str().unwrap_or_default());
            // Problem codes link to the catalogue.
            for c in ProblemCode::ALL {
                let code = format!("<code>{}</code>", c.as_str());
                if meaning.contains(&code) && c.status().to_string() == *status {
                    meaning = meaning.replace(
                        &code,
                        &format!("<a href=\"#problem-{0}\"><code>{0}</code></a>", c.as_str()),
                    );
                }
            }
            let _ = write!(
                h,
                "<tr><td class=\"status\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(status),
                meaning,
                body.join("<br>"),
                headers.join(" ")
            );
        }
    }
    h.push_str("</table>");
    if let Some(responses) = op["responses"].as_object() {
        for (status, r) in responses {
            if let Some(exs) = r
                .pointer("/content/application~1problem+json/examples")
                .and_then(Value::as_object)
            {
                for (name, e) in exs {
                    let _ = write!(
                        h,
                        "<details class=\"example\"><summary>{} {}: {}</summary>{}</details>",
                        esc(status),
                        esc(name),
                        esc(e["summary"].as_str().unwrap_or_default()),
                        json_pre(&e["value"])
                    );
                }
            }
        }
    }
    h.push_str("</section>");
}

/// The request line (and headers) of a valid request, from the parameters' examples.
fn example_request(path: &str, method: &str, op: &Value) -> String {
    let mut url = path.to_string();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    for p in op["parameters"].as_array().into_iter().flatten() {
        let (Some(name), Some(ex)) = (p["name"].as_str(), p.get("example")) else {
            continue;
        };
        let v = ex
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| ex.to_string());
        match p["in"].as_str() {
            Some("path") => url = url.replace(&format!("{{{name}}}"), &v),
            Some("query") if name != "dryRun" => query.push(format!("{name}={v}")),
            Some("header") => headers.push(format!("{name}: {v}")),
            _ => {}
        }
    }
    if !query.is_empty() {
        url = format!("{url}?{}", query.join("&"));
    }
    let mut line = format!("{} {url}", method.to_uppercase());
    for hd in headers {
        line.push_str(&format!("  ·  {hd}"));
    }
    line
}

fn render_schema(h: &mut String, name: &str, s: &Value) {
    let _ = write!(
        h,
        "<section class=\"schema\" id=\"schema-{n}\"><h3>{n}</h3>{d}",
        n = esc(name),
        d = md(s["description"].as_str().unwrap_or_default())
    );
    let empty = Map::new();
    let props = s["properties"].as_object().unwrap_or(&empty);
    if props.is_empty() {
        let _ = write!(h, "<p>{}</p>", type_of(s));
    } else {
        let required: Vec<&str> = s["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        h.push_str(
            "<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>",
        );
        for (p, ps) in props {
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(p),
                type_of(ps),
                if required.contains(&p.as_str()) {
                    "yes"
                } else {
                    "no"
                },
                md(ps["description"].as_str().unwrap_or_default())
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</section>");
}

/// "Coming from another product": the routes of other products that answer a 404 naming
/// skillgrid's route for the job, from the table those answers are written from.
fn render_foreign_routes(h: &mut String, doc: &Value) {
    let _ = write!(
        h,
        "<h2 id=\"{DOCS_ANCHOR}\">Coming from another product</h2><p>Code written for Genesys Cloud, NICE CXone, Amazon Connect or Salesforce calls their routes. Those listed here answer <code>404</code> <a href=\"#problem-not_found\"><code>not_found</code></a> like any path skillgrid does not have, without needing a token, and the detail names the product, skillgrid's route for the same job (with the caller's id in it when that id is a UUID) and how the body differs.</p>\
<table class=\"foreign-routes\"><tr><th>product</th><th>route</th><th>skillgrid's equivalent</th><th>body differences</th></tr>"
    );
    for r in ROUTES {
        let equivalent: Vec<String> = r
            .equivalent
            .iter()
            .map(|(m, p)| {
                let code = format!("<code>{} {}</code>", esc(m), esc(p));
                match doc["paths"][*p][m.to_lowercase()]["operationId"].as_str() {
                    Some(id) => format!("<a href=\"#op-{}\">{code}</a>", esc(id)),
                    None => code,
                }
            })
            .collect();
        let _ = write!(
            h,
            "<tr class=\"foreign-route\" data-product=\"{product}\" data-method=\"{m}\" data-path=\"{p}\"><td>{product}</td><td><code>{m} {p}</code><br>{job}</td><td>{eq}</td><td>{body}</td></tr>",
            product = esc(r.product.name()),
            m = esc(r.method),
            p = esc(r.path),
            job = esc(r.job),
            eq = equivalent.join("<br>or "),
            body = inline(&r.body()),
        );
    }
    h.push_str("</table>");
}

/// [`md`] of one paragraph, without the paragraph.
fn inline(s: &str) -> String {
    md(s)
        .trim_start_matches("<p>")
        .trim_end_matches("</p>")
        .to_string()
}

fn render_catalogue(h: &mut String, doc: &Value) {
    h.push_str("<h2 id=\"errors\">Error catalogue</h2><p>Every error answer is <code>application/problem+json</code> (RFC 9457) whose <code>type</code> is a link to its entry here, e.g. <code>/docs#problem-validation_failed</code>.</p>");
    let routing = examples::routing_problems();
    for code in ProblemCode::ALL {
        let (meaning, fix) = meaning_and_fix(code);
        let _ = write!(
            h,
            "<section class=\"problem\" id=\"problem-{c}\" data-code=\"{c}\"><h3><code>{c}</code> <span class=\"status\">{s}</span> {t}</h3><p>{m}</p><p><strong>Fix:</strong> {f}</p>",
            c = code.as_str(),
            s = code.status(),
            t = esc(code.title()),
            m = inline(meaning),
            f = inline(fix),
        );
        // One example of it, from the document.
        let example = first_example(doc, code.as_str()).or_else(|| {
            routing
                .iter()
                .find(|e| e.problem.code == code.as_str())
                .map(|e| serde_json::to_value(&e.problem).unwrap_or_default())
        });
        if let Some(v) = example {
            let _ = write!(
                h,
                "<details class=\"example\"><summary>Example</summary>{}</details>",
                json_pre(&v)
            );
        }
        h.push_str("</section>");
    }
    h.push_str("<h3 id=\"entry-codes\">Entry codes</h3><p>Each entry of <code>errors</code> has one of these codes:</p><ul>");
    for (code, what) in ENTRY_CODES {
        let _ = write!(
            h,
            "<li><code>{}</code>: {}</li>",
            code.as_str(),
            inline(what)
        );
    }
    h.push_str("</ul>");
    render_warnings(h);
}

/// The warning codes: what each means, and what a client does about it.
fn render_warnings(h: &mut String) {
    h.push_str("<h2 id=\"warnings\">Warnings</h2><p>A write that succeeds but looks like a mistake answers as usual plus <code>warnings</code>: entries in the same shape as <code>errors</code> (<code>pointer</code>, <code>code</code>, <code>detail</code>, <code>hint</code>). Each bulk result carries its own; a dry run shows them before anything is written. The organization setting <code>warnings</code> decides what such writes get: <code>warn</code> (the default: written, with warnings), <code>reject</code> (each warning becomes an error of a <code>validation_failed</code> answer, and nothing is written) or <code>off</code> (written without a word).</p>");
    for (code, meaning, fix) in WARNING_CODES {
        let _ = write!(
            h,
            "<section class=\"warning\" id=\"warning-{c}\" data-code=\"{c}\"><h3><code>{c}</code></h3><p>{m}</p><p><strong>Fix:</strong> {f}</p></section>",
            c = code.as_str(),
            m = md(meaning).trim_start_matches("<p>").trim_end_matches("</p>"),
            f = md(fix).trim_start_matches("<p>").trim_end_matches("</p>"),
        );
    }
}

const WARNING_CODES: [(EntryCode, &str, &str); 3] = [
    (
        EntryCode::OtherScale,
        "Every proficiency of one agent's set (a request, or a bulk item) lies within 0–5 on a scale that reaches 20 or more. Those are values of another product's scale: Amazon Connect's 1–5, Genesys Cloud's 0–5, a 5-star rating. Stored as sent they are almost nothing here (`5` of 100 is below the lowest level). The warning is at each such `proficiency`, and its hint gives the value here of the same rank (5 of 5 is 100).",
        "Send values on this organization's scale (`GET /api/v2/organizations/settings` shows it), or level names such as `Expert`. If the values were meant, change the organization's scale or its `warnings` setting.",
    ),
    (
        EntryCode::BelowLowestLevel,
        "A number below the lowest named level of the scale (e.g. 10 when `Novice` is 25), in a set that names no level: the assignment is stored with `level: null`. Often a value of another product's scale, such as Salesforce's 0–10.",
        "Send a value at or above the lowest level, or a level name; if low values are meant, add a level for them or set `warnings` to `off`.",
    ),
    (
        EntryCode::EmptiedSet,
        "A replacement with no skills (`PUT …/skills` with `[]` or `{\"skills\": []}`, or a `replace` bulk item with an empty `skills`) removed every skill the agent held; the detail says how many.",
        "If that was meant, nothing to do (`DELETE …/skills/{skillId}` or `PATCH` with `remove` say so explicitly). If not, the removed assignments are in `changes.removed` and the audit trail: send them back with `PUT`. Try writes with `?dryRun=true` first.",
    ),
];

const ENTRY_CODES: [(EntryCode, &str); 22] = [
    (EntryCode::InvalidJson, "the body is not JSON; `line` and `column` say where"),
    (EntryCode::InvalidType, "a value of the wrong JSON type (a number sent as a string is told to drop the quotes)"),
    (EntryCode::MissingField, "a required field is missing; the pointer names the object that lacks it"),
    (EntryCode::UnknownField, "a field or query parameter this route does not take; the hint names the one probably meant"),
    (EntryCode::InvalidFormat, "a string in the wrong format: a UUID, a timestamp, an ETag, a mode"),
    (EntryCode::OutOfRange, "a number outside its range, e.g. a proficiency off the organization's scale"),
    (EntryCode::UnknownLevel, "a proficiency name that is not a level of the organization; the hint names the nearest"),
    (EntryCode::DuplicateSkill, "the same skill twice in one request; the hint names the first"),
    (EntryCode::DuplicateAgent, "the same agent twice in one bulk request"),
    (EntryCode::UnknownSkill, "no such skill in the organization"),
    (EntryCode::InactiveSkill, "the skill is inactive and cannot be assigned"),
    (EntryCode::UnknownAgent, "no such agent in the organization"),
    (EntryCode::InactiveAgent, "the agent is inactive; its skills cannot be changed"),
    (EntryCode::TooManyItems, "more items, assignments or skills per agent than the organization's limits allow"),
    (EntryCode::InvalidDateRange, "`expirationDate` is not later than `effectiveDate`"),
    (EntryCode::NotAllowed, "a field not allowed here, e.g. `remove` in a `replace` bulk request"),
    (EntryCode::PreconditionFailed, "a bulk item's `ifMatch` names another version than the current one, or is a weak ETag (`W/\"N\"`), which never matches"),
    (EntryCode::DuplicateKey, "an object of the body names the same key twice; the pointer is the repeated member, and nothing is written"),
    (EntryCode::Conflict, "a unique value (skill name, agent email) already taken"),
    (EntryCode::OtherScale, "a warning, or an error when the organization rejects them: proficiencies of another product's scale (see Warnings below)"),
    (EntryCode::BelowLowestLevel, "a warning, or an error when the organization rejects them: a number below the lowest level (see Warnings below)"),
    (EntryCode::EmptiedSet, "a warning, or an error when the organization rejects them: a set replaced with nothing (see Warnings below)"),
];

fn first_example(doc: &Value, code: &str) -> Option<Value> {
    for (_, _, op) in operations(doc) {
        for r in op["responses"].as_object()?.values() {
            if let Some(exs) = r
                .pointer("/content/application~1problem+json/examples")
                .and_then(Value::as_object)
            {
                if let Some(e) = exs.values().find(|e| e["value"]["code"] == code) {
                    return Some(e["value"].clone());
                }
            }
        }
    }
    None
}

pub fn render(doc: &Value) -> String {
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    let mut h = String::with_capacity(512 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{t}</title><style>{STYLE}</style></head><body>\
<nav id=\"toc\"><input id=\"filter\" type=\"search\" placeholder=\"Filter\" aria-label=\"Filter the operations\"><div id=\"toc-list\"><a href=\"#{DOCS_ANCHOR}\" class=\"toc-section\">Coming from another product</a></div></nav><main>\
<h1>{t} <small>{v}</small></h1>{d}<p>The machine-readable document: <a href=\"/api/v2/openapi.json\"><code>/api/v2/openapi.json</code></a> (OpenAPI {o}).</p>",
        t = esc(title),
        v = esc(doc["info"]["version"].as_str().unwrap_or_default()),
        d = md(doc["info"]["description"].as_str().unwrap_or_default()),
        o = esc(doc["openapi"].as_str().unwrap_or_default()),
    );
    h.push_str("<h2 id=\"authentication\">Authentication and scopes</h2>");
    if let Some(schemes) = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
    {
        for (name, s) in schemes {
            let _ = write!(
                h,
                "<h3><code>{}</code></h3>{}",
                esc(name),
                md(s["description"].as_str().unwrap_or_default())
            );
            if let Some(scopes) = s
                .pointer("/flows/clientCredentials/scopes")
                .and_then(Value::as_object)
            {
                let _ = write!(h, "<p>Token URL: <code>{}</code></p><table><tr><th>scope</th><th>grants</th></tr>", esc(s.pointer("/flows/clientCredentials/tokenUrl").and_then(Value::as_str).unwrap_or_default()));
                for (sc, d) in scopes {
                    let _ = write!(
                        h,
                        "<tr><td><code>{}</code></td><td>{}</td></tr>",
                        esc(sc),
                        esc(d.as_str().unwrap_or_default())
                    );
                }
                h.push_str("</table>");
            }
        }
    }
    let tags: Vec<(String, String)> = doc["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .map(|t| {
                    (
                        t["name"].as_str().unwrap_or_default().to_string(),
                        t["description"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let ops = operations(doc);
    h.push_str("<h2 id=\"operations\">Operations</h2>");
    for (tag, desc) in &tags {
        let _ = write!(
            h,
            "<h2 id=\"tag-{t}\">{t}</h2>{d}",
            t = esc(tag),
            d = md(desc)
        );
        for (path, method, op) in ops.iter().filter(|(_, _, op)| {
            op["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|x| x == tag.as_str()))
        }) {
            render_operation(&mut h, path, method, op);
        }
    }
    render_foreign_routes(&mut h, doc);
    h.push_str("<h2 id=\"schemas\">Schemas</h2>");
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, s) in schemas {
            render_schema(&mut h, name, s);
        }
    }
    render_catalogue(&mut h, doc);
    let _ = write!(h, "</main><script>{SCRIPT}</script></body></html>");
    h
}
