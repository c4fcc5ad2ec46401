//! Webhook endpoints over HTTP: the secret shown once, rotation, replay, delivery attempts,
//! scopes, validation and the destination policy; and our signatures verified by the official
//! Standard Webhooks library.

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, TestApp};
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use skillgrid_api::scopes;
use skillgrid_core::timestamp::Timestamp;
use skillgrid_core::webhooks::destination::Policy;
use skillgrid_core::webhooks::signing::{sign_delivery, WebhookSecret};
use skillgrid_store::{DeliveryRecord, WebhookChange, WebhookId};
use uuid::Uuid;

const URL: &str = "https://hooks.example.com/skillgrid";

/// Creates a webhook; its id and its secret.
async fn create(app: &TestApp, body: Value) -> (String, String) {
    let r = app.post("/api/v2/webhooks", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    (id, r.body["secret"].as_str().unwrap().to_string())
}

/// The key of a `whsec_` secret.
fn key_of(secret: &str) -> Vec<u8> {
    let b64 = secret.strip_prefix("whsec_").expect("whsec_ prefix");
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64")
}

#[tokio::test]
async fn a_webhook_is_created_read_changed_and_deleted_and_its_secret_shown_once() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v2/webhooks",
            &json!({"url": URL, "eventTypes": ["assignment.changed", "skill.created"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let secret = r.body["secret"].as_str().unwrap().to_string();
    assert_eq!(
        r.header("location"),
        Some(&*format!("/api/v2/webhooks/{id}"))
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(key_of(&secret).len(), 32);
    assert_eq!(r.body["url"], URL);
    assert_eq!(
        r.body["eventTypes"],
        json!(["assignment.changed", "skill.created"])
    );
    assert_eq!(
        (r.body["active"].clone(), r.body["deliveredThrough"].clone()),
        (json!(true), json!(0))
    );
    assert_eq!(r.body["previousSecretExpiresAt"], Value::Null);

    // Never again: not in a read, a list or the audit trail.
    let one = app.get(&format!("/api/v2/webhooks/{id}")).await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert!(one.body.get("secret").is_none());
    let list = app.get("/api/v2/webhooks").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0], one.body);
    let key = &secret["whsec_".len()..];
    for text in [&one.text, &list.text] {
        assert!(!text.contains(key));
    }

    // A change, then the same change again (which writes nothing), then deletion.
    let r = app
        .patch(
            &format!("/api/v2/webhooks/{id}"),
            &json!({"eventTypes": ["*"], "active": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.body["eventTypes"].clone(), r.body["active"].clone()),
        (json!(["*"]), json!(false))
    );
    let again = app
        .patch(&format!("/api/v2/webhooks/{id}"), &json!({"active": false}))
        .await;
    assert_eq!(again.body, r.body);
    let r = app.delete(&format!("/api/v2/webhooks/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_problem(
        &app.get(&format!("/api/v2/webhooks/{id}")).await,
        404,
        "not_found",
    );
    assert_problem(
        &app.delete(&format!("/api/v2/webhooks/{id}")).await,
        404,
        "not_found",
    );

    // The audit trail: created, updated once, deleted; no secret anywhere.
    let audit = app.get("/api/v2/audit/admin").await;
    assert!(!audit.text.contains(key));
    let entries: Vec<(Value, Value, bool)> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "webhook")
        .map(|e| {
            (
                e["action"].clone(),
                e["subjectId"].clone(),
                e["after"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (json!("created"), json!(id), false),
            (json!("updated"), json!(id), false),
            (json!("deleted"), json!(id), true),
        ]
    );
}

#[tokio::test]
async fn every_mistake_is_reported_at_once_and_nothing_is_written() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v2/webhooks",
            &json!({"url": "hooks.example.com/x", "eventTypes": ["agent.created", "skill.create", 5], "active": "yes", "secret": "mine"}),
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        r.entries(),
        pairs(&[
            ("pointer:/url", "invalid_format"),
            ("pointer:/eventTypes/1", "invalid_format"),
            ("pointer:/eventTypes/2", "invalid_type"),
            ("pointer:/active", "invalid_type"),
            ("pointer:/secret", "unknown_field"),
        ])
    );
    assert_eq!(r.body["errors"][1]["hint"], "did you mean `skill.created`?");
    assert_eq!(
        r.body["errors"][0]["hint"],
        "add the scheme: https://hooks.example.com/x"
    );
    assert_problem(
        &app.post("/api/v2/webhooks", &json!({})).await,
        400,
        "validation_failed",
    );
    let r = app.get("/api/v2/webhooks").await;
    assert_eq!(r.body["items"], json!([]));

    // A patch refused changes nothing either.
    let (id, _) = create(&app, json!({"url": URL})).await;
    let before = app.get(&format!("/api/v2/webhooks/{id}")).await.body;
    let r = app
        .patch(
            &format!("/api/v2/webhooks/{id}"),
            &json!({"url": "https://hooks.example.com/new", "eventTypes": []}),
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        pairs(&[("pointer:/eventTypes", "out_of_range")])
    );
    assert_eq!(
        app.get(&format!("/api/v2/webhooks/{id}")).await.body,
        before
    );
    // A path id that is no UUID, and a query parameter no route takes.
    assert_problem(
        &app.get("/api/v2/webhooks/hook-1").await,
        400,
        "validation_failed",
    );
    assert_problem(
        &app.get("/api/v2/webhooks?pageSize=5").await,
        400,
        "validation_failed",
    );
}

#[tokio::test]
async fn the_webhook_scopes_are_needed_and_read_does_not_write() {
    let app = spawn_app().await;
    let (id, _) = create(&app, json!({"url": URL})).await;
    let reader = app.token_with(&[scopes::WEBHOOK_READ]).await;
    let other = app
        .token_with(&[scopes::ORG_READ, scopes::ORG_WRITE, scopes::AUDIT_READ])
        .await;
    let one = format!("/api/v2/webhooks/{id}");
    let reads = [
        (Method::GET, "/api/v2/webhooks".to_string(), None),
        (Method::GET, one.clone(), None),
        (Method::GET, format!("{one}/deliveries"), None),
    ];
    let writes = [
        (
            Method::POST,
            "/api/v2/webhooks".to_string(),
            Some(json!({"url": URL})),
        ),
        (Method::PATCH, one.clone(), Some(json!({"active": false}))),
        (Method::DELETE, one.clone(), None),
        (Method::POST, format!("{one}/secret"), None),
        (Method::POST, format!("{one}/replay?fromSequence=1"), None),
    ];
    for (m, path, body) in reads.iter() {
        let r = app
            .call(m.clone(), path, Some(&reader), body.as_ref(), &[])
            .await;
        assert_eq!(r.status, 200, "{m} {path}: {}", r.text);
        let r = app
            .call(m.clone(), path, Some(&other), body.as_ref(), &[])
            .await;
        assert_problem(&r, 403, "insufficient_scope");
    }
    for (m, path, body) in writes.iter() {
        for token in [&reader, &other] {
            let r = app
                .call(m.clone(), path, Some(token), body.as_ref(), &[])
                .await;
            assert_problem(&r, 403, "insufficient_scope");
        }
    }
    let r = app.get(&one).await;
    assert_eq!((r.status, r.body["active"].clone()), (200, json!(true)));
}

#[tokio::test]
async fn a_rotation_answers_a_new_secret_and_keeps_the_old_one_signing_for_the_overlap() {
    let app = spawn_app().await;
    let (id, first) = create(&app, json!({"url": URL})).await;
    let path = format!("/api/v2/webhooks/{id}/secret");
    let hook: WebhookId = id.parse().unwrap();

    // An overlap out of range changes nothing.
    let r = app.post(&path, &json!({"overlapSeconds": 604801})).await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(r.entries()[0].0, "pointer:/overlapSeconds");
    let w = app.store.get_webhook(app.org, hook).await.unwrap();
    assert_eq!(w.secret.expose(), first);

    let r = app.post(&path, &json!({"overlapSeconds": 3600})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let second = r.body["secret"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    assert_eq!(key_of(&second).len(), 32);
    let expires =
        Timestamp::parse_rfc3339(r.body["previousSecretExpiresAt"].as_str().unwrap()).unwrap();
    let made = Timestamp::parse_rfc3339(r.body["secretCreatedAt"].as_str().unwrap()).unwrap();
    assert_eq!(expires.0 - made.0, 3_600_000);
    let w = app.store.get_webhook(app.org, hook).await.unwrap();
    let now = Timestamp::now();
    let signing: Vec<&str> = w.signing_secrets(now).iter().map(|s| s.expose()).collect();
    assert_eq!(signing, [second.as_str(), first.as_str()]);
    let later = Timestamp(expires.0 + 1);
    assert_eq!(w.signing_secrets(later).len(), 1);

    // No body at all: the default overlap, a day; the secret before is dropped.
    let r = app
        .call(Method::POST, &path, Some(&app.token), None, &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let third = r.body["secret"].as_str().unwrap().to_string();
    let expires =
        Timestamp::parse_rfc3339(r.body["previousSecretExpiresAt"].as_str().unwrap()).unwrap();
    let made = Timestamp::parse_rfc3339(r.body["secretCreatedAt"].as_str().unwrap()).unwrap();
    assert_eq!(expires.0 - made.0, 86_400_000);
    let w = app.store.get_webhook(app.org, hook).await.unwrap();
    let signing: Vec<&str> = w
        .signing_secrets(Timestamp::now())
        .iter()
        .map(|s| s.expose())
        .collect();
    assert_eq!(signing, [third.as_str(), second.as_str()]);
    // A body that is not JSON is refused as anywhere else.
    let r = app
        .raw(
            Method::POST,
            &path,
            Some("application/json"),
            b"{".to_vec(),
            &[],
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    // And the secrets are in no read.
    let one = app.get(&format!("/api/v2/webhooks/{id}")).await;
    for s in [&first, &second, &third] {
        assert!(!one.text.contains(&s["whsec_".len()..]));
    }
}

#[tokio::test]
async fn a_replay_is_validated_moves_the_cursor_back_and_enables_the_endpoint() {
    let app = spawn_app().await;
    let (id, _) = create(&app, json!({"url": URL})).await;
    let hook: WebhookId = id.parse().unwrap();
    // The server disabled it, as after retries run out.
    let by = skillgrid_store::ChangedBy::direct("test", Timestamp::now());
    let change = WebhookChange {
        disable_for: Some("retries exhausted".into()),
        ..Default::default()
    };
    app.store
        .update_webhook(app.org, hook, &change, &by)
        .await
        .unwrap();
    let r = app.get(&format!("/api/v2/webhooks/{id}")).await;
    assert_eq!(
        (r.body["active"].clone(), r.body["disabledReason"].clone()),
        (json!(false), json!("retries exhausted"))
    );

    let base = format!("/api/v2/webhooks/{id}/replay");
    for (query, code) in [
        ("", "missing_field"),
        ("?fromSequence=0", "out_of_range"),
        ("?fromSequence=-3", "out_of_range"),
        ("?fromSequence=abc", "invalid_type"),
        ("?fromSequence=1.5", "invalid_type"),
        ("?fromSequence=99999999999999999999", "invalid_type"),
        ("?from=3", "unknown_field"),
    ] {
        let r = app
            .call(
                Method::POST,
                &format!("{base}{query}"),
                Some(&app.token),
                None,
                &[],
            )
            .await;
        assert_problem(&r, 400, "validation_failed");
        assert!(
            r.entries().iter().any(|(_, c)| c == code),
            "{query}: {}",
            r.text
        );
    }
    let r = app.get(&format!("/api/v2/webhooks/{id}")).await;
    assert_eq!(r.body["active"], false, "a refused replay changed nothing");

    // Events 1 to 50 delivered (the dispatcher's cursor, set here through the store).
    let forward = WebhookChange {
        replay_from: Some(51),
        ..Default::default()
    };
    app.store
        .update_webhook(app.org, hook, &forward, &by)
        .await
        .unwrap();
    app.store
        .update_webhook(app.org, hook, &change, &by)
        .await
        .unwrap();
    // Forward, past what was delivered, would skip events: refused.
    let r = app
        .call(
            Method::POST,
            &format!("{base}?fromSequence=52"),
            Some(&app.token),
            None,
            &[],
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [("query:fromSequence".to_string(), "out_of_range".to_string())]
    );
    assert_eq!(r.body["errors"][0]["expected"], "an integer from 1 to 51");
    let r = app.get(&format!("/api/v2/webhooks/{id}")).await;
    assert_eq!(
        (r.body["active"].clone(), r.body["deliveredThrough"].clone()),
        (json!(false), json!(50))
    );

    let r = app
        .call(
            Method::POST,
            &format!("{base}?fromSequence=42"),
            Some(&app.token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (
            r.body["deliveredThrough"].clone(),
            r.body["active"].clone(),
            r.body["disabledReason"].clone()
        ),
        (json!(41), json!(true), Value::Null)
    );
    let missing = format!("/api/v2/webhooks/{}/replay?fromSequence=1", Uuid::now_v7());
    let r = app
        .call(Method::POST, &missing, Some(&app.token), None, &[])
        .await;
    assert_problem(&r, 404, "not_found");
}

#[tokio::test]
async fn delivery_attempts_are_listed_newest_first_with_a_capped_excerpt() {
    let app = spawn_app().await;
    let (id, _) = create(&app, json!({"url": URL})).await;
    let hook: WebhookId = id.parse().unwrap();
    let event = Uuid::now_v7();
    for attempt in 1..=3 {
        let d = DeliveryRecord {
            id: Uuid::now_v7(),
            event_id: event,
            sequence: 7,
            attempt,
            at: Timestamp(1_800_000_000_000 + attempt as i64),
            status: (attempt == 3).then_some(200).or(Some(503)),
            error: None,
            latency_ms: 12 * attempt as i64,
            response_head: Some("x".repeat(5000)),
            next_attempt_at: (attempt < 3).then_some(Timestamp(1_800_000_060_000)),
        };
        app.store
            .record_webhook_delivery(app.org, hook, &d)
            .await
            .unwrap();
    }
    let path = format!("/api/v2/webhooks/{id}/deliveries");
    let r = app.get(&format!("{path}?limit=2")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.body["items"].as_array().unwrap();
    let attempts: Vec<i64> = items
        .iter()
        .map(|d| d["attempt"].as_i64().unwrap())
        .collect();
    assert_eq!(attempts, [3, 2]);
    assert_eq!(items[0]["statusCode"], 200);
    assert_eq!(items[0]["nextAttemptAt"], Value::Null);
    assert_eq!(items[1]["statusCode"], 503);
    assert_eq!(items[0]["eventId"], event.to_string());
    assert_eq!(items[0]["responseExcerpt"].as_str().unwrap().len(), 1024);
    let cursor = r.body["nextCursor"].as_str().unwrap();
    let r = app.get(&format!("{path}?limit=2&cursor={cursor}")).await;
    let attempts: Vec<i64> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["attempt"].as_i64().unwrap())
        .collect();
    assert_eq!(attempts, [1]);
    assert_eq!(r.body["nextCursor"], Value::Null);
    let missing = format!("/api/v2/webhooks/{}/deliveries", Uuid::now_v7());
    assert_problem(&app.get(&missing).await, 404, "not_found");
}

#[tokio::test]
async fn metadata_and_link_local_urls_are_never_allowed_and_private_ones_only_when_the_operator_says(
) {
    let strict = spawn_app().await;
    let lenient = spawn_app_with(&skillgrid_server::StateOptions {
        webhooks: Policy {
            allow_private: true,
        },
        ..Default::default()
    })
    .await;
    let never = [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://169.254.10.10/",
        "http://[fe80::1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
    ];
    let private = [
        "http://127.0.0.1:9000/hook",
        "http://localhost:9000/hook",
        "http://[::1]/",
        "http://10.1.2.3/",
        "http://172.16.0.9/",
        "http://192.168.1.20/",
        "http://100.64.0.1/",
        "http://[fc00::9]/",
        "http://[::ffff:10.0.0.1]/",
    ];
    for app in [&strict, &lenient] {
        for url in never {
            let r = app.post("/api/v2/webhooks", &json!({ "url": url })).await;
            assert_problem(&r, 400, "validation_failed");
            assert_eq!(
                r.entries(),
                [("pointer:/url".to_string(), "not_allowed".to_string())],
                "{url}"
            );
        }
    }
    for url in private {
        let r = strict
            .post("/api/v2/webhooks", &json!({ "url": url }))
            .await;
        assert_problem(&r, 400, "validation_failed");
        assert_eq!(
            r.entries(),
            [("pointer:/url".to_string(), "not_allowed".to_string())],
            "{url}"
        );
        assert!(r.body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("--webhooks-allow-private"));
        let r = lenient
            .post("/api/v2/webhooks", &json!({ "url": url }))
            .await;
        assert_eq!(r.status, 201, "{url}: {}", r.text);
    }
    // A change of URL is judged alike.
    let (id, _) = create(&strict, json!({"url": URL})).await;
    let r = strict
        .patch(
            &format!("/api/v2/webhooks/{id}"),
            &json!({"url": "http://10.0.0.1/"}),
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        strict.get("/api/v2/webhooks").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// The Python interpreter that has the official `standardwebhooks` library, from the path
/// `STANDARDWEBHOOKS_PYTHON` names (`scripts/test` installs it into a virtualenv under
/// `target/`); the test fails when it is missing.
fn standardwebhooks_python() -> String {
    let path = std::env::var("STANDARDWEBHOOKS_PYTHON").unwrap_or_default();
    assert!(
        !path.is_empty() && std::path::Path::new(&path).exists(),
        "verifying webhook signatures needs the official Python library: set \
         STANDARDWEBHOOKS_PYTHON to a python that has `standardwebhooks` installed (scripts/test \
         installs it: python3 -m venv target/ci-webhooks && target/ci-webhooks/bin/pip install \
         standardwebhooks==1.3.0, then STANDARDWEBHOOKS_PYTHON=$PWD/target/ci-webhooks/bin/python)"
    );
    path
}

/// One case for the library: a secret, the delivery's headers and its body.
type Case = (String, Vec<(String, String)>, String);

/// Verifies each (secret, headers, body) with `standardwebhooks.Webhook(secret).verify`;
/// returns one line per case: `ok` or the library's error.
fn verify_in_python(cases: &[Case]) -> Vec<String> {
    const SCRIPT: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
for case in json.load(sys.stdin):
    try:
        Webhook(case["secret"]).verify(case["body"], dict(case["headers"]))
        print("ok")
    except Exception as e:
        print(type(e).__name__ + ": " + str(e))
"#;
    use std::io::Write;
    let input: Vec<Value> = cases
        .iter()
        .map(|(s, h, b)| json!({"secret": s, "headers": h, "body": b}))
        .collect();
    let mut child = std::process::Command::new(standardwebhooks_python())
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[tokio::test]
async fn the_official_standardwebhooks_library_verifies_our_signatures_with_either_secret_during_an_overlap(
) {
    let app = spawn_app().await;
    let (id, first) = create(&app, json!({"url": URL})).await;
    let hook: WebhookId = id.parse().unwrap();
    let r = app
        .post(
            &format!("/api/v2/webhooks/{id}/secret"),
            &json!({"overlapSeconds": 600}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let second = r.body["secret"].as_str().unwrap().to_string();
    // Signed as a delivery is: with every secret the stored endpoint signs with now.
    let w = app.store.get_webhook(app.org, hook).await.unwrap();
    let body =
        json!({"type": "skill.created", "data": {"name": "Billing ✓"}, "sequence": 1}).to_string();
    let event = format!("{}", Uuid::now_v7());
    let now = Timestamp::now().0 / 1000;
    let h = sign_delivery(
        &w.signing_secrets(Timestamp::now()),
        &event,
        now,
        body.as_bytes(),
    );
    assert_eq!(h.signature.split(' ').count(), 2);
    let headers = vec![
        ("webhook-id".to_string(), h.id.clone()),
        ("webhook-timestamp".to_string(), h.timestamp.to_string()),
        ("webhook-signature".to_string(), h.signature.clone()),
    ];
    let unrelated = WebhookSecret::from_key(&[9; 32]).expose().to_string();
    let mut tampered = headers.clone();
    tampered[0].1 = format!("{}", Uuid::now_v7());
    let cases = vec![
        (first.clone(), headers.clone(), body.clone()),
        (second.clone(), headers.clone(), body.clone()),
        (unrelated, headers.clone(), body.clone()),
        (
            second.clone(),
            headers.clone(),
            body.replace("Billing", "Billinh"),
        ),
        (second.clone(), tampered, body.clone()),
    ];
    let verdicts = verify_in_python(&cases);
    assert_eq!(verdicts.len(), 5, "{verdicts:?}");
    assert_eq!(&verdicts[..2], ["ok", "ok"], "either secret verifies");
    for v in &verdicts[2..] {
        assert!(v.starts_with("WebhookVerificationError"), "{verdicts:?}");
    }
    // After the overlap only the new secret signs: the old one no longer verifies.
    let after = skillgrid_store::WebhookRecord::signing_secrets(
        &w,
        Timestamp(Timestamp::now().0 + 601_000),
    );
    let h = sign_delivery(&after, &event, now, body.as_bytes());
    let headers = vec![
        ("webhook-id".to_string(), h.id),
        ("webhook-timestamp".to_string(), h.timestamp.to_string()),
        ("webhook-signature".to_string(), h.signature),
    ];
    let verdicts = verify_in_python(&[
        (first, headers.clone(), body.clone()),
        (second, headers, body),
    ]);
    assert!(
        verdicts[0].starts_with("WebhookVerificationError"),
        "{verdicts:?}"
    );
    assert_eq!(verdicts[1], "ok");
}
