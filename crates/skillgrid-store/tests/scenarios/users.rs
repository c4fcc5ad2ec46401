//! People and sessions, checked the same way on every backend: a user's e-mail is unique in
//! their organization only, a session lives while it is used and its user is active, and
//! nothing of another organization's users can be read or changed.

use super::db::TestDb;
use super::helpers::new_org;
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::*;

const MINUTE: i64 = 60_000;

fn by(now: i64) -> ChangedBy {
    ChangedBy {
        request_id: "r".into(),
        client: None,
        now: Timestamp(now),
    }
}

fn new_user(email: &str, role: Role) -> NewUser {
    NewUser {
        email: email.into(),
        role,
        password_hash: "$argon2id$stand-in".into(),
        must_change_password: true,
    }
}

fn new_session(token: u8, user: &UserRecord, now: i64) -> NewSession {
    NewSession {
        token_hash: [token; 32],
        user_id: user.id,
        org_id: user.org_id,
        csrf_token: format!("csrf-{token}"),
        now: Timestamp(now),
        idle_ms: 30 * MINUTE,
        absolute_expires_at: Timestamp(now + 12 * 60 * MINUTE),
    }
}

#[tokio::test]
async fn users_are_kept_to_their_organization_and_sessions_end() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let s = &*store;
    let org = new_org(s, "people").await;
    let other = new_org(s, "strangers").await;

    let ada = s
        .create_user(org, &new_user("Ada@Example.com", Role::Editor), &by(10))
        .await
        .unwrap();
    assert_eq!(
        (ada.role, ada.active, ada.must_change_password, ada.org_id),
        (Role::Editor, true, true, org)
    );
    // The user's changes are recorded under a client of their own, which holds no scopes.
    let client = s.get_client(org, ada.client_id).await.unwrap();
    assert_eq!(client.name, "console: Ada@Example.com");
    assert!(client.scopes.is_empty());

    // The e-mail is unique in the organization, whatever its case; another may reuse it.
    let taken = s
        .create_user(org, &new_user("ada@example.COM", Role::Viewer), &by(11))
        .await
        .unwrap_err();
    assert!(
        matches!(
            taken,
            StoreError::Conflict(Conflict::Taken(Unique::UserEmail))
        ),
        "{taken:?}"
    );
    let twin = s
        .create_user(other, &new_user("ada@example.com", Role::Admin), &by(12))
        .await
        .unwrap();

    // Found by e-mail in any case, in its own organization only.
    let found = s.find_user(org, "ADA@example.com").await.unwrap().unwrap();
    assert_eq!(found, ada);
    assert_eq!(s.get_user(org, ada.id).await.unwrap(), ada);
    assert!(matches!(
        s.get_user(other, ada.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        s.find_user(other, "ada@example.com").await.unwrap(),
        Some(twin.clone())
    );
    assert_eq!(s.list_users(org).await.unwrap(), vec![ada.clone()]);
    let change = UserChange {
        active: Some(false),
        ..Default::default()
    };
    assert!(matches!(
        s.update_user(other, ada.id, &change, Timestamp(13)).await,
        Err(StoreError::NotFound)
    ));

    // A new password, no longer to be changed.
    let changed = s
        .update_user(
            org,
            ada.id,
            &UserChange {
                password: Some(("$argon2id$own".into(), false)),
                ..Default::default()
            },
            Timestamp(20),
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.password_hash.as_str(), changed.must_change_password),
        ("$argon2id$own", false)
    );
    assert_eq!(changed.updated_at, Timestamp(20));

    // A session is found by its token's hash and carries its user and anti-forgery token.
    let t0 = 1_000 * MINUTE;
    s.create_session(&new_session(1, &ada, t0)).await.unwrap();
    let live = s
        .session(&[1; 32], Timestamp(t0 + MINUTE), 30 * MINUTE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.user.id, ada.id);
    assert_eq!(live.csrf_token, "csrf-1");
    assert!(s
        .session(&[9; 32], Timestamp(t0), 30 * MINUTE)
        .await
        .unwrap()
        .is_none());

    // Used, it lives on past its first idle expiry; unused for longer, it ends.
    let used = Timestamp(t0 + 20 * MINUTE);
    let touched = s
        .session(&[1; 32], used, 30 * MINUTE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touched.idle_expires_at, Timestamp(used.0 + 30 * MINUTE));
    assert!(s
        .session(&[1; 32], Timestamp(t0 + 40 * MINUTE), 30 * MINUTE)
        .await
        .unwrap()
        .is_some());
    assert!(s
        .session(&[1; 32], Timestamp(t0 + 71 * MINUTE), 30 * MINUTE)
        .await
        .unwrap()
        .is_none());

    // However it is used, it ends at its absolute expiry.
    s.create_session(&new_session(2, &ada, t0)).await.unwrap();
    let mut now = t0;
    while now < t0 + 12 * 60 * MINUTE - 20 * MINUTE {
        now += 20 * MINUTE;
        assert!(s
            .session(&[2; 32], Timestamp(now), 30 * MINUTE)
            .await
            .unwrap()
            .is_some());
    }
    assert!(s
        .session(&[2; 32], Timestamp(t0 + 12 * 60 * MINUTE), 30 * MINUTE)
        .await
        .unwrap()
        .is_none());

    // A new password ends every other session of the user.
    s.create_session(&new_session(8, &ada, t0)).await.unwrap();
    s.create_session(&new_session(9, &ada, t0)).await.unwrap();
    let new_password = UserChange {
        password: Some(("$argon2id$newer".into(), false)),
        keep_session: Some([8; 32]),
        ..Default::default()
    };
    s.update_user(org, ada.id, &new_password, Timestamp(t0))
        .await
        .unwrap();
    let live = |token: u8| async move {
        s.session(&[token; 32], Timestamp(t0), 30 * MINUTE)
            .await
            .unwrap()
            .is_some()
    };
    assert!(live(8).await);
    assert!(!live(9).await);

    // Signing out ends one session.
    s.create_session(&new_session(3, &ada, t0)).await.unwrap();
    s.delete_session(&[3; 32]).await.unwrap();
    s.delete_session(&[3; 32]).await.unwrap();
    assert!(s
        .session(&[3; 32], Timestamp(t0), 30 * MINUTE)
        .await
        .unwrap()
        .is_none());

    // Disabling the user ends every session of theirs at once, and starts no new one.
    s.create_session(&new_session(4, &ada, t0)).await.unwrap();
    s.create_session(&new_session(5, &twin, t0)).await.unwrap();
    let off = s
        .update_user(org, ada.id, &change, Timestamp(t0))
        .await
        .unwrap();
    assert!(!off.active);
    assert!(s
        .session(&[4; 32], Timestamp(t0), 30 * MINUTE)
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        s.create_session(&new_session(6, &ada, t0)).await,
        Err(StoreError::NotFound)
    ));
    // Enabled again, the old sessions stay gone.
    let on = UserChange {
        active: Some(true),
        ..Default::default()
    };
    s.update_user(org, ada.id, &on, Timestamp(t0))
        .await
        .unwrap();
    assert!(s
        .session(&[4; 32], Timestamp(t0), 30 * MINUTE)
        .await
        .unwrap()
        .is_none());
    // The other organization's user was not touched.
    assert!(s
        .session(&[5; 32], Timestamp(t0), 30 * MINUTE)
        .await
        .unwrap()
        .is_some());
    // A session cannot be started for a user in another organization's name.
    let mut foreign = new_session(7, &twin, t0);
    foreign.org_id = org;
    assert!(matches!(
        s.create_session(&foreign).await,
        Err(StoreError::NotFound)
    ));
}
