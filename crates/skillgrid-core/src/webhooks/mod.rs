//! Webhooks, free of I/O: the event types an endpoint may ask for, how a delivery is signed
//! ([`signing`]), and where a delivery may be sent ([`destination`]).
//!
//! The same rules serve the routes that create endpoints and the dispatcher that delivers to
//! them, so an address refused at creation is refused again after its name is resolved.

pub mod destination;
pub mod signing;

/// Every event type, as endpoints name them in `eventTypes`.
pub const EVENT_TYPES: [&str; 8] = [
    "assignment.changed",
    "agent.created",
    "agent.updated",
    "skill.created",
    "skill.updated",
    "skill.deleted",
    "settings.updated",
    "client.updated",
];

/// The one entry of `eventTypes` that stands for every type, present and future.
pub const ALL_EVENTS: &str = "*";

/// Whether an endpoint subscribed to `subscribed` receives events of type `event`.
pub fn wants(subscribed: &[String], event: &str) -> bool {
    subscribed.iter().any(|s| s == ALL_EVENTS || s == event)
}

/// How long the previous secret keeps signing after a rotation unless the caller says: one
/// day, time enough for every consumer to take the new one.
pub const DEFAULT_OVERLAP_SECONDS: i64 = 24 * 60 * 60;
/// The longest overlap a rotation may ask for: a week.
pub const MAX_OVERLAP_SECONDS: i64 = 7 * 24 * 60 * 60;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wildcard_takes_every_type_and_a_list_only_its_own() {
        let all = vec![ALL_EVENTS.to_string()];
        let some = vec!["skill.created".to_string()];
        assert!(EVENT_TYPES.iter().all(|t| wants(&all, t)));
        assert!(wants(&some, "skill.created"));
        assert!(!wants(&some, "skill.deleted"));
    }
}
