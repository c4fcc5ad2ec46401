//! What the server knows, loaded once per run: its agents and skills by id, email and name
//! (to the small keys the rest of `apply` works with), and the scale's level names.

use super::super::csvfile::proficiency_syntax;
use serde_json::Value;
use skillgrid_client::types::{OrgSettings, ProficiencyScale};
use skillgrid_client::{AgentQuery, Client, Error, SkillQuery};
use skillgrid_core::csv_import::resolve;
use skillgrid_core::validate::nearest_level;
use skillgrid_core::validate::rules::level_value;
use std::collections::HashMap;
use uuid::Uuid;

/// What the server knows, to resolve emails and names to small keys and ids.
pub(super) struct Lookup {
    pub(super) agent_ids: Vec<Uuid>,
    pub(super) agent_emails: Vec<String>,
    agent_by_email: HashMap<String, u32>,
    agent_by_id: HashMap<Uuid, u32>,
    pub(super) skill_ids: Vec<Uuid>,
    skill_by_name: HashMap<String, u32>,
    skill_by_id: HashMap<Uuid, u32>,
    /// The organization's scale, whose level names a row may use.
    scale: ProficiencyScale,
}

impl Lookup {
    pub(super) async fn load(client: &Client, settings: &OrgSettings) -> Result<Lookup, Error> {
        let agents = client
            .all_agents(&AgentQuery {
                limit: Some(1000),
                ..Default::default()
            })
            .await?;
        let skills = client
            .all_skills(&SkillQuery {
                limit: Some(1000),
                ..Default::default()
            })
            .await?;
        Ok(Lookup::new(
            agents.into_iter().map(|a| (a.id, a.email)),
            skills.into_iter().map(|s| (s.id, s.name)),
            settings.proficiency_scale.clone(),
        ))
    }

    /// From the agents' `(id, email)`, the skills' `(id, name)` and the scale.
    pub(super) fn new(
        agents: impl ExactSizeIterator<Item = (Uuid, String)>,
        skills: impl ExactSizeIterator<Item = (Uuid, String)>,
        scale: ProficiencyScale,
    ) -> Lookup {
        let mut l = Lookup {
            agent_ids: Vec::with_capacity(agents.len()),
            agent_emails: Vec::with_capacity(agents.len()),
            agent_by_email: HashMap::with_capacity(agents.len()),
            agent_by_id: HashMap::with_capacity(agents.len()),
            skill_ids: Vec::with_capacity(skills.len()),
            skill_by_name: HashMap::with_capacity(skills.len()),
            skill_by_id: HashMap::with_capacity(skills.len()),
            scale,
        };
        for (i, (id, email)) in agents.enumerate() {
            let i = i as u32;
            l.agent_by_email.insert(email.to_lowercase(), i);
            l.agent_by_id.insert(id, i);
            l.agent_ids.push(id);
            l.agent_emails.push(email);
        }
        for (i, (id, name)) in skills.enumerate() {
            let i = i as u32;
            l.skill_by_name.insert(name.to_lowercase(), i);
            l.skill_by_id.insert(id, i);
            l.skill_ids.push(id);
        }
        l
    }

    pub(super) fn agent(&self, v: &str) -> Result<u32, String> {
        resolve(
            v,
            &self.agent_by_id,
            &self.agent_by_email,
            "an agent",
            "email",
        )
    }

    pub(super) fn skill(&self, v: &str) -> Result<u32, String> {
        resolve(v, &self.skill_by_id, &self.skill_by_name, "a skill", "name")
    }

    /// A number stays a number (the server checks the range); a level name must exist.
    pub(super) fn proficiency(&self, v: &str) -> Result<Option<Value>, String> {
        let p = proficiency_syntax(v);
        if !matches!(p, Ok(Some(Value::String(_)))) {
            return p;
        }
        // The server's own rule for a level name, so a local mistake reads like a remote one.
        if level_value(&self.scale, v).is_some() {
            Ok(Some(Value::from(v)))
        } else {
            let names = || self.scale.levels.iter().map(|(n, _)| n);
            let hint = nearest_level(v, names())
                .map(|l| format!("; did you mean \"{l}\"?"))
                .unwrap_or_default();
            Err(format!(
                "unknown level \"{v}\"; expected an integer or one of {}{hint}",
                names().collect::<Vec<_>>().join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup() -> Lookup {
        let agents = [(Uuid::from_u128(1), "Ana@Example.com".to_string())];
        let skills = [
            (Uuid::from_u128(10), "Billing".to_string()),
            (Uuid::from_u128(11), "Technical Support".to_string()),
        ];
        // The default scale: Novice, Intermediate, Advanced, Expert.
        let scale = OrgSettings::default().proficiency_scale;
        Lookup::new(agents.into_iter(), skills.into_iter(), scale)
    }

    #[test]
    fn agents_are_found_by_id_or_by_email_in_any_case() {
        let l = lookup();
        assert_eq!(l.agent("ana@example.com"), Ok(0));
        assert_eq!(l.agent("ANA@EXAMPLE.COM"), Ok(0));
        assert_eq!(l.agent(&Uuid::from_u128(1).to_string()), Ok(0));
        assert_eq!(
            l.agent("ben@example.com"),
            Err("unknown agent email \"ben@example.com\"".into())
        );
        let other = Uuid::from_u128(2);
        assert_eq!(
            l.agent(&other.to_string()),
            Err(format!("unknown agent id {other}"))
        );
        assert_eq!(
            l.agent(""),
            Err("missing value: an agent id or email is required".into())
        );
    }

    #[test]
    fn skills_are_found_by_id_or_by_name_in_any_case() {
        let l = lookup();
        assert_eq!(l.skill("technical support"), Ok(1));
        assert_eq!(l.skill(&Uuid::from_u128(10).to_string()), Ok(0));
        assert_eq!(
            l.skill("Biling"),
            Err("unknown skill name \"Biling\"".into())
        );
        assert_eq!(
            l.skill(""),
            Err("missing value: a skill id or name is required".into())
        );
    }

    #[test]
    fn a_proficiency_is_a_number_or_a_level_of_the_scale() {
        let l = lookup();
        // Numbers are the server's to judge (the range depends on its scale).
        assert_eq!(l.proficiency("250"), Ok(Some(Value::from(250))));
        assert_eq!(l.proficiency("expert"), Ok(Some(Value::from("expert"))));
        assert_eq!(l.proficiency(""), Ok(None));
        assert_eq!(
            l.proficiency("Expret"),
            Err(
                "unknown level \"Expret\"; expected an integer or one of Novice, \
                 Intermediate, Advanced, Expert; did you mean \"Expert\"?"
                    .into()
            )
        );
    }
}
