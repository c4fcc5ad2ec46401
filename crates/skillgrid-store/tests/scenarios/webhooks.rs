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

fn skill(name: &str) -> skillgrid_core::model::NewSkill {
    skillgrid_core::model::NewSkill {
        name: name.into(),
        description: None,
    }
}

fn attempt(sequence: i64, at: i64, status: Option<i32>) -> DeliveryRecord {
    DeliveryRecord {
        id: Uuid::now_v7(),
        event_id: Uuid::now_v7(),
        sequence,
        attempt: 1,
        at: Timestamp(at),
        status,
        error: status.is_none().then(|| "could not connect".into()),
        latency_ms: 3,
        response_head: None,
        next_attempt_at: None,
    }
}

#[tokio::test]
async fn a_dispatcher_holds_a_webhook_alone_and_moves_it_only_while_it_holds_it() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let s = &*store;
    let org = new_org(s, "claims").await;
    let other = new_org(s, "bystander").await;
    let secret = WebhookSecret::from_key(&[5; 32]);
    let mut new = new_hook("https://hooks.example.com/c");
    new.event_types = vec!["*".into()];
    let w = s
        .create_webhook(org, &new, &secret, &by("r1", 1_000))
        .await
        .unwrap();
    let t = 10_000;
    // No event yet: nothing is due.
    assert!(s
        .claim_webhook("a", Timestamp(t), Timestamp(t + 30))
        .await
        .unwrap()
        .is_none());
    s.create_skill(org, &skill("Chat"), Timestamp(t))
        .await
        .unwrap();
    s.create_skill(other, &skill("Chat"), Timestamp(t))
        .await
        .unwrap();
    // Claimed by one; the other finds nothing while the lease lasts, even all at once.
    let claim = |owner: &'static str| async move {
        s.claim_webhook(owner, Timestamp(t), Timestamp(t + 30))
            .await
            .unwrap()
            .map(|c| (owner, c))
    };
    let (p0, p1, p2, p3) = tokio::join!(claim("p0"), claim("p1"), claim("p2"), claim("p3"));
    let claims = [p0, p1, p2, p3];
    let held: Vec<_> = claims.into_iter().flatten().collect();
    assert_eq!(held.len(), 1, "one claim of one webhook");
    let (a, c) = &held[0];
    assert_eq!(c.webhook.id, w.id);
    assert_eq!((c.webhook.delivered_through, c.head, c.attempts), (0, 1, 0));
    // Past the lease, another takes it over; the first can no longer move it.
    let b = s
        .claim_webhook("b", Timestamp(t + 31), Timestamp(t + 61))
        .await
        .unwrap()
        .expect("taken over");
    assert_eq!(b.webhook.id, w.id);
    let done = Progress::Delivered { through: 1 };
    let ok = attempt(1, t + 31, Some(204));
    assert!(!s
        .webhook_progress(w.id, a, 0, std::slice::from_ref(&ok), &done)
        .await
        .unwrap());
    assert!(s
        .renew_webhook_lease(w.id, a, Timestamp(t + 90))
        .await
        .unwrap()
        .is_none());
    assert!(s
        .webhook_progress(w.id, "b", 0, std::slice::from_ref(&ok), &done)
        .await
        .unwrap());
    // A cursor that moved meanwhile (a replay) is not moved again from where it was.
    assert!(!s.webhook_progress(w.id, "b", 0, &[], &done).await.unwrap());
    assert_eq!(s.get_webhook(org, w.id).await.unwrap().delivered_through, 1);
    // A failure: let go until the retry is due, with the attempts counted.
    s.create_skill(org, &skill("Voice"), Timestamp(t))
        .await
        .unwrap();
    let renewed = s
        .renew_webhook_lease(w.id, "b", Timestamp(t + 70))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((renewed.webhook.delivered_through, renewed.head), (1, 2));
    let retry = Progress::Retry {
        attempts: 1,
        failing_since: Timestamp(t + 40),
        next_at: Timestamp(t + 500),
    };
    assert!(s
        .webhook_progress(w.id, "b", 1, &[attempt(2, t + 40, None)], &retry)
        .await
        .unwrap());
    assert!(s
        .claim_webhook("c", Timestamp(t + 499), Timestamp(t + 530))
        .await
        .unwrap()
        .is_none());
    let again = s
        .claim_webhook("c", Timestamp(t + 500), Timestamp(t + 530))
        .await
        .unwrap()
        .expect("due again");
    assert_eq!(again.attempts, 1);
    assert_eq!(again.failing_since, Some(Timestamp(t + 40)));
    // Disabled, then enabled again: no retries behind it, due at once.
    assert!(s
        .webhook_progress(w.id, "c", 1, &[], &Progress::Release)
        .await
        .unwrap());
    for active in [false, true] {
        let change = WebhookChange {
            active: Some(active),
            ..Default::default()
        };
        s.update_webhook(org, w.id, &change, &by("r2", t + 600))
            .await
            .unwrap();
    }
    let fresh = s
        .claim_webhook("d", Timestamp(t + 601), Timestamp(t + 631))
        .await
        .unwrap()
        .expect("due");
    assert_eq!((fresh.attempts, fresh.failing_since), (0, None));
    // Every attempt recorded, newest first; pruned with the organization's old rows only.
    let listed = s.webhook_deliveries(org, w.id, page(10)).await.unwrap();
    let statuses: Vec<_> = listed.items.iter().map(|d| d.status).collect();
    assert_eq!(statuses, [None, Some(204), Some(204)]);
    assert_eq!(
        s.prune_webhook_deliveries(other, Timestamp(t + 1_000), 100)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.prune_webhook_deliveries(org, Timestamp(t + 35), 100)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        s.webhook_deliveries(org, w.id, page(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}
