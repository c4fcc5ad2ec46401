//! What the backends' unit tests start from: an organization with a few skills and agents.

use crate::*;
use skillgrid_core::model::{NewAgent, NewSkill};

/// An organization with the skills `billing`, `chat` and `voice` (in that name order) and
/// `agents` agents, all created at `now`; its id, the skills' ids and the agents' ids.
pub(crate) async fn seed(
    store: &dyn Store,
    agents: usize,
    now: Timestamp,
) -> (OrgId, Vec<SkillId>, Vec<AgentId>) {
    let org = store
        .create_org("acme", &OrgSettings::default())
        .await
        .unwrap()
        .id;
    let mut skills = Vec::new();
    for name in ["billing", "chat", "voice"] {
        let new = NewSkill {
            name: name.into(),
            description: None,
        };
        skills.push(store.create_skill(org, &new, now).await.unwrap().id);
    }
    let mut ids = Vec::new();
    for i in 0..agents {
        let new = NewAgent {
            email: format!("a{i}@example.com"),
            name: format!("Agent {i}"),
            external_id: None,
        };
        ids.push(store.create_agent(org, &new, now).await.unwrap().id);
    }
    (org, skills, ids)
}
