//! Other products' scope and permission names, and the skillgrid scopes that grant the same job.
//!
//! Integrators arrive with the names of the contact center they came from: they ask the token
//! endpoint for `user:skill:write`, or create a client with `admin:users:write`. Answering
//! "not granted" or "unknown" leaves them guessing; [`refusal`] says where the name comes from
//! and which skillgrid scope to use instead. Both the token endpoint and `admin create-client`
//! answer from this one table, and `docs/api-guide.md` ("Coming from another product") shows
//! it; a test keeps the two the same.
//!
//! Names are matched without regard to case. A name that two products share would be listed
//! once with both products ("NICE CXone / Genesys Cloud"); none of the names below is.

use skillgrid_api::scopes;
use Kind::{IamAction, Permission, Scope};

/// What a foreign name is in its own product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An OAuth scope a client asks for.
    Scope,
    /// A permission of a user role.
    Permission,
    /// An action of an IAM policy.
    IamAction,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Scope => "scope",
            Kind::Permission => "permission",
            Kind::IamAction => "IAM action",
        }
    }
}

/// One name of another product and skillgrid's equivalent.
#[derive(Debug)]
pub struct ForeignScope {
    /// As the product spells it.
    pub name: &'static str,
    pub product: &'static str,
    pub kind: Kind,
    /// The skillgrid scopes that do the same job, in the order of [`scopes::ALL`].
    pub scopes: &'static [&'static str],
}

const fn entry(
    name: &'static str,
    product: &'static str,
    kind: Kind,
    scopes: &'static [&'static str],
) -> ForeignScope {
    ForeignScope {
        name,
        product,
        kind,
        scopes,
    }
}

const CXONE: &str = "NICE CXone";
const GENESYS: &str = "Genesys Cloud";
const CONNECT: &str = "Amazon Connect";
const SALESFORCE: &str = "Salesforce";
const WEBEX: &str = "Webex Contact Center";
const VONAGE: &str = "Vonage Contact Center";

const AGENT_READ: &[&str] = &[scopes::AGENT_READ];
const AGENT_WRITE: &[&str] = &[scopes::AGENT_WRITE];
const AGENT_READ_WRITE: &[&str] = &[scopes::AGENT_READ, scopes::AGENT_WRITE];
const SKILL_READ: &[&str] = &[scopes::SKILL_READ];
const SKILL_WRITE: &[&str] = &[scopes::SKILL_WRITE];
const SKILLS_AND_AGENTS_READ: &[&str] = &[scopes::SKILL_READ, scopes::AGENT_READ];
const SKILLS_AND_AGENTS_WRITE: &[&str] = &[scopes::SKILL_WRITE, scopes::AGENT_WRITE];
const SKILLS_AND_AGENTS: &[&str] = &[
    scopes::SKILL_READ,
    scopes::SKILL_WRITE,
    scopes::AGENT_READ,
    scopes::AGENT_WRITE,
];
const ORG_READ: &[&str] = &[scopes::ORG_READ];
const ORG_READ_WRITE: &[&str] = &[scopes::ORG_READ, scopes::ORG_WRITE];
const AUDIT_READ: &[&str] = &[scopes::AUDIT_READ];

