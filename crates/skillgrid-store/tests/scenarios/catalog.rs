//! Skills and agents: names and emails unique per organization whatever their case, paging
//! and filters, updates that conflict, change or change nothing, a skill held by agents that
//! cannot be deleted, and nothing of another organization's.

use super::db::TestDb;
use super::helpers::new_org;
use super::helpers::*;
use skillgrid_core::model::{AgentPatch, NewAgent, NewSkill, OrgId, SkillPatch};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::*;
use uuid::Uuid;

#[tokio::test]
async fn skills_and_agents_crud() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let org = new_org(&*s, "o").await;
    let other = new_org(&*s, "p").await;

    let billing = new_skill(&*s, org, "Billing").await;
    let _sales = new_skill(&*s, org, "Sales").await;
    assert!(matches!(
        s.create_skill(
            org,
            &NewSkill {
                name: "BILLING".into(),
                description: None
            },
            Timestamp(2)
        )
        .await,
        Err(StoreError::Conflict(Conflict::Taken(Unique::SkillName)))
    ));
    // Names are per organization.
    new_skill(&*s, other, "Billing").await;
    assert!(matches!(
        s.create_skill(
            OrgId::new(Uuid::now_v7()),
            &NewSkill {
                name: "x".into(),
                description: None
            },
            Timestamp(2)
        )
        .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.get_skill(other, billing).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.catalog(org).await.unwrap().len(), 2);

    // Paging and filters.
    let p1 = s
        .list_skills(org, &SkillFilter::default(), page(1))
        .await
        .unwrap();
    assert_eq!(p1.items.len(), 1);
    let p2 = s
        .list_skills(
            org,
            &SkillFilter::default(),
            PageRequest {
                after: p1.next,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!((p2.items.len(), p2.next), (1, None));
    assert_ne!(p1.items[0].id, p2.items[0].id);
    let by_name = s
        .list_skills(
            org,
            &SkillFilter {
                name: Some("billING".into()),
                active: None,
            },
            page(10),
        )
        .await
        .unwrap();
    assert_eq!(by_name.items.len(), 1);
    assert_eq!(by_name.items[0].id, billing);

    // Updates: a conflict, a change, a no-op.
    assert!(matches!(
        s.update_skill(
            org,
            billing,
            &SkillPatch {
                name: Some("sales".into()),
                ..Default::default()
            },
            Timestamp(5)
        )
        .await,
        Err(StoreError::Conflict(Conflict::Taken(Unique::SkillName)))
    ));
    let u = s
        .update_skill(
            org,
            billing,
            &SkillPatch {
                active: Some(false),
                description: Some(Some("d".into())),
                ..Default::default()
            },
            Timestamp(6),
        )
        .await
        .unwrap();
    assert_eq!(
        (u.active, u.description.as_deref(), u.updated_at),
        (false, Some("d"), Timestamp(6))
    );
    let u = s
        .update_skill(org, billing, &SkillPatch::default(), Timestamp(7))
        .await
        .unwrap();
    assert_eq!(u.updated_at, Timestamp(6));
    let inactive = s
        .list_skills(
            org,
            &SkillFilter {
                name: None,
                active: Some(false),
            },
            page(10),
        )
        .await
        .unwrap();
    assert_eq!(inactive.items.len(), 1);
    assert!(matches!(
        s.update_skill(other, billing, &SkillPatch::default(), Timestamp(7))
            .await,
        Err(StoreError::NotFound)
    ));

    // Agents.
    let a = new_agent(&*s, org, "Ann@Example.com").await;
    let b = new_agent(&*s, org, "bob@example.com").await;
    assert!(matches!(
        s.create_agent(
            org,
            &NewAgent {
                email: "ann@EXAMPLE.com".into(),
                name: "x".into(),
                external_id: None
            },
            Timestamp(2)
        )
        .await,
        Err(StoreError::Conflict(Conflict::Taken(Unique::AgentEmail)))
    ));
    assert!(matches!(
        s.update_agent(
            org,
            b,
            &AgentPatch {
                email: Some("ANN@example.com".into()),
                ..Default::default()
            },
            Timestamp(3)
        )
        .await,
        Err(StoreError::Conflict(Conflict::Taken(Unique::AgentEmail)))
    ));
    let upd = s
        .update_agent(
            org,
            b,
            &AgentPatch {
                name: Some("Bob".into()),
                external_id: Some(Some("E1".into())),
                ..Default::default()
            },
            Timestamp(3),
        )
        .await
        .unwrap();
    assert_eq!(
        (upd.name.as_str(), upd.external_id.as_deref()),
        ("Bob", Some("E1"))
    );
    let got = s.get_agent(org, a).await.unwrap();
    assert_eq!(got.email, "Ann@Example.com");
    assert!(matches!(
        s.get_agent(other, a).await,
        Err(StoreError::NotFound)
    ));
    let found = s
        .list_agents(
            org,
            &AgentFilter {
                email: Some("ann@example.com".into()),
                active: None,
            },
            page(10),
        )
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(
        s.list_agents(org, &AgentFilter::default(), page(10))
            .await
            .unwrap()
            .items
            .len(),
        2
    );

    // Deleting: in use, then free.
    let sales = s.catalog(org).await.unwrap();
    let sales = sales.iter().find(|c| c.name == "Sales").unwrap().id;
    s.write_skill_sets(
        org,
        &ctx(10),
        &[replace(a, vec![asg(sales, 10)], None)],
        opts(),
    )
    .await
    .unwrap();
    assert!(matches!(
        s.delete_skill(org, sales).await,
        Err(StoreError::InUse { count: 1 })
    ));
    assert!(matches!(
        s.delete_skill(other, billing).await,
        Err(StoreError::NotFound)
    ));
    s.delete_skill(org, billing).await.unwrap();
    assert!(matches!(
        s.get_skill(org, billing).await,
        Err(StoreError::NotFound)
    ));
}
