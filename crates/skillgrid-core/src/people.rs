//! The console's people: a user's role and what it lets them do. A role is a fixed set of the
//! API's scopes, so that a request made from the console is checked by exactly the rules an
//! API client's is, and the console never grants what the role lacks.

use crate::api::scopes;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a user of the console may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything the organization holds, changes nothing.
    Viewer,
    /// Also changes assignments, skills and agents.
    Editor,
    /// Also the organization's settings, its users, its API clients and its webhooks.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Editor, Role::Admin];

    /// The name the command line, the pages and the database use.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    /// The API scopes a request made by a user of this role holds.
    pub fn scopes(self) -> &'static [&'static str] {
        const VIEWER: [&str; 4] = [
            scopes::ORG_READ,
            scopes::SKILL_READ,
            scopes::AGENT_READ,
            scopes::AUDIT_READ,
        ];
        const EDITOR: [&str; 6] = [
            scopes::ORG_READ,
            scopes::SKILL_READ,
            scopes::AGENT_READ,
            scopes::AUDIT_READ,
            scopes::AGENT_WRITE,
            scopes::SKILL_WRITE,
        ];
        match self {
            Role::Viewer => &VIEWER,
            Role::Editor => &EDITOR,
            Role::Admin => &scopes::ALL,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRole(pub String);

impl fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown role `{}`: expected admin, editor or viewer",
            self.0
        )
    }
}

impl std::error::Error for UnknownRole {}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_holds_the_one_below_and_admin_holds_every_scope() {
        for pair in Role::ALL.windows(2) {
            let (lower, higher) = (pair[0].scopes(), pair[1].scopes());
            assert!(lower.iter().all(|s| higher.contains(s)), "{pair:?}");
            assert!(higher.len() > lower.len());
        }
        assert_eq!(Role::Admin.scopes(), scopes::ALL);
        assert!(Role::Viewer.scopes().iter().all(|s| s.ends_with(":read")));
        assert!(!Role::Editor.scopes().contains(&scopes::ORG_WRITE));
    }

    #[test]
    fn roles_read_back_by_name() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("Admin".parse::<Role>().is_err());
    }
}
