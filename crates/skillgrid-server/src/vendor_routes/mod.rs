//! Other products' routes, recognised so that their 404 names skillgrid's route for the job.
//!
//! Integrators arrive with code written against Genesys Cloud, NICE CXone, Amazon Connect or
//! Salesforce. When such a request reaches the router's fallback, [`recognise`] matches its
//! method and path against [`ROUTES`] and writes a detail naming the product, what the route
//! does there, skillgrid's route for the same job (with the caller's id in it when that id is a
//! UUID) and how the body differs. The answer stays the fallback's 404 `not_found`, before any
//! authentication like every unmatched path; only its detail says more. `/docs` lists the same
//! table in its section "Coming from another product".
//!
//! Matching looks at path segments only: a literal segment matches itself (ignoring ASCII case
//! for the products whose servers do), `{name}` matches any one non-empty segment, and `v{N}`
//! matches an API version such as `v30.0`. Empty segments are skipped, so `//` and a trailing
//! `/` change nothing. When several patterns match, the one with the most literal segments
//! wins, so `…/routingskills/bulk` is not taken for `…/routingskills/{skillId}`.

mod table;

use axum::http::Method;
use skillgrid_api::OrgSettings;
pub use table::ROUTES;
use uuid::Uuid;

/// The anchor of the table on `/docs`.
pub const DOCS_ANCHOR: &str = "coming-from-another-product";

/// A product whose routes skillgrid recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    GenesysCloud,
    NiceCxone,
    AmazonConnect,
    Salesforce,
}

impl Product {
    pub const ALL: [Product; 4] = [
        Self::GenesysCloud,
        Self::NiceCxone,
        Self::AmazonConnect,
        Self::Salesforce,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::GenesysCloud => "Genesys Cloud",
            Self::NiceCxone => "NICE CXone",
            Self::AmazonConnect => "Amazon Connect",
            Self::Salesforce => "Salesforce",
        }
    }

    /// Whether the product's servers take its paths in any letter case.
    fn any_case(self) -> bool {
        matches!(self, Self::NiceCxone | Self::Salesforce)
    }
}

/// One method and path of another product.
#[derive(Debug)]
pub struct ForeignRoute {
    pub product: Product,
    pub method: &'static str,
    /// Segments with `{name}` placeholders; `v{N}` is an API version.
    pub path: &'static str,
    /// What it does, to follow "is Genesys Cloud's route to".
    pub job: &'static str,
    /// skillgrid's routes for the same job, as (method, path) of the OpenAPI document.
    pub equivalent: &'static [(&'static str, &'static str)],
    /// How the body (or the answer, for reads) differs; `{scale}` is the proficiency scale.
    pub body: &'static str,
}

impl ForeignRoute {
    /// The body difference with the proficiency scale spelt out.
    pub fn body(&self) -> String {
        self.body.replace("{scale}", &scale())
    }
}

/// "this organization's scale (0–100 by default; level names such as `Expert` work)".
fn scale() -> String {
    let s = OrgSettings::default().proficiency_scale;
    let level = s
        .levels
        .iter()
        .last()
        .map(|(name, _)| format!("; level names such as `{name}` work"))
        .unwrap_or_default();
    format!(
        "this organization's scale ({}–{} by default{level})",
        s.min, s.max
    )
}

/// No pattern has more segments than this; longer paths are not looked at.
const MAX_SEGMENTS: usize = 8;

/// The values of a match's placeholders, by name.
type Captures<'a> = Vec<(&'static str, &'a str)>;

/// Whether `pattern` matches `segment`, capturing its placeholder if it has one.
fn segment<'a>(
    pattern: &'static str,
    segment: &'a str,
    any_case: bool,
    captures: &mut Captures<'a>,
) -> bool {
    let Some((prefix, rest)) = pattern.split_once('{') else {
        return if any_case {
            pattern.eq_ignore_ascii_case(segment)
        } else {
            pattern == segment
        };
    };
    let name = rest.trim_end_matches('}');
    let (Some(head), Some(value)) = (segment.get(..prefix.len()), segment.get(prefix.len()..))
    else {
        return false;
    };
    let prefixed = if any_case {
        head.eq_ignore_ascii_case(prefix)
    } else {
        head == prefix
    };
    if !prefixed || value.is_empty() || (name == "N" && !is_version(value)) {
        return false;
    }
    captures.push((name, value));
    true
}

