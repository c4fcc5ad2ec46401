//! The HTTP layer against clients that are slow, idle, broken or hostile, on the real binary
//! over loopback: a flood of idle connections under a 1,024-file limit, headers and bodies
//! sent too slowly, SIGTERM with stalled clients, the answers the HTTP parser gives before any
//! route (414, 431, malformed framing), and the detail of a 405.

mod common;

use serde_json::Value;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

fn addr(s: &common::Server) -> SocketAddr {
    s.base.trim_start_matches("http://").parse().unwrap()
}

/// The bootstrap client of a fresh database, created before the server starts.
async fn seed(db: &str) -> (skillgrid_store::ClientId, String) {
    let store = skillgrid_store::open(db).await.unwrap();
    let boot = skillgrid_server::bootstrap::first_start(&store)
        .await
        .unwrap()
        .unwrap();
    (boot.client_id, boot.client_secret)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The server answers `/healthz` after what a test did to it.
async fn still_answers(server: &common::Server) {
    let r = http()
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// An answer read off a raw connection.
struct Raw {
    status: u16,
    /// Names in lower case.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one answer: its head, then `Content-Length` bytes of body (or up to the end).
fn read_answer(s: &mut TcpStream) -> Option<Raw> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = buf[head_end + 4..].to_vec();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    while length.is_none_or(|l| body.len() < l) {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    Some(Raw {
        status,
        headers,
        body,
    })
}

/// Sends `request` exactly as given, from another thread (a server that answers before it has
/// read all of it is still heard), and reads the answer.
fn exchange(addr: SocketAddr, request: Vec<u8>) -> Raw {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(&request);
    });
    let answer = read_answer(&mut s);
    let _ = s.shutdown(Shutdown::Both);
    let _ = writer.join();
    answer.expect("an answer")
}

/// A problem+json answer with this status and code, its request id in body and header.
fn assert_problem(r: &Raw, status: u16, code: &str, what: &str) {
    assert_eq!(r.status, status, "{what}");
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{what}"
    );
    let p: Value = serde_json::from_slice(&r.body)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {:?}", r.body));
    assert_eq!(p["status"], status, "{what}: {p}");
    assert_eq!(p["code"], code, "{what}: {p}");
    assert_eq!(p["type"], format!("/docs#problem-{code}"), "{what}: {p}");
    assert!(
        p["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: {p}"
    );
    let id = p["requestId"].as_str().unwrap_or_default();
    assert!(!id.is_empty(), "{what}: {p}");
    assert_eq!(r.header("x-request-id"), Some(id), "{what}");
}

/// Waits until the server closes `s` (a read gives end of file or a reset), up to `within`;
/// the time it took, or None if it stayed open. Each `poke` is written first (one byte each
/// 200 ms: a client trickling what it sends).
fn closed_within(s: &mut TcpStream, within: Duration, poke: Option<&[u8]>) -> Option<Duration> {
    let start = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut trickle = poke.unwrap_or_default().iter().cycle();
    let mut buf = [0u8; 4096];
    while start.elapsed() < within {
        if poke.is_some() {
            let b = *trickle.next().unwrap();
            if s.write_all(&[b]).is_err() {
                return Some(start.elapsed());
            }
        }
        match s.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            // An answer (a 408 to a trickled body) may come before the close.
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
    None
}

/// Raises this process's soft limit of open files to `want` if it is lower (the hard limit
/// allowing): the flood below needs more than the 1,024 of some systems.
fn raise_own_file_limit(want: u64) {
    let pid = std::process::id().to_string();
    let out = Command::new("prlimit")
        .args(["--pid", &pid, "--nofile", "--output=SOFT", "--noheadings"])
        .output()
        .expect("prlimit (util-linux) is needed by this test");
    let soft: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(u64::MAX);
    if soft < want {
        let ok = Command::new("prlimit")
            .args(["--pid", &pid, &format!("--nofile={want}:")])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "this test needs {want} open files (ulimit -n)");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_idle_connections_under_a_1024_file_limit_leaves_the_server_answering() {
    let db = common::test_db(false).await;
    let server = common::start_with(&db.url, &[], &["prlimit", "--nofile=1024:1024", "--"]);
    let to = addr(&server);
    raise_own_file_limit(4096);
    let flood = tokio::task::spawn_blocking(move || {
        (0..1100)
            .map(|_| TcpStream::connect_timeout(&to, Duration::from_secs(10)))
            .filter_map(Result::ok)
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert!(flood.len() >= 1024, "only {} connected", flood.len());
    let http = http();
    for attempt in 0..3 {
        let started = Instant::now();
        let r = http
            .get(format!("{}/healthz", server.base))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let took = started.elapsed();
        let status = r.map(|r| r.status().as_u16());
        assert!(
            matches!(status, Ok(200)) && took < Duration::from_secs(1),
            "attempt {attempt}: /healthz answered {status:?} after {took:?} with {} idle connections open",
            flood.len()
        );
    }
    drop(flood);
}

#[tokio::test]
async fn connections_that_send_nothing_or_send_headers_too_slowly_are_closed() {
    let db = common::test_db(false).await;
    let server = common::start_with(
        &db.url,
        &["--header-timeout", "1s", "--idle-timeout", "4s"],
        &[],
    );
    let to = addr(&server);
    tokio::task::spawn_blocking(move || {
        let limit = Duration::from_secs(20);
        // Connected, and not a byte sent.
        let mut silent = TcpStream::connect(to).unwrap();
        let took = closed_within(&mut silent, limit, None);
        assert!(
            took.is_some(),
            "a silent connection stayed open for {limit:?}"
        );
        // A request head sent one byte each 200 ms never completes in 1 s.
        let mut slow = TcpStream::connect(to).unwrap();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let took = closed_within(&mut slow, limit, Some(b"X-Slow: drip\r\n"));
        assert!(
            took.is_some(),
            "a trickled head was still read after {limit:?}"
        );
        // A kept-alive connection answered once, then quiet, is closed after the idle timeout.
        let mut kept = TcpStream::connect(to).unwrap();
        kept.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let first = read_answer(&mut kept).expect("an answer");
        assert_eq!(first.status, 200);
        let took = closed_within(&mut kept, limit, None);
        assert!(took.is_some(), "an idle kept-alive connection stayed open");
        // And it was kept for the idle timeout (4 s), not only the header timeout (1 s).
        assert!(
            took.unwrap() > Duration::from_secs(2),
            "closed after {took:?}"
        );
    })
    .await
    .unwrap();
    still_answers(&server).await;
}

#[tokio::test]
async fn a_body_sent_too_slowly_is_cut_off_with_a_408_problem() {
    let db = common::test_db(false).await;
    let (client, secret) = seed(&db.url).await;
    let server = common::start_with(&db.url, &["--body-timeout", "2s"], &[]);
    let token = common::token(&http(), &server.base, client, &secret).await;
    let to = addr(&server);
    tokio::task::spawn_blocking(move || {
        for (what, head) in [
            (
                "token request",
                "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n".to_string(),
            ),
            (
                "skill creation",
                format!("POST /api/v2/admin/skills HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"),
            ),
        ] {
            let mut s = TcpStream::connect(to).unwrap();
            s.write_all(head.as_bytes()).unwrap();
            // One byte of the body each 200 ms, for at most 20 s.
            let mut w = s.try_clone().unwrap();
            let trickle = std::thread::spawn(move || {
                let start = Instant::now();
                while start.elapsed() < Duration::from_secs(20) && w.write_all(b"a").is_ok() {
                    std::thread::sleep(Duration::from_millis(200));
                }
            });
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let started = Instant::now();
            let answer = read_answer(&mut s)
                .unwrap_or_else(|| panic!("{what}: no answer to a trickled body"));
            // Cut off by the 2 s body timeout, long before the trickle would have ended.
            assert!(started.elapsed() < Duration::from_secs(15), "{what}: answered after {:?}", started.elapsed());
            // The connection is closed after the answer (the trickle then fails).
            let mut rest = Vec::new();
            let end = s.read_to_end(&mut rest);
            assert!(
                !matches!(&end, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
                "{what}: still open 30 s after the answer"
            );
            let _ = s.shutdown(Shutdown::Both);
            trickle.join().unwrap();
            assert_problem(&answer, 408, "request_timeout", what);
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_stalled_clients_exits_within_the_grace_and_keeps_acknowledged_writes() {
    let db = common::test_db(false).await;
    let (client, secret) = seed(&db.url).await;
    let grace = Duration::from_secs(10);
    let mut server = common::start_with(&db.url, &["--shutdown-grace", "10s"], &[]);
    let http = http();
    let token = common::token(&http, &server.base, client, &secret).await;
    let r = http
        .post(format!("{}/api/v2/admin/skills", server.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Acknowledged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let skill: Value = r.json().await.unwrap();
    let id = skill["id"].as_str().unwrap().to_string();

    let to = addr(&server);
    let mut half_head = TcpStream::connect(to).unwrap();
    half_head
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Half: ")
        .unwrap();
    let mut half_body = TcpStream::connect(to).unwrap();
    half_body
        .write_all(
            format!("POST /api/v2/admin/skills HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"name\": ")
                .as_bytes(),
        )
        .unwrap();
    // Both are being read by the server before it is told to stop.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let pid = server.child.id().to_string();
    let signalled = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let mut exit = None;
    while signalled.elapsed() < grace + Duration::from_secs(20) {
        if let Some(status) = server.child.try_wait().unwrap() {
            exit = Some((status, signalled.elapsed()));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, took) = exit.expect("the server was still running 30 s after SIGTERM");
    assert!(status.success(), "exit status {status}");
    assert!(
        took < grace,
        "exited {took:?} after SIGTERM, not within the {grace:?} grace"
    );
    drop((half_head, half_body, server));

    let server = common::start(&db.url);
    let token = common::token(&http, &server.base, client, &secret).await;
    let r = http
        .get(format!("{}/api/v2/admin/skills/{id}", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the acknowledged skill is gone");
}

#[tokio::test]
async fn what_the_http_parser_refuses_is_answered_as_problem_json() {
    let db = common::test_db(false).await;
    let (client, secret) = seed(&db.url).await;
    let server = common::start(&db.url);
    let token = common::token(&http(), &server.base, client, &secret).await;
    let to = addr(&server);
    tokio::task::spawn_blocking(move || {
        let query: Vec<String> = (0..10_000).map(|i| format!("p{i}={i}")).collect();
        let long_line = "a".repeat(2 << 20);
        let many: String = (0..5_000).map(|i| format!("X-Header-{i}: v\r\n")).collect();
        let big_value = "v".repeat(1 << 20);
        let cases: Vec<(&str, u16, &str, String)> = vec![
            (
                "a query of 10,000 parameters",
                414,
                "uri_too_long",
                format!("GET /healthz?{} HTTP/1.1\r\nHost: x\r\n\r\n", query.join("&")),
            ),
            (
                "a 2 MB request line",
                431,
                "headers_too_large",
                format!("GET /{long_line} HTTP/1.1\r\nHost: x\r\n\r\n"),
            ),
            (
                "5,000 headers",
                431,
                "headers_too_large",
                format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n"),
            ),
            (
                "a 1 MB header value",
                431,
                "headers_too_large",
                format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {big_value}\r\n\r\n"),
            ),
            (
                "two different Content-Lengths",
                400,
                "bad_request",
                "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde".to_string(),
            ),
            (
                "a request line that is not HTTP",
                400,
                "bad_request",
                "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n".to_string(),
            ),
            (
                "a chunk size that is not hexadecimal",
                400,
                "bad_request",
                format!("POST /api/v2/admin/skills HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n"),
            ),
        ];
        for (what, status, code, request) in cases {
            let r = exchange(to, request.into_bytes());
            assert_problem(&r, status, code, what);
        }
    })
    .await
    .unwrap();
    still_answers(&server).await;
}

#[tokio::test]
async fn a_405_detail_names_the_methods_allow_lists() {
    let db = common::test_db(false).await;
    let server = common::start(&db.url);
    let r = http()
        .delete(format!("{}/api/v2/admin/skills", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let allow = r.headers()["allow"].to_str().unwrap().to_string();
    let p: Value = r.json().await.unwrap();
    let detail = p["detail"].as_str().unwrap();
    assert!(!detail.trim_end().ends_with(':'), "{detail}");
    for m in allow.split(',').map(str::trim) {
        assert!(
            detail.contains(m),
            "{detail} does not name {m} (Allow: {allow})"
        );
    }
    assert!(detail.contains("DELETE"), "{detail}");
}
