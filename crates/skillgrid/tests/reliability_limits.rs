//! Rate limits hold across instances: two `skillgrid serve` processes on one PostgreSQL
//! database grant one client one budget between them, not one each.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PER_MINUTE: u64 = 600;
const BURST: u64 = 100;
const SECONDS: u64 = 30;
/// Concurrent senders, spread over both instances.
const SENDERS: usize = 8;

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    limited: AtomicU64,
    other: AtomicU64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_grant_one_client_one_budget() {
    let db = common::test_db(true).await;
    let (store, boot) = common::first_start(&db.url).await;
    common::set_rate_limit(&store, boot.org_id, PER_MINUTE, BURST).await;

    let servers = [common::start(&db.url), common::start(&db.url)];
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let token = common::token(&http, &servers[0].base, boot.client_id, &boot.client_secret).await;
    let bases: Arc<Vec<String>> = Arc::new(servers.iter().map(|s| s.base.clone()).collect());
    let token = Arc::new(token);
    let counts = Arc::new(Counts::default());

    let start = Instant::now();
    let end = start + Duration::from_secs(SECONDS);
    let mut tasks = Vec::new();
    for me in 0..SENDERS {
        let (http, bases, token, counts) =
            (http.clone(), bases.clone(), token.clone(), counts.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = me;
            while Instant::now() < end {
                n += 1;
                let base = &bases[n % 2];
                let r = http
                    .get(format!("{base}/api/v2/admin/skills?limit=1"))
                    .bearer_auth(token.as_str())
                    .send()
                    .await
                    .expect("the server answers");
                let header = |name: &str| -> Option<u64> {
                    r.headers().get(name)?.to_str().ok()?.parse().ok()
                };
                assert_eq!(header("ratelimit-limit"), Some(BURST), "{base}");
                let remaining = header("ratelimit-remaining").expect("RateLimit-Remaining");
                assert!(remaining <= BURST);
                assert!(header("ratelimit-reset").is_some(), "RateLimit-Reset");
                match r.status().as_u16() {
                    200 => counts.ok.fetch_add(1, Ordering::Relaxed),
                    429 => {
                        assert_eq!(remaining, 0);
                        let retry = header("retry-after").expect("Retry-After");
                        assert!((1..=60).contains(&retry), "Retry-After {retry}");
                        counts.limited.fetch_add(1, Ordering::Relaxed)
                    }
                    _ => counts.other.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let ok = counts.ok.load(Ordering::Relaxed);
    let limited = counts.limited.load(Ordering::Relaxed);
    assert_eq!(counts.other.load(Ordering::Relaxed), 0);
    eprintln!("{ok} granted and {limited} refused in {elapsed:.1} s");
    // Everything one bucket can grant in the time the senders ran, with 5 % to spare.
    let most = ((BURST + PER_MINUTE * SECONDS / 60) as f64 * 1.05).floor() as u64;
    assert!(
        ok <= most,
        "{ok} answers not 429 in {elapsed:.1} s; one budget allows at most {most}"
    );
    // The senders did exhaust it (else the bound above proves nothing), and the budget was
    // granted: at least the burst.
    assert!(limited > ok, "{limited} refused, {ok} granted");
    assert!(ok >= BURST, "only {ok} granted");
}

/// Many requests at once to one instance, sent until each sender is refused: the instance
/// takes tokens ahead of its requests, and still every token is granted exactly once, the
/// `RateLimit-Remaining` of the requests granted counts down without a repeat, and the
/// budget, not a token more, is granted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tokens_taken_ahead_are_each_granted_once() {
    const BUDGET: u64 = 2_000;
    let db = common::test_db(true).await;
    let (store, boot) = common::first_start(&db.url).await;
    // One token a minute: at most one more than the burst during the test.
    common::set_rate_limit(&store, boot.org_id, 1, BUDGET).await;
    let server = common::start(&db.url);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let token =
        Arc::new(common::token(&http, &server.base, boot.client_id, &boot.client_secret).await);
    let url: Arc<str> = format!("{}/api/v2/admin/skills?limit=1", server.base).into();
    let mut tasks = Vec::new();
    for _ in 0..SENDERS * 4 {
        let (http, token, url) = (http.clone(), token.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut granted = Vec::new();
            loop {
                let r = http
                    .get(&*url)
                    .bearer_auth(token.as_str())
                    .send()
                    .await
                    .expect("the server answers");
                let remaining: u64 = r.headers()["ratelimit-remaining"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                match r.status().as_u16() {
                    200 => granted.push(remaining),
                    429 => return granted,
                    other => panic!("{other}: {}", r.text().await.unwrap()),
                }
            }
        }));
    }
    let mut granted = Vec::new();
    for t in tasks {
        granted.extend(t.await.unwrap());
    }
    let n = granted.len() as u64;
    assert!(
        (BUDGET..=BUDGET + 1).contains(&n),
        "{n} granted of a budget of {BUDGET}"
    );
    granted.sort_unstable();
    let repeats = granted.windows(2).filter(|w| w[0] == w[1]).count();
    // A token refilled during the test may be counted down from twice.
    assert!(
        repeats <= 1,
        "{repeats} repeated values of RateLimit-Remaining"
    );
}

/// The value of an unlabelled gauge in `/metrics`; `None` before it is first set.
async fn gauge(http: &reqwest::Client, base: &str, name: &str) -> Option<f64> {
    let text = http.get(format!("{base}/metrics")).send().await.unwrap();
    let text = text.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_shared_buckets_cannot_be_read_each_instance_counts_its_own() {
    use sqlx::Connection;
    let db = common::test_db(true).await;
    let (store, boot) = common::first_start(&db.url).await;
    // A slow refill (one token in 10 s), so that what was taken stays taken during the test.
    common::set_rate_limit(&store, boot.org_id, 6, BURST).await;
    let server = common::start(&db.url);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let token = common::token(&http, &server.base, boot.client_id, &boot.client_secret).await;
    let remaining = || async {
        let r = http
            .get(format!("{}/api/v2/admin/skills?limit=1", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let h = r.headers().get("ratelimit-remaining").unwrap();
        h.to_str().unwrap().parse::<u64>().unwrap()
    };
    let fallback = "skillgrid_rate_limits_fallback";

    for _ in 0..5 {
        remaining().await;
    }
    assert_ne!(gauge(&http, &server.base, fallback).await, Some(1.0));
    // Requests that follow each other closely take tokens ahead of the next; those lapse
    // after half a second, and the next request asks the database.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut pg = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("ALTER TABLE rate_buckets RENAME TO rate_buckets_away")
        .execute(&mut pg)
        .await
        .unwrap();
    // Requests go on being answered, limited by this process's own bucket, which starts full.
    let first = remaining().await;
    assert_eq!(first, BURST - 1, "this process's bucket starts full");
    assert_eq!(remaining().await, BURST - 2);
    assert_eq!(gauge(&http, &server.base, fallback).await, Some(1.0));

    sqlx::query("ALTER TABLE rate_buckets_away RENAME TO rate_buckets")
        .execute(&mut pg)
        .await
        .unwrap();
    // The database's bucket again: it still holds the five requests taken before.
    assert!(remaining().await < BURST - 5);
    assert_eq!(gauge(&http, &server.base, fallback).await, Some(0.0));
}
