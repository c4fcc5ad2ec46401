//! What a run prints of the server's answers: the counts of changes, and `plan`'s readable
//! diff of each agent.

use skillgrid_client::types::{AssignmentOut, Changes};

/// What the server answered it changed (or, in a dry run, would change).
#[derive(Default)]
pub(super) struct Counts {
    pub(super) added: u64,
    pub(super) updated: u64,
    pub(super) removed: u64,
    pub(super) unchanged: u64,
}

/// An assignment as the diff shows it: its proficiency, level and dates.
fn describe(a: &AssignmentOut) -> String {
    let mut s = a.proficiency.to_string();
    if let Some(l) = &a.level {
        s.push_str(&format!(" ({l})"));
    }
    if let Some(d) = &a.effective_date {
        s.push_str(&format!(" from {d}"));
    }
    if let Some(d) = &a.expiration_date {
        s.push_str(&format!(" until {d}"));
    }
    s
}

/// One agent of `plan`'s readable diff, printed.
pub(super) fn print_diff(email: &str, c: &Changes) {
    for line in diff_lines(email, c) {
        println!("{line}");
    }
}

/// One agent of `plan`'s readable diff: the agent, then a line per change (`+` added, `~`
/// updated, `-` removed); nothing when nothing changes.
fn diff_lines(email: &str, c: &Changes) -> Vec<String> {
    if c.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![email.to_string()];
    for a in &c.added {
        lines.push(format!("  + {} {}", a.skill_name, describe(a)));
    }
    for u in &c.updated {
        lines.push(format!(
            "  ~ {} {} -> {}",
            u.after.skill_name,
            describe(&u.before),
            describe(&u.after)
        ));
    }
    for a in &c.removed {
        lines.push(format!("  - {} {}", a.skill_name, describe(a)));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use skillgrid_client::types::UpdatedAssignment;
    use uuid::Uuid;

    fn held(name: &str, proficiency: i64, level: Option<&str>) -> AssignmentOut {
        AssignmentOut {
            skill_id: Uuid::nil(),
            skill_name: name.into(),
            proficiency,
            level: level.map(Into::into),
            effective_date: None,
            expiration_date: None,
            active: true,
            updated_at: "2026-12-05T00:00:00Z".into(),
            sources: None,
        }
    }

    #[test]
    fn an_assignment_reads_with_its_level_and_dates() {
        assert_eq!(describe(&held("Billing", 10, None)), "10");
        let mut a = held("Billing", 80, Some("Advanced"));
        a.effective_date = Some("2027-01-01T00:00:00Z".into());
        a.expiration_date = Some("2027-06-30T00:00:00Z".into());
        assert_eq!(
            describe(&a),
            "80 (Advanced) from 2027-01-01T00:00:00Z until 2027-06-30T00:00:00Z"
        );
    }

    #[test]
    fn a_diff_lists_additions_updates_and_removals_under_the_agent() {
        assert!(diff_lines("ana@example.com", &Changes::default()).is_empty());
        let c = Changes {
            added: vec![held("Sales", 50, Some("Intermediate"))],
            updated: vec![UpdatedAssignment {
                skill_id: Uuid::nil(),
                before: held("Billing", 25, Some("Novice")),
                after: held("Billing", 100, Some("Expert")),
            }],
            removed: vec![held("French", 60, Some("Intermediate"))],
        };
        assert_eq!(
            diff_lines("ana@example.com", &c),
            [
                "ana@example.com",
                "  + Sales 50 (Intermediate)",
                "  ~ Billing 25 (Novice) -> 100 (Expert)",
                "  - French 60 (Intermediate)",
            ]
        );
    }
}
