//! An organization's generation, checked the same way on every backend: it moves with each
//! committed change to the organization's settings or skills, and with nothing else, and
//! [`Store::org_snapshot`] returns the settings and catalog of the generation it names.

use super::db::TestDb;
use super::helpers::{asg, ctx, merge, new_org, opts};
use skillgrid_core::model::{AgentId, NewAgent, NewSkill, OrgId, SkillId, SkillPatch};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::*;
use uuid::Uuid;

#[tokio::test]
async fn the_org_generation_moves_with_settings_and_skills_only() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let s = &*store;
    let org = new_org(s, "gen").await;
    let other = new_org(s, "other").await;
    let now = Timestamp(1);
    let skill = |name: &str| NewSkill {
        name: name.into(),
        description: None,
    };
    let mut last = s.org_generation(org).await.unwrap();
    // Asserts that the generation moved (or not) since the last look, and that a snapshot
    // holds that generation.
    let mut step = |moved: bool, what: &str, now: i64| {
        assert_eq!(now > last, moved, "{what}: generation {last} → {now}");
        last = now;
    };

    let billing = s
        .create_skill(org, &skill("Billing"), now)
        .await
        .unwrap()
        .id;
    step(
        true,
        "a skill created",
        s.org_generation(org).await.unwrap(),
    );
    let patch = SkillPatch {
        name: Some("Billing EU".into()),
        ..Default::default()
    };
    s.update_skill(org, billing, &patch, now).await.unwrap();
    step(
        true,
        "a skill renamed",
        s.org_generation(org).await.unwrap(),
    );
    let off = SkillPatch {
        active: Some(false),
        ..Default::default()
    };
    s.update_skill(org, billing, &off, now).await.unwrap();
    step(
        true,
        "a skill deactivated",
        s.org_generation(org).await.unwrap(),
    );
    let mut settings = s.settings(org).await.unwrap();
    settings.require_if_match = !settings.require_if_match;
    s.update_settings(org, &settings).await.unwrap().unwrap();
    step(
        true,
        "settings changed",
        s.org_generation(org).await.unwrap(),
    );
    let spare = s.create_skill(org, &skill("Spare"), now).await.unwrap().id;
    step(true, "a second skill", s.org_generation(org).await.unwrap());
    s.delete_skill(org, spare).await.unwrap();
    step(
        true,
        "a skill deleted",
        s.org_generation(org).await.unwrap(),
    );

    // Nothing else moves it: agents, their skills, another organization's changes.
    let chat = s.create_skill(org, &skill("Chat"), now).await.unwrap().id;
    step(true, "a third skill", s.org_generation(org).await.unwrap());
    let agent = s
        .create_agent(
            org,
            &NewAgent {
                email: "gen@example.com".into(),
                name: "Gen".into(),
                external_id: None,
            },
            now,
        )
        .await
        .unwrap()
        .id;
    let write = merge(agent, vec![asg(chat, 3)], vec![]);
    let opts = WriteOptions {
        return_sets: false,
        ..opts()
    };
    let done = s
        .write_skill_sets(org, &ctx(now.0), &[write], opts)
        .await
        .unwrap();
    assert!(done.committed);
    s.create_skill(other, &skill("Elsewhere"), now)
        .await
        .unwrap();
    let mut theirs = s.settings(other).await.unwrap();
    theirs.require_if_match = true;
    s.update_settings(other, &theirs).await.unwrap().unwrap();
    step(
        false,
        "agents and other organizations",
        s.org_generation(org).await.unwrap(),
    );

    // The snapshot is of the current generation, with its settings and catalog.
    let snap = s.org_snapshot(org).await.unwrap();
    assert_eq!(snap.generation, last);
    assert_eq!(snap.settings, settings);
    let mut catalog: Vec<(Uuid, String, bool)> = snap
        .catalog
        .into_iter()
        .map(|c| (c.id.get(), c.name, c.active))
        .collect();
    catalog.sort();
    let mut expected = vec![
        (billing.get(), "Billing EU".to_string(), false),
        (chat.get(), "Chat".into(), true),
    ];
    expected.sort();
    assert_eq!(catalog, expected);

    assert!(matches!(
        s.org_generation(OrgId::new(Uuid::new_v4())).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.org_snapshot(OrgId::new(Uuid::new_v4())).await,
        Err(StoreError::NotFound)
    ));
}