/// Every recognised name. A product's read-write scope maps to skillgrid's read and write
/// scopes, since a skillgrid write scope does not include reading.
#[rustfmt::skip]
pub static TABLE: &[ForeignScope] = &[
    // NICE CXone: the API application scope `AdminAPI` ("such as assigning a skill to an
    // agent"), and the resource scopes integration guides for it use.
    entry("AdminAPI",                              CXONE,      Scope,      SKILLS_AND_AGENTS),
    entry("admin:users:read",                      CXONE,      Scope,      AGENT_READ),
    entry("admin:users:write",                     CXONE,      Scope,      AGENT_WRITE),
    entry("user:skill:read",                       CXONE,      Scope,      AGENT_READ),
    entry("user:skill:write",                      CXONE,      Scope,      AGENT_WRITE),
    // Genesys Cloud: OAuth client scopes (`:readonly` is the read variant) ...
    entry("routing",                               GENESYS,    Scope,      SKILLS_AND_AGENTS),
    entry("routing:readonly",                      GENESYS,    Scope,      SKILLS_AND_AGENTS_READ),
    entry("users",                                 GENESYS,    Scope,      AGENT_READ_WRITE),
    entry("users:readonly",                        GENESYS,    Scope,      AGENT_READ),
    entry("organization",                          GENESYS,    Scope,      ORG_READ_WRITE),
    entry("organization:readonly",                 GENESYS,    Scope,      ORG_READ),
    entry("audits:readonly",                       GENESYS,    Scope,      AUDIT_READ),
    // ... and role permissions, which integrators often paste as scopes.
    entry("routing:skill:assign",                  GENESYS,    Permission, AGENT_WRITE),
    entry("routing:skill:manage",                  GENESYS,    Permission, SKILL_WRITE),
    entry("routing:skill:view",                    GENESYS,    Permission, SKILL_READ),
    entry("directory:user:view",                   GENESYS,    Permission, AGENT_READ),
    entry("directory:user:add",                    GENESYS,    Permission, AGENT_WRITE),
    entry("directory:user:edit",                   GENESYS,    Permission, AGENT_WRITE),
    // Amazon Connect: IAM actions. Its proficiencies are predefined attributes (the catalog)
    // associated with users (the assignments).
    entry("connect:ListUsers",                     CONNECT,    IamAction,  AGENT_READ),
    entry("connect:DescribeUser",                  CONNECT,    IamAction,  AGENT_READ),
    entry("connect:SearchUsers",                   CONNECT,    IamAction,  AGENT_READ),
    entry("connect:CreateUser",                    CONNECT,    IamAction,  AGENT_WRITE),
    entry("connect:ListUserProficiencies",         CONNECT,    IamAction,  AGENT_READ),
    entry("connect:AssociateUserProficiencies",    CONNECT,    IamAction,  AGENT_WRITE),
    entry("connect:UpdateUserProficiencies",       CONNECT,    IamAction,  AGENT_WRITE),
    entry("connect:DisassociateUserProficiencies", CONNECT,    IamAction,  AGENT_WRITE),
    entry("connect:ListPredefinedAttributes",      CONNECT,    IamAction,  SKILL_READ),
    entry("connect:DescribePredefinedAttribute",   CONNECT,    IamAction,  SKILL_READ),
    entry("connect:CreatePredefinedAttribute",     CONNECT,    IamAction,  SKILL_WRITE),
    entry("connect:UpdatePredefinedAttribute",     CONNECT,    IamAction,  SKILL_WRITE),
    entry("connect:DeletePredefinedAttribute",     CONNECT,    IamAction,  SKILL_WRITE),
    // Salesforce: `api` is the connected-app scope for REST calls, skills and users included.
    entry("api",                                   SALESFORCE, Scope,      SKILLS_AND_AGENTS),
    // Webex Contact Center: skills and skill profiles are configuration.
    entry("cjp:config_read",                       WEBEX,      Scope,      SKILLS_AND_AGENTS_READ),
    entry("cjp:config_write",                      WEBEX,      Scope,      SKILLS_AND_AGENTS_WRITE),
    // Vonage Contact Center: the User Admin API.
    entry("users:read",                            VONAGE,     Scope,      AGENT_READ),
    entry("users:write",                           VONAGE,     Scope,      AGENT_WRITE),
];

/// The entry for `name`, in any case.
pub fn recognise(name: &str) -> Option<&'static ForeignScope> {
    TABLE.iter().find(|e| e.name.eq_ignore_ascii_case(name))
}

/// What a skillgrid scope gives access to, in a few words.
pub fn area(scope: &str) -> &'static str {
    match scope {
        scopes::AGENT_READ | scopes::AGENT_WRITE => "agents and their skill assignments",
        scopes::SKILL_READ | scopes::SKILL_WRITE => "the skill catalog",
        scopes::ORG_READ | scopes::ORG_WRITE => "organization settings",
        scopes::AUDIT_READ => "the audit log",
        scopes::WEBHOOK_READ | scopes::WEBHOOK_WRITE => "webhooks",
        scopes::SCIM => "SCIM provisioning",
        _ => "",
    }
}

impl ForeignScope {
    /// What the scopes of this entry give access to, e.g. "the skill catalog, agents and their
    /// skill assignments".
    pub fn areas(&self) -> String {
        let mut areas: Vec<&str> = Vec::new();
        for s in self.scopes {
            let a = area(s);
            if !areas.contains(&a) {
                areas.push(a);
            }
        }
        areas.join(", ")
    }

    /// "NICE CXone scope", "Amazon Connect IAM action".
    pub fn what(&self) -> String {
        format!("{} {}", self.product, self.kind.as_str())
    }
}

/// Where the refused names were given, which decides how the advice is phrased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// The `scope` of `POST /oauth/token`.
    Token,
    /// `--scopes` of `admin create-client`.
    CreateClient,
}

/// Why the names of `asked` that are not skillgrid scopes are refused: for each recognised
/// one, the product it comes from and the scopes to use instead; then the unknown ones with
/// the known scopes. `None` when every name is a skillgrid scope.
///
/// The text keeps to the characters RFC 6749 section 5.2 allows in `error_description`, as
/// long as the names do (the token endpoint checks that first).
pub fn refusal(asked: &[&str], place: Asked) -> Option<String> {
    let mut sentences = Vec::new();
    let mut unknown: Vec<&str> = Vec::new();
    for &name in asked {
        if scopes::ALL.contains(&name) {
            continue;
        }
        match recognise(name) {
            Some(e) => {
                let sentence = explain(name, e, place);
                if !sentences.contains(&sentence) {
                    sentences.push(sentence);
                }
            }
            None if !unknown.contains(&name) => unknown.push(name),
            None => {}
        }
    }
    if !unknown.is_empty() {
        let names: Vec<String> = unknown.iter().map(|n| format!("`{n}`")).collect();
        sentences.push(format!(
            "unknown scope{} {}; known scopes: {}",
            if unknown.len() == 1 { "" } else { "s" },
            names.join(", "),
            scopes::ALL.join(" ")
        ));
    }
    (!sentences.is_empty()).then(|| sentences.join(". "))
}

