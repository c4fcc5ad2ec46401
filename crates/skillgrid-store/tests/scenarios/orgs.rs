//! Organizations, their API clients' records, settings and the signing key: names unique
//! whatever their case, lookups by id or name, an organization and its first client made
//! together or not at all, and one signing key for every process.

use super::db::TestDb;
use super::helpers::*;
use skillgrid_core::api::OrgSettings;
use skillgrid_core::model::OrgId;
use skillgrid_store::*;
use uuid::Uuid;

#[tokio::test]
async fn orgs_clients_settings_and_signing_key() {
    let db = TestDb::new().await;
    let s = db.store().await;
    // Opening again (another process starting) re-runs nothing and works.
    let _again = db.store().await;

    assert_eq!(s.org_count().await.unwrap(), 0);
    let org = s
        .create_org("Default", &OrgSettings::default())
        .await
        .unwrap();
    assert!(matches!(
        s.create_org("DEFAULT", &OrgSettings::default()).await,
        Err(StoreError::Conflict(Conflict::Taken(Unique::OrgName)))
    ));
    assert_eq!(s.org_count().await.unwrap(), 1);
    assert_eq!(s.find_org("default").await.unwrap().unwrap().id, org.id);
    assert_eq!(
        s.find_org(&org.id.to_string().to_uppercase())
            .await
            .unwrap()
            .unwrap()
            .name,
        "Default"
    );
    assert!(s.find_org("nope").await.unwrap().is_none());

    let scopes = vec![
        "admin:org:read".to_string(),
        "admin:skill:write".to_string(),
    ];
    let c = s
        .create_client(org.id, "bootstrap", "hash", &scopes, &cli())
        .await
        .unwrap();
    let found = s.find_client(c.id).await.unwrap().unwrap();
    assert_eq!(
        (found.org_id, found.name.as_str(), found.scopes),
        (org.id, "bootstrap", scopes.clone())
    );
    assert!(s
        .find_client(ClientId::new(Uuid::now_v7()))
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        s.create_client(OrgId::new(Uuid::now_v7()), "x", "h", &[], &cli())
            .await,
        Err(StoreError::NotFound)
    ));

    assert_eq!(s.settings(org.id).await.unwrap(), OrgSettings::default());
    let new = OrgSettings {
        require_if_match: true,
        ..Default::default()
    };
    s.update_settings(org.id, &new).await.unwrap().unwrap();
    assert!(s.settings(org.id).await.unwrap().require_if_match);
    assert!(matches!(
        s.update_settings(OrgId::new(Uuid::now_v7()), &new).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.settings(OrgId::new(Uuid::now_v7())).await,
        Err(StoreError::NotFound)
    ));

    // An organization with its first client, in one transaction; a name taken leaves
    // neither behind.
    let (o2, c2) = s
        .create_org_with_client(
            "Second",
            &OrgSettings::default(),
            "first",
            "h2",
            &scopes,
            &cli(),
        )
        .await
        .unwrap();
    let found = s.find_client(c2.id).await.unwrap().unwrap();
    assert_eq!((found.org_id, found.name.as_str()), (o2.id, "first"));
    assert!(matches!(
        s.create_org_with_client(
            "second",
            &OrgSettings::default(),
            "again",
            "h3",
            &scopes,
            &cli()
        )
        .await,
        Err(StoreError::Conflict(Conflict::Taken(Unique::OrgName)))
    ));
    assert_eq!(s.org_count().await.unwrap(), 2);

    let k = s.signing_key(vec![1, 2, 3]).await.unwrap();
    assert_eq!(k, vec![1, 2, 3]);
    assert_eq!(_again.signing_key(vec![9]).await.unwrap(), vec![1, 2, 3]);
    s.ping().await.unwrap();
}