/// The reads every API request of one agent's skills makes (the generation and the set with
/// its version, apart or in one statement) see what another process committed the moment it
/// did, however often they ran before (SQLite keeps connections and prepared statements of
/// their own for them), and never an agent of another organization.
#[tokio::test]
async fn request_reads_see_another_processes_commits_at_once() {
    use super::helpers::{new_agent, new_skill};
    let db = TestDb::new().await;
    // Two pools: as a server and an admin command (or a second instance) would be.
    let (reader, writer) = (db.store().await, db.store().await);
    let org = new_org(&*writer, "o").await;
    let other = new_org(&*writer, "p").await;
    let agent = new_agent(&*writer, org, "a@x").await;
    let stranger = new_agent(&*writer, other, "a@x").await;
    for round in 0..3i64 {
        let generation = reader.org_generation(org).await.unwrap();
        let before = reader.agent_skills(org, agent).await.unwrap();
        assert_eq!(
            (before.version, before.skills.len()),
            (round, round as usize)
        );
        let skill = new_skill(&*writer, org, &format!("s{round}")).await;
        assert!(reader.org_generation(org).await.unwrap() > generation);
        let items = [merge(agent, vec![asg(skill, 10 + round)], vec![])];
        writer
            .write_skill_sets(org, &ctx(1000 + round), &items, opts())
            .await
            .unwrap();
        let after = reader.agent_skills(org, agent).await.unwrap();
        assert_eq!(after.version, round + 1);
        assert!(after
            .skills
            .iter()
            .any(|a| a.skill_id == skill && a.proficiency == 10 + round));
        // The generation and the set read together are the two read apart.
        let (g, together) = reader.agent_skills_at_generation(org, agent).await.unwrap();
        assert_eq!(g, reader.org_generation(org).await.unwrap());
        let together = together.expect("the agent");
        assert_eq!(together.version, after.version);
        let ids = |s: &skillgrid_store::AgentSkillSet| {
            s.skills
                .iter()
                .map(|a| (a.skill_id, a.proficiency))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&together), ids(&after));
    }
    assert!(matches!(
        reader.agent_skills(org, stranger).await,
        Err(StoreError::NotFound)
    ));
    // Another organization's agent is not there; an organization that does not exist is.
    let (g, none) = reader
        .agent_skills_at_generation(org, stranger)
        .await
        .unwrap();
    assert_eq!(g, reader.org_generation(org).await.unwrap());
    assert!(none.is_none());
    assert!(matches!(
        reader
            .agent_skills_at_generation(OrgId::new(Uuid::now_v7()), agent)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        reader.org_generation(OrgId::new(Uuid::now_v7())).await,
        Err(StoreError::NotFound)
    ));
}

