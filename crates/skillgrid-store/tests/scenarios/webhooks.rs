//! Webhook endpoints, checked the same way on every backend: secrets stored as they are and
//! read back, rotations and replays, delivery attempts newest first, every change in the
//! administrative audit trail without a secret, and nothing of another organization's
//! endpoints readable or changeable.

use super::db::TestDb;
use super::helpers::{by, new_org, page};
use skillgrid_core::api::{AdminAuditAction, AdminAuditKind};
use skillgrid_core::model::NewWebhook;
use skillgrid_core::timestamp::Timestamp;
use skillgrid_core::webhooks::signing::WebhookSecret;
use skillgrid_store::*;
use uuid::Uuid;

fn new_hook(url: &str) -> NewWebhook {
    NewWebhook {
        url: url.into(),
        event_types: vec!["skill.created".into(), "agent.updated".into()],
        active: true,
    }
}

#[tokio::test]
async fn webhooks_keep_their_secrets_rotate_replay_and_stay_in_their_organization() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let s = &*store;
    let org = new_org(s, "hooks").await;
    let other = new_org(s, "others").await;
    let first = WebhookSecret::from_key(&[3; 32]);
    let w = s
        .create_webhook(
            org,
            &new_hook("https://a.example.com/h"),
            &first,
            &by("r1", 10),
        )
        .await
        .unwrap();
    let read = s.get_webhook(org, w.id).await.unwrap();
    assert_eq!(
        (read.url.as_str(), read.event_types.clone(), read.active),
        ("https://a.example.com/h", w.event_types.clone(), true)
    );
    assert_eq!(
        (read.secret.clone(), read.secret_created_at),
        (first.clone(), Timestamp(10))
    );
    assert_eq!(
        (read.delivered_through, read.previous_secret.is_none()),
        (0, true)
    );

    // Another organization reads, changes and deletes nothing of it.
    assert!(matches!(
        s.get_webhook(other, w.id).await,
        Err(StoreError::NotFound)
    ));
    let off = WebhookChange {
        active: Some(false),
        ..Default::default()
    };
    assert!(matches!(
        s.update_webhook(other, w.id, &off, &by("x", 11)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_webhook(other, w.id, &by("x", 11)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.webhook_deliveries(other, w.id, page(10)).await,
        Err(StoreError::NotFound)
    ));
    assert!(s
        .list_webhooks(other, page(10))
        .await
        .unwrap()
        .items
        .is_empty());

    // A rotation keeps the previous secret until the overlap ends; a replay moves the cursor.
    let second = WebhookSecret::from_key(&[4; 32]);
    let rotate = WebhookChange {
        rotate: Some((second.clone(), 5_000)),
        ..Default::default()
    };
    s.update_webhook(org, w.id, &rotate, &by("r2", 20))
        .await
        .unwrap();
    let replay = WebhookChange {
        replay_from: Some(9),
        ..Default::default()
    };
    s.update_webhook(org, w.id, &replay, &by("r3", 30))
        .await
        .unwrap();
    let read = s.get_webhook(org, w.id).await.unwrap();
    assert_eq!(read.secret, second);
    assert_eq!(
        read.previous_secret,
        Some((first.clone(), Timestamp(5_020)))
    );
    assert_eq!(read.signing_secrets(Timestamp(5_019)), [&second, &first]);
    assert_eq!(read.delivered_through, 8);
    // The same change again writes nothing.
    let same = WebhookChange {
        url: Some(read.url.clone()),
        ..Default::default()
    };
    s.update_webhook(org, w.id, &same, &by("r4", 40))
        .await
        .unwrap();

    // Attempts, newest first, their excerpt cut to 1 KB.
    for attempt in 1..=3 {
        let d = DeliveryRecord {
            id: Uuid::now_v7(),
            event_id: Uuid::now_v7(),
            sequence: 9,
            attempt,
            at: Timestamp(100 + attempt as i64),
            status: None,
            error: Some("connection refused".into()),
            latency_ms: 3,
            response_head: Some("é".repeat(2000)),
            next_attempt_at: Some(Timestamp(200)),
        };
        s.record_webhook_delivery(org, w.id, &d).await.unwrap();
    }
    let p = s.webhook_deliveries(org, w.id, page(2)).await.unwrap();
    let attempts: Vec<i32> = p.items.iter().map(|d| d.attempt).collect();
    assert_eq!(attempts, [3, 2]);
    assert_eq!(p.items[0].response_head.as_ref().unwrap().len(), 1024);
    let rest = s
        .webhook_deliveries(
            org,
            w.id,
            PageRequest {
                after: p.next,
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|d| d.attempt).collect::<Vec<_>>(),
        [1]
    );

    // Deleted: its attempts go with it; the audit trail keeps what it was, without a secret.
    let gone = s.delete_webhook(org, w.id, &by("r5", 50)).await.unwrap();
    assert_eq!(gone.id, w.id);
    assert!(matches!(
        s.get_webhook(org, w.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(db.count("SELECT count(*) FROM webhook_deliveries").await, 0);
    let trail = s.admin_audit(org, None, page(100)).await.unwrap();
    let hooks: Vec<(AdminAuditAction, String, bool)> = trail
        .items
        .iter()
        .filter(|e| e.kind == AdminAuditKind::Webhook)
        .map(|e| (e.action, e.request_id.clone(), e.after.is_none()))
        .collect();
    assert_eq!(
        hooks,
        [
            (AdminAuditAction::Created, "r1".to_string(), false),
            (AdminAuditAction::Updated, "r2".to_string(), false),
            (AdminAuditAction::Updated, "r3".to_string(), false),
            (AdminAuditAction::Deleted, "r5".to_string(), true),
        ]
    );
    for secret in [&first, &second] {
        let key = &secret.expose()["whsec_".len()..];
        let sql = format!(
            "SELECT count(*) FROM admin_audit WHERE before LIKE '%{key}%' OR after LIKE '%{key}%'"
        );
        assert_eq!(db.count(&sql).await, 0);
    }
    assert!(s
        .admin_audit(other, None, page(100))
        .await
        .unwrap()
        .items
        .is_empty());
}
