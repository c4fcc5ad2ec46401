//! API clients, checked the same way on every backend: each change is audited in its own
//! transaction, moves the organization's generation and shows in its snapshot, and nothing of
//! another organization's clients can be read or changed.

use super::db::TestDb;
use super::helpers::{by, new_org};
use skillgrid_core::api::ClientAuditAction;
use skillgrid_core::model::OrgId;
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::*;
use uuid::Uuid;

fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn api_clients_are_audited_revocable_and_kept_to_their_organization() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let s = &*store;
    let org = new_org(s, "clients").await;
    let other = new_org(s, "others").await;
    let read_write = scopes(&["admin:agent:read", "admin:agent:write"]);
    let g0 = s.org_generation(org).await.unwrap();
    let c = s
        .create_client(org, "importer", "h1", &read_write, &by("r1", 10))
        .await
        .unwrap();
    assert_eq!(
        (c.active, c.token_epoch, c.created_at),
        (true, 0, Timestamp(10))
    );
    let g1 = s.org_generation(org).await.unwrap();
    assert!(g1 > g0, "a client created moves the generation");
    let grant = |snap: &OrgSnapshot| snap.clients.iter().find(|g| g.id == c.id).cloned();
    let snap = s.org_snapshot(org).await.unwrap();
    assert_eq!(
        grant(&snap),
        Some(ClientGrant {
            id: c.id,
            active: true,
            token_epoch: 0,
            scopes: read_write.clone()
        })
    );

    // Disabled: the epoch moves; enabled again: it stays.
    let off = ClientChange {
        active: Some(false),
        ..Default::default()
    };
    let d = s
        .update_client(org, c.id, &off, &by("r2", 20))
        .await
        .unwrap();
    assert_eq!(
        (d.active, d.token_epoch, d.updated_at),
        (false, 1, Timestamp(20))
    );
    let g2 = s.org_generation(org).await.unwrap();
    assert!(g2 > g1, "a client disabled moves the generation");
    let snap = s.org_snapshot(org).await.unwrap();
    assert_eq!(
        grant(&snap).map(|g| (g.active, g.token_epoch)),
        Some((false, 1))
    );
    let on = ClientChange {
        active: Some(true),
        ..Default::default()
    };
    s.update_client(org, c.id, &on, &by("r3", 30))
        .await
        .unwrap();
    // A change to what is already there writes nothing, not even an audit entry.
    let g3 = s.org_generation(org).await.unwrap();
    s.update_client(org, c.id, &on, &by("r4", 40))
        .await
        .unwrap();
    assert_eq!(s.org_generation(org).await.unwrap(), g3);

    // A rotation: new hash, moved epoch, found by the token endpoint's lookup.
    let rotate = ClientChange {
        secret_hash: Some("h2".into()),
        ..Default::default()
    };
    let r = s
        .update_client(org, c.id, &rotate, &by("r5", 50))
        .await
        .unwrap();
    let found = s.find_client(c.id).await.unwrap().unwrap();
    assert_eq!(
        (
            found.secret_hash.as_str(),
            found.token_epoch,
            found.secret_created_at,
            found.org_id
        ),
        ("h2", 2, Timestamp(50), org)
    );
    assert_eq!(r.token_epoch, 2);

    // Checked against scopes that have moved: refused, nothing changed.
    let stale = ClientChange {
        name: Some("renamed".into()),
        if_scopes: Some(scopes(&["admin:agent:read"])),
        ..Default::default()
    };
    assert!(matches!(
        s.update_client(org, c.id, &stale, &by("r6", 60)).await,
        Err(StoreError::Conflict(Conflict::ScopesChanged))
    ));
    assert_eq!(s.get_client(org, c.id).await.unwrap().name, "importer");

    // Another organization sees none of it and changes none of it.
    assert!(matches!(
        s.get_client(other, c.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.update_client(other, c.id, &off, &by("x", 61)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_client(other, c.id, None, &by("x", 62)).await,
        Err(StoreError::NotFound)
    ));
    let page = PageRequest {
        after: None,
        limit: 100,
    };
    assert!(s.list_clients(other, page).await.unwrap().items.is_empty());
    assert!(s
        .client_audit(other, None, page)
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(s.org_snapshot(other).await.unwrap().clients.is_empty());

    // Pages of clients, oldest first.
    let second = s
        .create_client(
            org,
            "reader",
            "h3",
            &scopes(&["admin:skill:read"]),
            &by("r7", 70),
        )
        .await
        .unwrap();
    let first_page = s
        .list_clients(
            org,
            PageRequest {
                after: None,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        first_page.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        [c.id]
    );
    let rest = s
        .list_clients(
            org,
            PageRequest {
                after: first_page.next,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        [second.id]
    );
    assert!(rest.next.is_none());

    // Deleted: gone from the snapshot and the lookups; its audit entries stay.
    let g4 = s.org_generation(org).await.unwrap();
    let gone = s
        .delete_client(org, c.id, Some(&read_write), &by("r8", 80))
        .await
        .unwrap();
    assert_eq!(gone.name, "importer");
    assert!(s.org_generation(org).await.unwrap() > g4);
    assert!(grant(&s.org_snapshot(org).await.unwrap()).is_none());
    assert!(s.find_client(c.id).await.unwrap().is_none());

    let audit = s.client_audit(org, None, page).await.unwrap().items;
    let mine: Vec<(&str, ClientAuditAction)> = audit
        .iter()
        .filter(|e| e.client_id == c.id)
        .map(|e| (e.request_id.as_str(), e.action))
        .collect();
    use ClientAuditAction::*;
    assert_eq!(
        mine,
        [
            ("r1", Created),
            ("r2", Updated),
            ("r3", Updated),
            ("r5", SecretRotated),
            ("r8", Deleted)
        ]
    );
    let created = &audit[0];
    assert!(created.before.is_none() && created.actor.is_none());
    assert_eq!(created.after.as_ref().unwrap().scopes, read_write);
    let disabled = &audit[1];
    assert_eq!(
        (
            disabled.before.as_ref().unwrap().active,
            disabled.after.as_ref().unwrap().active
        ),
        (true, false)
    );
    let deleted = audit.iter().find(|e| e.action == Deleted).unwrap();
    assert!(deleted.after.is_none());
    assert_eq!(deleted.before.as_ref().unwrap().name, "importer");
    // `since` keeps the entries at or after it.
    let since = s
        .client_audit(org, Some(Timestamp(70)), page)
        .await
        .unwrap()
        .items;
    assert_eq!(
        since
            .iter()
            .map(|e| e.request_id.as_str())
            .collect::<Vec<_>>(),
        ["r7", "r8"]
    );
    assert!(matches!(
        s.create_client(OrgId::new(Uuid::now_v7()), "x", "h", &[], &by("x", 1))
            .await,
        Err(StoreError::NotFound)
    ));
}
