//! The console's grid: a page of an organization's agents with their versions and their
//! assignments of active skills, filtered, sorted and paged by keyset both ways, on every
//! backend, with nothing of another organization.

use super::db::TestDb;
use super::helpers::new_org;
use super::helpers::*;
use skillgrid_core::model::{AgentPatch, NewAgent, SkillPatch};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::*;

async fn agent(s: &dyn Store, org: OrgId, name: &str, email: &str) -> AgentId {
    let new = NewAgent {
        email: email.into(),
        name: name.into(),
        external_id: None,
    };
    s.create_agent(org, &new, Timestamp(1)).await.unwrap().id
}

fn names(p: &GridPage) -> Vec<&str> {
    p.rows.iter().map(|r| r.agent.name.as_str()).collect()
}

#[tokio::test]
async fn grid_pages_filter_and_sort_agents_with_their_skills() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let s = &*s;
    let org = new_org(s, "grid").await;
    let other = new_org(s, "other").await;
    let voice = new_skill(s, org, "Voice").await;
    let chat = new_skill(s, org, "Chat").await;
    let old = new_skill(s, org, "Old").await;
    let dora = agent(s, org, "Dora", "a@x").await;
    let ann = agent(s, org, "Ann", "e@x").await;
    let cy = agent(s, org, "Cy 100%", "b@x").await;
    let bo = agent(s, org, "Bo", "d@x").await;
    let eve = agent(s, org, "Eve", "C@Y").await;
    agent(s, other, "Ann", "ann@x").await;
    let writes = [
        replace(ann, vec![asg(voice, 80), asg(old, 10)], None),
        replace(bo, vec![asg(voice, 30)], None),
        replace(dora, vec![asg(chat, 100)], None),
    ];
    s.write_skill_sets(org, &ctx(10), &writes, opts())
        .await
        .unwrap();
    s.write_skill_sets(
        org,
        &ctx(20),
        &[merge(ann, vec![asg(chat, 50)], vec![])],
        opts(),
    )
    .await
    .unwrap();
    let deactivate = SkillPatch {
        active: Some(false),
        ..Default::default()
    };
    s.update_skill(org, old, &deactivate, Timestamp(30))
        .await
        .unwrap();
    let off = AgentPatch {
        active: Some(false),
        ..Default::default()
    };
    s.update_agent(org, eve, &off, Timestamp(30)).await.unwrap();
    let grid = |f: GridFilter, at: Option<GridCursor>, limit: u32| async move {
        s.agent_grid(org, &f, at, limit).await.unwrap()
    };

    // Every agent of the organization by name, with its version and its active skills only.
    let all = grid(GridFilter::default(), None, 10).await;
    assert_eq!(names(&all), ["Ann", "Bo", "Cy 100%", "Dora", "Eve"]);
    // Its columns: the active skills, by name (the other organization's none of them).
    let columns: Vec<_> = all.skills.iter().map(|k| (k.id, k.name.as_str())).collect();
    assert_eq!(columns, [(chat, "Chat"), (voice, "Voice")]);
    assert_eq!((all.next, all.previous), (None, None));
    let first = &all.rows[0];
    assert_eq!(first.agent.id, ann);
    assert_eq!(first.version, 2);
    let mut skills = first.skills.clone();
    skills.sort_by_key(|(_, p)| *p);
    assert_eq!(skills, [(chat, 50), (voice, 80)]);
    assert_eq!(all.rows[2].agent.id, cy);
    assert_eq!((all.rows[2].version, all.rows[2].skills.len()), (0, 0));

    // Keyset pages forward and back, by name and by e-mail (case-insensitively).
    let p1 = grid(GridFilter::default(), None, 2).await;
    assert_eq!(names(&p1), ["Ann", "Bo"]);
    assert_eq!(p1.previous, None);
    let p2 = grid(
        GridFilter::default(),
        Some(GridCursor::After(p1.next.unwrap())),
        2,
    )
    .await;
    assert_eq!(names(&p2), ["Cy 100%", "Dora"]);
    let p3 = grid(
        GridFilter::default(),
        Some(GridCursor::After(p2.next.unwrap())),
        2,
    )
    .await;
    assert_eq!((names(&p3), p3.next), (vec!["Eve"], None));
    let back = grid(
        GridFilter::default(),
        Some(GridCursor::Before(p3.previous.unwrap())),
        2,
    )
    .await;
    assert_eq!(names(&back), ["Cy 100%", "Dora"]);
    let start = grid(
        GridFilter::default(),
        Some(GridCursor::Before(back.previous.unwrap())),
        2,
    )
    .await;
    assert_eq!((names(&start), start.previous), (vec!["Ann", "Bo"], None));
    assert!(start.next.is_some());
    let by_email = GridFilter {
        sort: GridSort::Email,
        ..Default::default()
    };
    let e1 = grid(by_email.clone(), None, 3).await;
    assert_eq!(names(&e1), ["Dora", "Cy 100%", "Eve"]);
    let e2 = grid(by_email, Some(GridCursor::After(e1.next.unwrap())), 3).await;
    assert_eq!(names(&e2), ["Bo", "Ann"]);

    // Search: a case-insensitive substring of the name or the e-mail, wildcards literal.
    let search = |q: &str| GridFilter {
        search: Some(q.into()),
        ..Default::default()
    };
    assert_eq!(names(&grid(search("DOR"), None, 10).await), ["Dora"]);
    assert_eq!(names(&grid(search("c@y"), None, 10).await), ["Eve"]);
    assert_eq!(names(&grid(search("0%"), None, 10).await), ["Cy 100%"]);
    assert_eq!(
        names(&grid(search("_"), None, 10).await),
        Vec::<&str>::new()
    );

    // Holders of a skill, at a level, active or not.
    let holders = GridFilter {
        skill: Some(voice),
        ..Default::default()
    };
    assert_eq!(names(&grid(holders, None, 10).await), ["Ann", "Bo"]);
    let advanced = GridFilter {
        proficiency: Some((75, 99)),
        ..Default::default()
    };
    assert_eq!(names(&grid(advanced, None, 10).await), ["Ann"]);
    let voice_low = GridFilter {
        skill: Some(voice),
        proficiency: Some((0, 49)),
        ..Default::default()
    };
    assert_eq!(names(&grid(voice_low, None, 10).await), ["Bo"]);
    let inactive_skill = GridFilter {
        skill: Some(old),
        ..Default::default()
    };
    assert!(grid(inactive_skill, None, 10).await.rows.is_empty());
    let inactive = GridFilter {
        active: Some(false),
        ..Default::default()
    };
    assert_eq!(names(&grid(inactive, None, 10).await), ["Eve"]);

    // Another organization's grid has only its own agent.
    let theirs = s
        .agent_grid(other, &GridFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(names(&theirs), ["Ann"]);
    assert!(theirs.skills.is_empty());
    assert_ne!(theirs.rows[0].agent.id, ann);
}

