//! Skill-set writes and what they leave: replace and merge, a write that changes nothing,
//! dry runs, atomic and loose writes, preconditions, limits and inactive agents; then each
//! agent's history, the organization's audit log, who holds a skill and the agents' states.

use super::db::TestDb;
use super::helpers::new_org;
use super::helpers::*;
use skillgrid_core::api::{AuditAction, OrgSettings};
use skillgrid_core::model::{AgentId, AgentPatch, Precondition};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::*;
use uuid::Uuid;

#[tokio::test]
async fn skill_set_writes_history_and_audit() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = new_org(&*s, "o").await;
    let other = new_org(&*s, "p").await;
    let k1 = new_skill(&*s, org, "B-skill").await;
    let k2 = new_skill(&*s, org, "A-skill").await;
    let k3 = new_skill(&*s, org, "C-skill").await;
    let a = new_agent(&*s, org, "a@x").await;
    let b = new_agent(&*s, org, "b@x").await;
    let foreign = new_agent(&*s, other, "f@x").await;

    // Replace.
    let r = s
        .write_skill_sets(
            org,
            &ctx(100),
            &[replace(a, vec![asg(k1, 10), asg(k2, 20)], None)],
            opts(),
        )
        .await
        .unwrap();
    assert!(r.committed);
    let (v, plan, skills) = applied(&r.items[0]);
    assert_eq!((v, plan.added.len(), skills.len()), (1, 2, 2));
    let set = s.agent_skills(org, a).await.unwrap();
    assert_eq!((set.version, set.active), (1, true));
    // Ordered by name.
    assert_eq!(
        set.skills.iter().map(|x| x.skill_id).collect::<Vec<_>>(),
        vec![k2, k1]
    );
    assert_eq!(set.skills[0].updated_at, Timestamp(100));

    // The same write again changes nothing and keeps the version.
    let r = s
        .write_skill_sets(
            org,
            &ctx(101),
            &[replace(a, vec![asg(k1, 10), asg(k2, 20)], None)],
            opts(),
        )
        .await
        .unwrap();
    assert!(!r.committed);
    let (v, plan, _) = applied(&r.items[0]);
    assert_eq!((v, plan.unchanged), (1, 2));

    // Merge: update one, add one, remove one.
    let r = s
        .write_skill_sets(
            org,
            &ctx(200),
            &[merge(a, vec![asg(k1, 11), asg(k3, 30)], vec![k2])],
            opts(),
        )
        .await
        .unwrap();
    let (v, plan, skills) = applied(&r.items[0]);
    assert_eq!(
        (
            v,
            plan.added.len(),
            plan.updated.len(),
            plan.removed.len(),
            skills.len()
        ),
        (2, 1, 1, 1, 2)
    );
    let set = s.agent_skills(org, a).await.unwrap();
    assert_eq!(set.version, 2);
    let k1_now = set.skills.iter().find(|x| x.skill_id == k1).unwrap();
    assert_eq!(
        (k1_now.proficiency, k1_now.updated_at),
        (11, Timestamp(200))
    );

    // Dry run: reports the current version and writes nothing.
    let dry = WriteOptions {
        dry_run: true,
        ..opts()
    };
    let r = s
        .write_skill_sets(org, &ctx(300), &[replace(a, vec![], None)], dry)
        .await
        .unwrap();
    assert!(!r.committed);
    let (v, plan, skills) = applied(&r.items[0]);
    assert_eq!((v, plan.removed.len(), skills.len()), (2, 2, 0));
    assert_eq!(s.agent_skills(org, a).await.unwrap().skills.len(), 2);

    // Atomic: one bad item (a foreign agent) and nothing is written.
    let r = s
        .write_skill_sets(
            org,
            &ctx(400),
            &[
                replace(b, vec![asg(k1, 5)], None),
                replace(foreign, vec![], None),
            ],
            opts(),
        )
        .await
        .unwrap();
    assert!(!r.committed);
    assert!(matches!(r.items[1], ItemOutcome::NotFound));
    assert_eq!(s.agent_skills(org, b).await.unwrap().version, 0);

    // Not atomic: the good item is written.
    let loose = WriteOptions {
        atomic: false,
        ..opts()
    };
    let r = s
        .write_skill_sets(
            org,
            &ctx(500),
            &[
                replace(b, vec![asg(k1, 5)], None),
                replace(a, vec![], Some(Precondition::Version(1))),
                replace(AgentId::new(Uuid::now_v7()), vec![], None),
            ],
            loose,
        )
        .await
        .unwrap();
    assert!(r.committed);
    assert_eq!(applied(&r.items[0]).0, 1);
    assert!(matches!(
        r.items[1],
        ItemOutcome::PreconditionFailed { current: 2 }
    ));
    assert!(matches!(r.items[2], ItemOutcome::NotFound));
    assert_eq!(s.agent_skills(org, b).await.unwrap().version, 1);
    assert_eq!(s.agent_skills(org, a).await.unwrap().skills.len(), 2);

    // Preconditions that hold.
    let r = s
        .write_skill_sets(
            org,
            &ctx(600),
            &[replace(
                a,
                vec![asg(k3, 31)],
                Some(Precondition::Version(2)),
            )],
            opts(),
        )
        .await
        .unwrap();
    assert_eq!(applied(&r.items[0]).0, 3);
    let r = s
        .write_skill_sets(
            org,
            &ctx(601),
            &[replace(a, vec![asg(k3, 32)], Some(Precondition::Any))],
            opts(),
        )
        .await
        .unwrap();
    assert_eq!(applied(&r.items[0]).0, 4);

    // Too many skills; an inactive agent.
    let tight = WriteOptions {
        max_skills_per_agent: 1,
        ..opts()
    };
    let r = s
        .write_skill_sets(org, &ctx(700), &[merge(b, vec![asg(k2, 1)], vec![])], tight)
        .await
        .unwrap();
    assert!(matches!(
        r.items[0],
        ItemOutcome::TooManySkills { resulting: 2 }
    ));
    s.update_agent(
        org,
        b,
        &AgentPatch {
            active: Some(false),
            ..Default::default()
        },
        Timestamp(701),
    )
    .await
    .unwrap();
    let r = s
        .write_skill_sets(org, &ctx(702), &[replace(b, vec![], None)], opts())
        .await
        .unwrap();
    assert!(matches!(r.items[0], ItemOutcome::Inactive));
    assert!(!s.agent_skills(org, b).await.unwrap().active);

    // History: newest first, paged.
    let h = s.agent_history(org, a, page(100)).await.unwrap();
    // 2 added; 1 added + 1 updated + 1 removed; 1 removed + 1 updated; 1 updated.
    assert_eq!(h.items.len(), 2 + 3 + 2 + 1);
    assert_eq!(h.items[0].action, AuditAction::Updated);
    assert_eq!(h.items[0].request_id, "req-601");
    assert_eq!(h.items[0].before.unwrap().proficiency, 31);
    assert_eq!(h.items[0].after.unwrap().proficiency, 32);
    let h1 = s.agent_history(org, a, page(4)).await.unwrap();
    let h2 = s
        .agent_history(
            org,
            a,
            PageRequest {
                after: h1.next,
                limit: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!((h1.items.len(), h2.items.len(), h2.next), (4, 4, None));
    assert_eq!(h2.items[3].id, h.items[7].id);
    assert!(matches!(
        s.agent_history(other, a, page(1)).await,
        Err(StoreError::NotFound)
    ));

    // The org-wide log: oldest first, since, paged.
    let log = s.audit_log(org, None, page(100)).await.unwrap();
    assert_eq!(log.items.len(), 8 + 1);
    assert_eq!(log.items[0].action, AuditAction::Added);
    assert!(log.items[0].before.is_none());
    assert_eq!(log.items[0].at, Timestamp(100));
    let since = s
        .audit_log(org, Some(Timestamp(500)), page(100))
        .await
        .unwrap();
    assert_eq!(since.items.len(), 1 + 2 + 1);
    let first = s.audit_log(org, None, page(3)).await.unwrap();
    let rest = s
        .audit_log(
            org,
            None,
            PageRequest {
                after: first.next,
                limit: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 6);
    assert!(s
        .audit_log(other, None, page(10))
        .await
        .unwrap()
        .items
        .is_empty());

    // Who holds k1: b only now (a dropped it); k3: a.
    let holders = s.skill_holders(org, k3, page(10)).await.unwrap();
    assert_eq!(holders.items.len(), 1);
    assert_eq!(holders.items[0].agent.id, a);
    assert_eq!(holders.items[0].assignment.proficiency, 32);
    let holders = s.skill_holders(org, k1, page(10)).await.unwrap();
    assert_eq!(holders.items.len(), 1);
    assert_eq!(holders.items[0].agent.id, b);
    assert!(matches!(
        s.skill_holders(other, k1, page(10)).await,
        Err(StoreError::NotFound)
    ));

    // Agent states.
    let states = s
        .agent_states(org, &[a, b, foreign, AgentId::new(Uuid::now_v7())])
        .await
        .unwrap();
    assert_eq!(states.len(), 2);
    assert_eq!(
        states[&a],
        AgentState {
            version: 4,
            active: true
        }
    );
    assert_eq!(
        states[&b],
        AgentState {
            version: 1,
            active: false
        }
    );
    assert!(s.agent_states(org, &[]).await.unwrap().is_empty());

    // A scale that strands stored proficiencies is refused: b's 5 lies below it, a's 32
    // above (a's 11 fits).
    let mut narrow = OrgSettings::default();
    narrow.proficiency_scale.min = 10;
    narrow.proficiency_scale.max = 20;
    narrow.proficiency_scale.default = 15;
    assert_eq!(
        s.update_settings(org, &narrow).await.unwrap(),
        Err(Stranded {
            below_min: 1,
            above_max: 1,
            lowest: 5,
            highest: 32
        })
    );
}