/// `30`, `30.0`, `60.0`: digits separated by single dots.
fn is_version(v: &str) -> bool {
    v.split('.')
        .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// The route's captures and its number of literal segments, if it matches `segments`.
fn matches<'a>(route: &ForeignRoute, segments: &[&'a str]) -> Option<(Captures<'a>, usize)> {
    let pattern: Vec<&'static str> = route.path.split('/').filter(|s| !s.is_empty()).collect();
    if pattern.len() != segments.len() {
        return None;
    }
    let mut captures = Vec::new();
    let any_case = route.product.any_case();
    for (p, s) in pattern.iter().zip(segments) {
        if !segment(p, s, any_case, &mut captures) {
            return None;
        }
    }
    let literals = pattern.iter().filter(|p| !p.contains('{')).count();
    Some((captures, literals))
}

/// Two placeholder names for the same id: equal but for case, or CXone's agent id, which
/// CXone also takes as a user id.
fn same_id(foreign: &str, ours: &str) -> bool {
    foreign.eq_ignore_ascii_case(ours) || (foreign == "agentId" && ours == "userId")
}

/// `path` with each placeholder whose caller's value is a UUID replaced by that UUID.
fn with_ids(path: &str, captures: &Captures) -> String {
    let mut out = path.to_string();
    for ours in placeholders(path) {
        let id = captures
            .iter()
            .filter(|(name, _)| same_id(name, ours))
            .find_map(|(_, v)| Uuid::try_parse(v).ok());
        if let Some(id) = id {
            out = out.replace(&format!("{{{ours}}}"), &id.to_string());
        }
    }
    out
}

/// The `{name}` placeholders of a path.
fn placeholders(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

fn routes_of(equivalent: &[(&str, &str)], captures: &Captures) -> String {
    equivalent
        .iter()
        .map(|(m, p)| format!("`{m} {}`", with_ids(p, captures)))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// The detail of a 404 for `method` and `path` when they are another product's route (or its
/// path with another method), naming skillgrid's route for the job; `None` otherwise.
pub fn recognise(method: &Method, path: &str) -> Option<String> {
    let segments: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .take(MAX_SEGMENTS + 1)
        .collect();
    if segments.len() > MAX_SEGMENTS {
        return None;
    }
    let found: Vec<(&ForeignRoute, Captures, usize)> = ROUTES
        .iter()
        .filter_map(|r| matches(r, &segments).map(|(c, n)| (r, c, n)))
        .collect();
    let best = found.iter().map(|(_, _, n)| *n).max()?;
    let found: Vec<(&ForeignRoute, Captures)> = found
        .into_iter()
        .filter(|(_, _, n)| *n == best)
        .map(|(r, c, _)| (r, c))
        .collect();
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    let more = format!(
        "Every route of another product that skillgrid recognises is listed at /docs#{DOCS_ANCHOR}"
    );
    if let Some((r, captures)) = found.iter().find(|(r, _)| r.method == method) {
        return Some(format!(
            "`{} {}` is {}'s route to {}. skillgrid's {} for the same job: {}. The body: {}. {more}",
            r.method,
            r.path,
            r.product.name(),
            r.job,
            plural(r.equivalent.len(), "route", "routes"),
            routes_of(r.equivalent, captures),
            r.body(),
        ));
    }
    // The path is recognised but not with this method: name what it takes.
    let (first, captures) = &found[0];
    let takes: Vec<String> = found
        .iter()
        .map(|(r, _)| format!("`{}` to {}", r.method, r.job))
        .collect();
    let mut equivalent: Vec<(&str, &str)> = Vec::new();
    for (r, _) in &found {
        for e in r.equivalent {
            if !equivalent.contains(e) {
                equivalent.push(*e);
            }
        }
    }
    Some(format!(
        "`{method} {path}` is a route of neither skillgrid nor {product}: {product} takes `{path}` with {takes}. skillgrid's {routes} for {jobs}: {eq}. {more}",
        path = first.path,
        product = first.product.name(),
        takes = takes.join(", or "),
        routes = plural(equivalent.len(), "route", "routes"),
        jobs = plural(found.len(), "that job", "those jobs"),
        eq = routes_of(&equivalent, captures),
    ))
}

/// The table grouped by product and path, each path with its methods joined by `|` in table
/// order (`GET|POST /api/v2/users/{userId}/routingskills`), as the API guide lists them.
pub fn paths() -> Vec<(Product, String)> {
    let mut out: Vec<(Product, &str, Vec<&str>)> = Vec::new();
    for r in ROUTES {
        match out
            .iter_mut()
            .find(|(p, path, _)| *p == r.product && *path == r.path)
        {
            Some((_, _, methods)) => methods.push(r.method),
            None => out.push((r.product, r.path, vec![r.method])),
        }
    }
    out.into_iter()
        .map(|(p, path, methods)| (p, format!("{} {path}", methods.join("|"))))
        .collect()
}

#[cfg(test)]
mod tests;