#[tokio::test]
async fn grid_ids_are_every_match_by_keyset_in_the_grid_order() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let s = &*s;
    let org = new_org(s, "ids").await;
    let other = new_org(s, "other").await;
    let voice = new_skill(s, org, "Voice").await;
    let mut agents = Vec::new();
    for i in 0..7 {
        agents.push(agent(s, org, &format!("Agent {i}"), &format!("{}@x", 9 - i)).await);
    }
    agent(s, other, "Agent 0", "zz@x").await;
    let writes: Vec<_> = agents[..5]
        .iter()
        .map(|a| replace(*a, vec![asg(voice, 80)], None))
        .collect();
    s.write_skill_sets(org, &ctx(10), &writes, opts())
        .await
        .unwrap();
    let holders = GridFilter {
        skill: Some(voice),
        ..Default::default()
    };

    // Keyset pages of two, then the last one, which says there is no more.
    let mut all = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let p = s.agent_grid_ids(org, &holders, after, 2).await.unwrap();
        assert!(p.agents.len() <= 2);
        all.extend(p.agents.into_iter().map(|(id, _)| id));
        pages += 1;
        match p.next {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    assert_eq!((all, pages), (agents[..5].to_vec(), 3));

    // The grid's order and filters: by e-mail, and a search.
    let by_email = GridFilter {
        sort: GridSort::Email,
        ..Default::default()
    };
    let p = s.agent_grid_ids(org, &by_email, None, 100).await.unwrap();
    let mut reversed = agents.clone();
    reversed.reverse();
    let ids: Vec<AgentId> = p.agents.iter().map(|(id, _)| *id).collect();
    assert_eq!((ids, p.next), (reversed, None));
    let one = GridFilter {
        search: Some("AGENT 6".into()),
        ..Default::default()
    };
    let p = s.agent_grid_ids(org, &one, None, 100).await.unwrap();
    assert_eq!(p.agents, [(agents[6], "Agent 6".to_string())]);

    // Nothing of another organization.
    let theirs = s
        .agent_grid_ids(other, &GridFilter::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(theirs.agents.len(), 1);
    assert!(!agents.contains(&theirs.agents[0].0));
}
