//! Reliability of what guards the API, on the real binary over loopback: who can read the
//! database files, revoking a client across instances, signing keys given by the operator and
//! their rotation, and the limit on failed attempts at `/oauth/token`.

mod common;

use base64::Engine;
use serde_json::{json, Value};
use skillgrid_server::bootstrap::{self, NewClient};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_skillgrid");

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// GET `path` with `token`: the status.
async fn status(base: &str, path: &str, token: &str) -> u16 {
    http()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The token endpoint's answer to `id` and `secret`: status, `Retry-After`, body.
async fn token_attempt(base: &str, id: &str, secret: &str) -> (u16, Option<u64>, Value) {
    let r = common::token_request(&http(), base, id, secret).await;
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let status = r.status().as_u16();
    (status, retry, r.json().await.unwrap_or(Value::Null))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `skillgrid serve` on `db` started by a shell whose umask is 022, as most are.
fn serve_with_umask_022(db: &str) -> common::Server {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "umask 022 && exec \"$@\"", "sh", BIN])
        .args(["serve", "--listen", "127.0.0.1:0", "--database", db]);
    common::launch(cmd)
}

#[tokio::test]
async fn database_files_are_created_0600_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fresh.db");
    let db = format!("sqlite://{}", file.display());
    let srv = serve_with_umask_022(&db);
    // The server has migrated the file and holds it open in WAL mode: the -wal and -shm files
    // are there (a moment after it listens, at the latest).
    for suffix in ["", "-wal", "-shm"] {
        let f = dir.path().join(format!("fresh.db{suffix}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f.exists() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(f.exists(), "{} was not made", f.display());
        assert_eq!(mode(&f), 0o600, "{} is {:o}", f.display(), mode(&f));
    }
    assert!(
        !srv.log.iter().any(|l| l.contains("other users may read")),
        "{}",
        srv.log.join("\n")
    );
    drop(srv);

    // A file the operator made readable by others keeps its mode, and the log says so.
    let shared = dir.path().join("shared.db");
    std::fs::write(&shared, b"").unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o640)).unwrap();
    let srv = serve_with_umask_022(&format!("sqlite://{}", shared.display()));
    assert_eq!(mode(&shared), 0o640);
    let warned = srv
        .log
        .iter()
        .any(|l| l.contains("other users may read the database file") && l.contains("0640"));
    assert!(warned, "no warning:\n{}", srv.log.join("\n"));
    // The files SQLite made beside it have its mode, as the warning says.
    assert_eq!(mode(&dir.path().join("shared.db-wal")), 0o640);
}

/// A database with its first start done: the bootstrap client, and a client holding only
/// `admin:skill:read` (its credentials).
async fn prepared(url: &str) -> (NewClient, NewClient) {
    let store = skillgrid_store::open(url).await.unwrap();
    let boot = bootstrap::first_start(&store).await.unwrap().unwrap();
    let reader = bootstrap::create_client(&store, "default", "reader", "admin:skill:read")
        .await
        .unwrap();
    (boot, reader)
}

/// Polls `base` with `token` until it is refused (401), up to `within`: how long it took.
async fn refused_within(base: &str, token: &str, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        match status(base, "/api/v2/admin/skills", token).await {
            401 => return Some(start.elapsed()),
            200 => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("{base}: {other}"),
        }
    }
    None
}

