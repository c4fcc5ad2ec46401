//! Idempotency keys: claimed once, replayed once complete, refused for another body, freed
//! when abandoned, taken over when stale, forgotten when expired, and exactly one claim of
//! many made at once from two stores wins.

use super::db::TestDb;
use super::helpers::new_org;
use skillgrid_core::model::OrgId;
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::*;
use uuid::Uuid;

#[tokio::test]
async fn idempotency_keys() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let s2 = db.store().await;
    let org = new_org(&*s, "o").await;
    let client = ClientId::new(Uuid::now_v7());
    let now = Timestamp(10_000_000_000);

    assert_eq!(
        s.idempotency_begin(org, client, "k", "fp", now)
            .await
            .unwrap(),
        IdempotencyBegin::Fresh
    );
    assert_eq!(
        s2.idempotency_begin(org, client, "k", "fp", now)
            .await
            .unwrap(),
        IdempotencyBegin::InProgress
    );
    assert_eq!(
        s.idempotency_begin(org, client, "k", "other", now)
            .await
            .unwrap(),
        IdempotencyBegin::Mismatch
    );
    // Another client has its own keys.
    assert_eq!(
        s.idempotency_begin(org, ClientId::new(Uuid::now_v7()), "k", "other", now)
            .await
            .unwrap(),
        IdempotencyBegin::Fresh
    );
    s.idempotency_complete(org, client, "k", 207, b"body")
        .await
        .unwrap();
    assert_eq!(
        s2.idempotency_begin(org, client, "k", "fp", now)
            .await
            .unwrap(),
        IdempotencyBegin::Replay {
            status: 207,
            body: b"body".to_vec()
        }
    );
    // Abandoning a completed key does nothing; an abandoned claim is free again.
    s.idempotency_abandon(org, client, "k").await.unwrap();
    assert!(matches!(
        s.idempotency_begin(org, client, "k", "fp", now)
            .await
            .unwrap(),
        IdempotencyBegin::Replay { .. }
    ));
    s.idempotency_begin(org, client, "k2", "fp", now)
        .await
        .unwrap();
    s.idempotency_abandon(org, client, "k2").await.unwrap();
    assert_eq!(
        s.idempotency_begin(org, client, "k2", "fp2", now)
            .await
            .unwrap(),
        IdempotencyBegin::Fresh
    );
    // A stale claim may be taken over; an expired key is forgotten.
    let stale = Timestamp(now.0 + IDEMPOTENCY_STALE_MS + 1);
    assert_eq!(
        s.idempotency_begin(org, client, "k2", "fp2", stale)
            .await
            .unwrap(),
        IdempotencyBegin::Fresh
    );
    let later = Timestamp(now.0 + IDEMPOTENCY_TTL_MS + 1);
    assert_eq!(
        s.idempotency_begin(org, client, "k", "new", later)
            .await
            .unwrap(),
        IdempotencyBegin::Fresh
    );
    assert!(matches!(
        s.idempotency_begin(OrgId::new(Uuid::now_v7()), client, "k", "fp", now)
            .await,
        Err(StoreError::NotFound)
    ));

    // Many claims of one key at once, from two "processes": exactly one is fresh.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let st = if i % 2 == 0 { s.clone() } else { s2.clone() };
        tasks.push(tokio::spawn(async move {
            st.idempotency_begin(org, client, "race", "fp", now)
                .await
                .unwrap()
        }));
    }
    let mut fresh = 0;
    for t in tasks {
        match t.await.unwrap() {
            IdempotencyBegin::Fresh => fresh += 1,
            IdempotencyBegin::InProgress => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(fresh, 1);
}