/// "`user:skill:write` is a NICE CXone scope, not a skillgrid one; request `admin:agent:write`
/// here (agents and their skill assignments)".
fn explain(given: &str, e: &ForeignScope, place: Asked) -> String {
    let article = if e.product.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    let not_ours = match e.kind {
        Kind::Scope => "not a skillgrid one",
        Kind::Permission | Kind::IamAction => "not a skillgrid scope",
    };
    let ours = e.scopes.join(" ");
    let advice = match place {
        Asked::Token => format!("request `{ours}` here"),
        Asked::CreateClient => format!("use `{ours}` instead"),
    };
    format!(
        "`{given}` is {article} {}, {not_ours}; {advice} ({})",
        e.what(),
        e.areas()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_foreign_name_is_a_skillgrid_scope_or_listed_twice() {
        for (i, e) in TABLE.iter().enumerate() {
            assert!(
                !scopes::ALL.iter().any(|s| s.eq_ignore_ascii_case(e.name)),
                "{}",
                e.name
            );
            assert!(
                TABLE[..i]
                    .iter()
                    .all(|o| !o.name.eq_ignore_ascii_case(e.name)),
                "{} is listed twice",
                e.name
            );
        }
    }

    #[test]
    fn every_entry_maps_to_skillgrid_scopes_in_their_order() {
        for e in TABLE {
            assert!(!e.scopes.is_empty(), "{}", e.name);
            let positions: Vec<usize> = e
                .scopes
                .iter()
                .map(|s| {
                    scopes::ALL
                        .iter()
                        .position(|a| a == s)
                        .unwrap_or_else(|| panic!("{}: `{s}` is not a skillgrid scope", e.name))
                })
                .collect();
            assert!(positions.windows(2).all(|w| w[0] < w[1]), "{}", e.name);
            assert!(!area(e.scopes[0]).is_empty(), "{}", e.name);
        }
        for s in scopes::ALL {
            assert!(!area(s).is_empty(), "{s} has no area");
        }
    }

    #[test]
    fn names_are_recognised_in_any_case() {
        let e = recognise("ADMIN:USERS:WRITE").expect("recognised");
        assert_eq!(e.name, "admin:users:write");
        assert_eq!(e.product, CXONE);
        assert_eq!(
            recognise("Connect:AssociateUserProficiencies").map(|e| e.scopes),
            Some(AGENT_WRITE)
        );
        assert!(recognise("admin:skill:read").is_none());
        assert!(recognise("user:skill").is_none());
    }

    #[test]
    fn a_refusal_names_the_product_and_the_scope_to_use() {
        assert_eq!(
            refusal(&["user:skill:write"], Asked::Token).as_deref(),
            Some(
                "`user:skill:write` is a NICE CXone scope, not a skillgrid one; request \
                 `admin:agent:write` here (agents and their skill assignments)"
            )
        );
        assert_eq!(
            refusal(&["connect:CreatePredefinedAttribute"], Asked::CreateClient).as_deref(),
            Some(
                "`connect:CreatePredefinedAttribute` is an Amazon Connect IAM action, not a \
                 skillgrid scope; use `admin:skill:write` instead (the skill catalog)"
            )
        );
        let routing = refusal(&["Routing"], Asked::Token).unwrap();
        assert!(
            routing.contains("`Routing` is a Genesys Cloud scope")
                && routing.contains(
                    "`admin:skill:read admin:skill:write admin:agent:read admin:agent:write`"
                )
                && routing.contains("(the skill catalog, agents and their skill assignments)"),
            "{routing}"
        );
    }

    #[test]
    fn a_refusal_covers_every_name_that_is_not_ours_once() {
        let all = refusal(
            &[
                "admin:skill:read",
                "routing:skill:assign",
                "admin:bogus",
                "admin:users:read",
                "routing:skill:assign",
                "admin:bogus",
                "x",
            ],
            Asked::Token,
        )
        .unwrap();
        assert_eq!(all.matches("routing:skill:assign").count(), 1, "{all}");
        assert!(all.contains("Genesys Cloud permission"), "{all}");
        assert!(
            all.contains("`admin:users:read` is a NICE CXone scope"),
            "{all}"
        );
        assert!(
            all.ends_with(&format!(
                "unknown scopes `admin:bogus`, `x`; known scopes: {}",
                scopes::ALL.join(" ")
            )),
            "{all}"
        );
        assert!(!all.contains("`admin:skill:read`"), "{all}");
        assert_eq!(refusal(&scopes::ALL, Asked::Token), None);
        assert_eq!(refusal(&[], Asked::CreateClient), None);
    }
}
