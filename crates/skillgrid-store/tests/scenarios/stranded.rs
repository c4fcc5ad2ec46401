//! A settings update whose scale would strand stored proficiencies, checked the same way on
//! every backend: it is refused with the counts beyond each end and the organization's own
//! lowest and highest stored proficiency, and it changes nothing.

use super::db::TestDb;
use super::helpers::{asg, Org};
use skillgrid_core::api::OrgSettings;
use skillgrid_core::model::{OrgId, SkillSetWrite};
use skillgrid_store::*;
use uuid::Uuid;

/// An organization whose agents hold the given proficiencies of one skill, one agent each.
async fn org_holding(s: &dyn Store, name: &str, proficiencies: &[i64]) -> OrgId {
    let org = Org::new(s, name, 1, proficiencies.len()).await;
    if !proficiencies.is_empty() {
        org.write_at(s, &org.agents, 1, |i| {
            SkillSetWrite::Replace(vec![asg(org.skills[0], proficiencies[i])])
        })
        .await;
    }
    org.id
}

fn scale(min: i64, max: i64) -> OrgSettings {
    let mut s = OrgSettings::default();
    s.proficiency_scale.min = min;
    s.proficiency_scale.max = max;
    s.proficiency_scale.default = min;
    s
}

#[tokio::test]
async fn a_scale_that_strands_stored_proficiencies_is_refused() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let s = &*store;
    let org = org_holding(s, "ours", &[30, 50, 80]).await;
    // Another organization's values lie beyond every scale tried below.
    org_holding(s, "theirs", &[-500, 0, 100, 500]).await;
    let empty = org_holding(s, "empty", &[]).await;
    let before = s.settings(org).await.unwrap();

    let refused = |below_min, above_max| {
        Err(Stranded {
            below_min,
            above_max,
            lowest: 30,
            highest: 80,
        })
    };
    assert_eq!(
        s.update_settings(org, &scale(40, 70)).await.unwrap(),
        refused(1, 1)
    );
    assert_eq!(
        s.update_settings(org, &scale(0, 70)).await.unwrap(),
        refused(0, 1)
    );
    assert_eq!(
        s.update_settings(org, &scale(31, 100)).await.unwrap(),
        refused(1, 0)
    );
    assert_eq!(
        s.update_settings(org, &scale(81, 90)).await.unwrap(),
        refused(3, 0)
    );
    assert_eq!(
        s.update_settings(org, &scale(0, 20)).await.unwrap(),
        refused(0, 3)
    );
    assert_eq!(s.settings(org).await.unwrap(), before, "nothing changed");

    // The named extremes are the limits: a scale from one to the other is taken.
    s.update_settings(org, &scale(30, 80))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.settings(org).await.unwrap(), scale(30, 80));
    // Without assignments any scale is.
    s.update_settings(empty, &scale(1000, 2000))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        s.update_settings(OrgId::new(Uuid::now_v7()), &scale(0, 10))
            .await,
        Err(StoreError::NotFound)
    ));
}