/// Many reads of agents' skills at once (PostgreSQL answers the reads waiting together with
/// one statement) each get their own answer: the agent's own set, no agent for another
/// organization's agent or an unknown one, `NotFound` for an unknown organization. A read
/// asked for after a write was answered finds the write, however many reads run beside it.
#[tokio::test]
async fn reads_at_once_each_get_their_own_answer() {
    use super::helpers::{new_agent, new_skill};
    use std::sync::Arc;
    let db = TestDb::new().await;
    let store = db.store().await;
    let s = &*store;
    let org = new_org(s, "reads").await;
    let other = new_org(s, "others").await;
    let (chat, voice) = (
        new_skill(s, org, "chat").await,
        new_skill(s, org, "voice").await,
    );
    let mut agents = Vec::new();
    for i in 0..24i64 {
        let agent = new_agent(s, org, &format!("a{i}@x")).await;
        // Every agent its own proficiency; every third one without skills, every other one
        // with two.
        let mut upsert = vec![asg(chat, 10 + i)];
        if i % 2 == 0 {
            upsert.push(asg(voice, 50 + i));
        }
        if i % 3 != 0 {
            s.write_skill_sets(org, &ctx(1), &[merge(agent, upsert, vec![])], opts())
                .await
                .unwrap();
        }
        agents.push((agent, i));
    }
    let foreign = new_agent(s, other, "f@x").await;
    let written = new_agent(s, org, "w@x").await;
    let agents = Arc::new(agents);

    let check = |store: DynStore, agents: Arc<Vec<(AgentId, i64)>>, k: usize| async move {
        match k % 5 {
            // An agent of the organization.
            0..=2 => {
                let (agent, i) = agents[k % agents.len()];
                let (g, set) = store.agent_skills_at_generation(org, agent).await.unwrap();
                assert_eq!(g, store.org_generation(org).await.unwrap());
                let set = set.expect("the organization's agent");
                let got: Vec<(SkillId, i64)> = set
                    .skills
                    .iter()
                    .map(|a| (a.skill_id, a.proficiency))
                    .collect();
                let want = match (i % 3, i % 2) {
                    (0, _) => vec![],
                    (_, 0) => vec![(chat, 10 + i), (voice, 50 + i)],
                    _ => vec![(chat, 10 + i)],
                };
                assert_eq!(got, want, "agent {i}");
            }
            // Another organization's agent, an unknown agent: the organization has no such
            // agent.
            3 => {
                let agent = if k.is_multiple_of(2) {
                    foreign
                } else {
                    AgentId::new(Uuid::now_v7())
                };
                let (_, set) = store.agent_skills_at_generation(org, agent).await.unwrap();
                assert!(set.is_none(), "read {k} found an agent");
            }
            // An unknown organization.
            _ => {
                let (agent, _) = agents[0];
                let unknown = OrgId::new(Uuid::now_v7());
                assert!(matches!(
                    store.agent_skills_at_generation(unknown, agent).await,
                    Err(StoreError::NotFound)
                ));
            }
        }
    };
    let mut reads = tokio::task::JoinSet::new();
    for k in 0..400 {
        reads.spawn(check(store.clone(), agents.clone(), k));
    }
    // Meanwhile, writes each followed by a read that must find it.
    for p in 0..20i64 {
        let items = [merge(written, vec![asg(voice, p)], vec![])];
        s.write_skill_sets(org, &ctx(10 + p), &items, opts())
            .await
            .unwrap();
        let (_, set) = s.agent_skills_at_generation(org, written).await.unwrap();
        let set = set.unwrap();
        assert!(
            set.skills
                .iter()
                .any(|a| a.skill_id == voice && a.proficiency == p),
            "write {p} not found by the read after it"
        );
        reads.spawn(check(store.clone(), agents.clone(), 5 * p as usize + 3));
    }
    while let Some(done) = reads.join_next().await {
        done.unwrap();
    }
}

/// An agent's set comes sorted by its skills' names as they are now: a rename, or a skill
/// created and given to the agent, shows in the order of the next read at once.
#[tokio::test]
async fn a_read_sorts_by_the_names_skills_have_now() {
    use super::helpers::{new_agent, new_skill};
    let db = TestDb::new().await;
    let store = db.store().await;
    let s = &*store;
    let org = new_org(s, "names").await;
    let (chat, voice) = (
        new_skill(s, org, "chat").await,
        new_skill(s, org, "voice").await,
    );
    let agent = new_agent(s, org, "n@x").await;
    let write = |upsert| [merge(agent, upsert, vec![])];
    s.write_skill_sets(
        org,
        &ctx(1),
        &write(vec![asg(voice, 1), asg(chat, 2)]),
        opts(),
    )
    .await
    .unwrap();
    let order = || async {
        let (_, set) = s.agent_skills_at_generation(org, agent).await.unwrap();
        let set = set.unwrap().skills;
        set.iter().map(|a| a.skill_id).collect::<Vec<_>>()
    };
    assert_eq!(order().await, vec![chat, voice]);
    let rename = SkillPatch {
        name: Some("Web chat".into()),
        ..Default::default()
    };
    s.update_skill(org, chat, &rename, Timestamp(2))
        .await
        .unwrap();
    assert_eq!(order().await, vec![voice, chat], "after the rename");
    let billing = new_skill(s, org, "billing").await;
    s.write_skill_sets(org, &ctx(3), &write(vec![asg(billing, 3)]), opts())
        .await
        .unwrap();
    assert_eq!(order().await, vec![billing, voice, chat], "a new skill");
}