/// Two instances on one PostgreSQL database: a client deleted in the database, disabled or
/// deleted through either instance, or given a new secret by the admin command, has its token
/// refused by both within 5 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_clients_token_is_refused_by_every_instance_within_5_s() {
    let db = common::test_db(true).await;
    let (boot, _) = prepared(&db.url).await;
    let servers = [common::start(&db.url), common::start(&db.url)];
    let http = http();
    let admin = common::token(&http, &servers[0].base, boot.client_id, &boot.client_secret).await;
    let store = skillgrid_store::open(&db.url).await.unwrap();
    let cases = ["deleted in the database", "disabled", "deleted", "rotated"];
    for (i, how) in cases.into_iter().enumerate() {
        let c = bootstrap::create_client(&store, "default", how, "admin:skill:read")
            .await
            .unwrap();
        let token = common::token(&http, &servers[i % 2].base, c.client_id, &c.client_secret).await;
        for s in &servers {
            assert_eq!(status(&s.base, "/api/v2/admin/skills", &token).await, 200);
        }
        let path = format!("/api/v2/admin/clients/{}", c.client_id);
        let on = &servers[i % 2].base;
        match how {
            "disabled" => {
                let r = http
                    .patch(format!("{on}{path}"))
                    .bearer_auth(&admin)
                    .json(&json!({"active": false}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
            }
            // As an operator might, behind the servers' backs.
            "deleted in the database" => {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
                sqlx::query("DELETE FROM api_clients WHERE uuid = $1")
                    .bind(c.client_id.get())
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            "deleted" => {
                let r = http
                    .delete(format!("{on}{path}"))
                    .bearer_auth(&admin)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
            }
            _ => {
                let id = c.client_id.to_string();
                let args = [
                    "admin",
                    "rotate-secret",
                    "--org",
                    "default",
                    "--client",
                    &id,
                ];
                let out = common::admin(&db.url, &args);
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        for s in &servers {
            let took = refused_within(&s.base, &token, Duration::from_secs(5)).await;
            assert!(
                took.is_some(),
                "{how}: {} still takes the token after 5 s",
                s.base
            );
        }
        // And refused it stays.
        for s in &servers {
            assert_eq!(
                status(&s.base, "/api/v2/admin/skills", &token).await,
                401,
                "{how}"
            );
        }
    }
    // The administrator's own token was never in question.
    for s in &servers {
        assert_eq!(status(&s.base, "/api/v2/admin/skills", &admin).await, 200);
    }
}

/// A new random key, as `openssl rand -base64 32` makes one.
fn new_key() -> String {
    let bytes: Vec<u8> = [Uuid::new_v4(), Uuid::new_v4()]
        .iter()
        .flat_map(|u| u.as_bytes().to_vec())
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn write_keys(path: &Path, keys: &[&str], mode: u32) {
    std::fs::write(path, format!("# newest first\n{}\n", keys.join("\n"))).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The `kid` in a token's header.
fn kid(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().expect("a kid").to_string()
}

/// A token the server would issue to `client`, signed with `key` and naming `kid`.
fn forged(client: &NewClient, key: &[u8], kid: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "iss": "skillgrid", "aud": "skillgrid-api", "sub": client.client_id,
        "client_id": client.client_id, "org_id": client.org_id, "scope": "admin:skill:read",
        "iat": now, "exp": now + 600, "jti": Uuid::new_v4(),
    });
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    h.typ = Some("at+jwt".into());
    h.kid = Some(kid.into());
    jsonwebtoken::encode(&h, &claims, &jsonwebtoken::EncodingKey::from_secret(key)).unwrap()
}

/// Keys from a file, then rotated: a token signed with the previous key keeps working while
/// that key is in the file; once removed, its tokens are refused, as are tokens naming a key
/// the server does not hold and tokens signed with the key kept in the database.
#[tokio::test]
async fn signing_keys_from_a_file_rotate_and_the_previous_key_verifies_until_removed() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("keys.db").display());
    let (_, reader) = prepared(&db).await;
    let keys = dir.path().join("signing-keys");
    let keys_arg = keys.to_str().unwrap();
    let (old, new) = (new_key(), new_key());
    let http = http();
    let get_token = |base: String| {
        let http = http.clone();
        let (id, secret) = (reader.client_id, reader.client_secret.clone());
        async move { common::token(&http, &base, id, &secret).await }
    };

    write_keys(&keys, &[&old], 0o600);
    let srv = common::start_with(&db, &["--signing-key-file", keys_arg], &[]);
    let t_old = get_token(srv.base.clone()).await;
    assert_eq!(status(&srv.base, "/api/v2/admin/skills", &t_old).await, 200);
    // The key kept in the database signs nothing and verifies nothing now.
    let store = skillgrid_store::open(&db).await.unwrap();
    let db_key = store.signing_key(vec![0; 32]).await.unwrap();
    let from_db = forged(&reader, &db_key, &kid(&t_old));
    assert_eq!(
        status(&srv.base, "/api/v2/admin/skills", &from_db).await,
        401
    );
    drop(srv);

    // Rotation: the new key first, the previous one after it.
    write_keys(&keys, &[&new, &old], 0o600);
    let srv = common::start_with(&db, &["--signing-key-file", keys_arg], &[]);
    assert_eq!(status(&srv.base, "/api/v2/admin/skills", &t_old).await, 200);
    let t_new = get_token(srv.base.clone()).await;
    assert_ne!(kid(&t_new), kid(&t_old));
    assert_eq!(status(&srv.base, "/api/v2/admin/skills", &t_new).await, 200);
    // Signed with a key it holds but naming one it does not: refused.
    let new_bytes = base64::engine::general_purpose::STANDARD
        .decode(&new)
        .unwrap();
    let unknown = forged(&reader, &new_bytes, "no-such-key");
    let r = http
        .get(format!("{}/api/v2/admin/skills", srv.base))
        .bearer_auth(&unknown)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("kid"));
    assert_eq!(
        status(
            &srv.base,
            "/api/v2/admin/skills",
            &forged(&reader, &new_bytes, &kid(&t_new))
        )
        .await,
        200
    );
    drop(srv);

    // The previous key removed (its tokens have expired by then in real life): refused.
    write_keys(&keys, &[&new], 0o644);
    let srv = common::start_with(&db, &["--signing-key-file", keys_arg], &[]);
    assert_eq!(status(&srv.base, "/api/v2/admin/skills", &t_old).await, 401);
    assert_eq!(status(&srv.base, "/api/v2/admin/skills", &t_new).await, 200);
    // A key file others may read is said to be one.
    assert!(
        srv.log
            .iter()
            .any(|l| l.contains("signing key file can be read by other users")),
        "{}",
        srv.log.join("\n")
    );
    drop(srv);

    // The same keys from the environment.
    let env = format!("{new} {old}");
    let srv = common::start_with_env(&db, &[], &[("SKILLGRID_SIGNING_KEY", env.as_str())]);
    assert_eq!(status(&srv.base, "/api/v2/admin/skills", &t_old).await, 200);
    assert_eq!(status(&srv.base, "/api/v2/admin/skills", &t_new).await, 200);
    drop(srv);

    // Both at once, or a key too short: the server does not start, and says why without
    // printing a key.
    std::fs::write(&keys, "c2hvcnQ=\n").unwrap();
    for (env, says) in [
        (
            vec![("SKILLGRID_SIGNING_KEY", new.as_str())],
            "give the keys one way",
        ),
        (vec![], "not base64 of at least 32 bytes"),
    ] {
        let out = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
            .args(["--signing-key-file", keys_arg])
            .env_remove("SKILLGRID_DATABASE_URL")
            .env_remove("SKILLGRID_SIGNING_KEY")
            .envs(env)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(!err.contains(&new) && !err.contains("c2hvcnQ"), "{err}");
    }
}

/// Sends `n` token requests `at_once` at a time; `attempt(i)` names the client id and secret
/// of the i-th. The statuses, and the 429s' `Retry-After` and bodies.
async fn flood(
    base: &str,
    n: usize,
    at_once: usize,
    attempt: impl Fn(usize) -> (String, String),
) -> (Vec<u16>, Vec<(u64, Value)>) {
    let (mut statuses, mut limited) = (Vec::new(), Vec::new());
    for chunk in (0..n).collect::<Vec<_>>().chunks(at_once) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|&i| {
                let (id, secret) = attempt(i);
                let base = base.to_string();
                tokio::spawn(async move { token_attempt(&base, &id, &secret).await })
            })
            .collect();
        for t in tasks {
            let (status, retry, body) = t.await.unwrap();
            if status == 429 {
                limited.push((retry.expect("a 429 says when to retry"), body));
            }
            statuses.push(status);
        }
    }
    (statuses, limited)
}

