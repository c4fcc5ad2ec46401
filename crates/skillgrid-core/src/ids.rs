//! The ids of organizations, agents, skills and API clients, each its own type: all four
//! are UUIDs, and as bare `Uuid`s one could be passed where another is meant (an agent's id
//! as its organization's) and nothing would say so until a query found nothing.
//!
//! Each type wraps a `Uuid` and nothing else: it prints, compares, hashes and serialises
//! exactly as the `Uuid` does, so converting at the edges changes no answer and no stored byte.
//! The database binds the inner `Uuid` (this crate does no I/O, so it knows no database types).

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// Defines one id type; the four differ only in name and doc.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        #[repr(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub const fn new(id: Uuid) -> Self {
                $name(id)
            }

            /// The bare UUID: for the database, and for the API's types, which name no kinds.
            pub const fn get(self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        /// Any spelling `Uuid` parses.
        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::from_str(s).map($name)
            }
        }

        /// The UUID's hyphenated form, as the API prints ids.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

id_type!(
    /// An organization's id.
    OrgId
);
id_type!(
    /// An agent's id.
    AgentId
);
id_type!(
    /// A skill's id.
    SkillId
);
id_type!(
    /// An API client's id.
    ClientId
);
id_type!(
    /// A webhook endpoint's id.
    WebhookId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_and_serialises_as_the_uuid() {
        let uuid = Uuid::parse_str("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap();
        let id = AgentId::from(uuid);
        assert_eq!(id.to_string(), uuid.to_string());
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            serde_json::to_string(&uuid).unwrap()
        );
        let back: AgentId = serde_json::from_str(&serde_json::to_string(&uuid).unwrap()).unwrap();
        assert_eq!(back, id);
        assert_eq!(Uuid::from(id), uuid);
        assert_eq!(id.get(), uuid);
    }

    #[test]
    fn orders_as_the_uuid() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        assert!(SkillId::from(a) < SkillId::from(b));
        assert_eq!(OrgId::new(a).cmp(&OrgId::new(b)), a.cmp(&b));
    }
}
