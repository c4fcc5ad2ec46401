//! The bounds of the HTTP layer and their defaults: how long a client may take to send a
//! request, how long a kept-alive connection may sit idle, how many connections may be open,
//! and how long a shutdown waits for requests in flight.

use std::time::Duration;

/// File descriptors kept for everything but client connections: the listener, the database
/// (an SQLite connection holds its file, WAL and shared memory; a PostgreSQL one its socket),
/// logs, and the runtime's own.
const RESERVED_FILES: u64 = 128;

/// The cap where the process has no file limit (or the platform has none to read).
const UNLIMITED_CONNECTIONS: usize = 65_536;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// From a new connection, or from the first byte of the next request on a kept-alive one,
    /// to the end of the request's head (request line and headers). A connection that sends
    /// nothing at all is closed when it runs out.
    pub header_timeout: Duration,
    /// How long a kept-alive connection may wait, silent, for its next request.
    pub idle_timeout: Duration,
    /// From the end of the head to the end of the body; past it the request is answered 408.
    pub body_timeout: Duration,
    /// Connections open at once. At the cap, a new one closes the oldest connection that is
    /// not serving a request; when every one is, it waits for one to end.
    pub max_connections: usize,
    /// After the shutdown signal: how long requests already received in full may still take.
    /// Connections with nothing in flight, or with a request still arriving, close at once.
    pub shutdown_grace: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_timeout: Duration::from_secs(10),
            // Longer than the 60 s idle timeout of common load balancers, so that the balancer
            // (which reuses connections) is the one to close an idle one, never this server
            // under a request it just sent.
            idle_timeout: Duration::from_secs(75),
            body_timeout: Duration::from_secs(30),
            max_connections: default_max_connections(),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// The default cap: the soft limit of open files, less [`RESERVED_FILES`] (and never more
/// than half of a small limit), so that the listener never meets "too many open files".
pub fn default_max_connections() -> usize {
    connections_for(open_file_limit())
}

fn connections_for(file_limit: Option<u64>) -> usize {
    match file_limit {
        None => UNLIMITED_CONNECTIONS,
        Some(n) => {
            let cap = n.saturating_sub(RESERVED_FILES).max(n / 2).max(1);
            usize::try_from(cap).map_or(UNLIMITED_CONNECTIONS, |c| c.min(UNLIMITED_CONNECTIONS))
        }
    }
}

/// The soft `RLIMIT_NOFILE` of this process; `None` when unlimited.
#[cfg(unix)]
fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
fn open_file_limit() -> Option<u64> {
    Some(1024)
}

/// A duration as flags take it: a number and a unit, `500ms`, `10s`, `2m` or `1h` (a bare
/// number is seconds). Zero is refused: every bound here must be able to pass.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration: write e.g. 10s, 500ms or 2m"))?;
    let d = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        other => {
            return Err(format!(
                "`{other}` is not a unit of time: use ms, s, m or h"
            ))
        }
    };
    if d.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit_and_refuse_zero_and_nonsense() {
        for (s, d) in [
            ("500ms", Duration::from_millis(500)),
            ("10s", Duration::from_secs(10)),
            ("10", Duration::from_secs(10)),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
        ] {
            assert_eq!(parse_duration(s), Ok(d), "{s}");
        }
        for s in ["0s", "", "s", "ten", "5 weeks", "-1s", "1.5s"] {
            assert!(parse_duration(s).is_err(), "{s}");
        }
    }

    #[test]
    fn the_cap_leaves_room_below_the_file_limit() {
        assert_eq!(connections_for(Some(1024)), 1024 - 128);
        assert_eq!(connections_for(Some(65_536)), 65_536 - 128);
        // A small limit keeps half for connections, not nothing.
        assert_eq!(connections_for(Some(200)), 100);
        assert_eq!(connections_for(Some(1)), 1);
        assert_eq!(connections_for(None), UNLIMITED_CONNECTIONS);
        assert_eq!(connections_for(Some(u64::MAX)), UNLIMITED_CONNECTIONS);
    }
}