/// The right secret, retried as each refusal's `Retry-After` says: how long until a token.
async fn owner_gets_in(base: &str, c: &NewClient) -> Duration {
    let start = Instant::now();
    loop {
        let (status, retry, body) =
            token_attempt(base, &c.client_id.to_string(), &c.client_secret).await;
        match status {
            200 => return start.elapsed(),
            429 => {
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "still refused: {body}"
                );
                tokio::time::sleep(Duration::from_secs(retry.unwrap())).await;
            }
            other => panic!("{other}: {body}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_token_requests_are_limited_and_the_owner_gets_in_soon_after() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("limits.db").display());
    let (_, owner) = prepared(&db).await;
    let srv = common::start(&db);
    let id = owner.client_id.to_string();

    // 600 wrong secrets for one client id, 30 at a time: past the client's 10 failures a
    // minute they are refused before any secret is checked.
    let start = Instant::now();
    let (statuses, limited) =
        flood(&srv.base, 600, 30, |i| (id.clone(), format!("guess-{i}"))).await;
    let refills = start.elapsed().as_secs() / 6 + 1;
    let unlimited = statuses.iter().filter(|s| **s == 401).count() as u64;
    assert!(
        statuses.iter().all(|s| [401, 429].contains(s)),
        "{statuses:?}"
    );
    assert!(unlimited <= 10 + refills, "{unlimited} secrets checked");
    assert!(
        limited.len() >= 600 - 10 - refills as usize,
        "{}",
        limited.len()
    );
    for (retry, body) in &limited {
        assert!((1..=60).contains(retry), "Retry-After {retry}");
        assert_eq!(body["error"], "invalid_client", "{body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("too many failed"),
            "{body}"
        );
    }
    // The owner, with the right secret, gets in as soon as one failure has refilled.
    let waited = owner_gets_in(&srv.base, &owner).await;
    assert!(waited < Duration::from_secs(15), "{waited:?}");

    // 600 wrong attempts naming other client ids from this address: past its 30 failures a
    // minute, refused too; the owner from the same address gets in soon after.
    let start = Instant::now();
    let (statuses, limited) = flood(&srv.base, 600, 30, |i| {
        (Uuid::new_v4().to_string(), format!("guess-{i}"))
    })
    .await;
    let refills = start.elapsed().as_secs() / 2 + 1;
    let unlimited = statuses.iter().filter(|s| **s == 401).count() as u64;
    assert!(unlimited <= 30 + refills, "{unlimited} secrets checked");
    assert!(
        limited.len() >= 600 - 30 - refills as usize,
        "{}",
        limited.len()
    );
    let waited = owner_gets_in(&srv.base, &owner).await;
    assert!(waited < Duration::from_secs(15), "{waited:?}");
}
