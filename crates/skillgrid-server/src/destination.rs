//! Where a webhook delivery may go, at delivery time: the URL's host resolved, and every
//! address it resolves to judged by the destination policy (`skillgrid_core::webhooks::
//! destination`). The caller connects only to the addresses answered here, never resolving the
//! name again, so a name that answers differently on a second lookup (DNS rebinding) cannot
//! steer a delivery somewhere refused.

use skillgrid_core::webhooks::destination::{Policy, Refusal};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Why a delivery may not go to a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The URL has no host, or a scheme other than http and https.
    NotHttp,
    /// The name does not resolve (the resolver's words).
    Unresolved(String),
    /// The host, or one of the addresses its name resolves to, is refused.
    Policy(IpAddr, Refusal),
    /// The host's name is refused before any lookup (a metadata service, `localhost`).
    Name(Refusal),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::NotHttp => f.write_str("the URL is not an http or https URL with a host"),
            Refused::Unresolved(e) => write!(f, "the host does not resolve: {e}"),
            Refused::Policy(ip, r) => write!(f, "the host resolves to {ip}, {r}"),
            Refused::Name(r) => write!(f, "the host is {r}"),
        }
    }
}

/// The addresses a delivery to `url` may connect to under `policy`: every address the host
/// resolves to, all of them allowed (one refused address refuses the lot).
pub async fn resolve(url: &url::Url, policy: Policy) -> Result<Vec<SocketAddr>, Refused> {
    let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
        return Err(Refused::NotHttp);
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refused::NotHttp);
    }
    resolve_host(host, port, policy).await
}

/// [`resolve`] for a host and port: an address is judged as it is, a name is judged and then
/// looked up.
pub async fn resolve_host(
    host: url::Host<&str>,
    port: u16,
    policy: Policy,
) -> Result<Vec<SocketAddr>, Refused> {
    let addrs: Vec<SocketAddr> = match host {
        url::Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        url::Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        url::Host::Domain(name) => {
            policy
                .check_host(&url::Host::Domain(name))
                .map_err(Refused::Name)?;
            tokio::net::lookup_host((name, port))
                .await
                .map_err(|e| Refused::Unresolved(e.to_string()))?
                .collect()
        }
    };
    if addrs.is_empty() {
        return Err(Refused::Unresolved("no address".into()));
    }
    for a in &addrs {
        policy
            .check_ip(a.ip())
            .map_err(|r| Refused::Policy(a.ip(), r))?;
    }
    Ok(addrs)
}

impl std::error::Error for Refused {}

/// The HTTP client's resolver: a name's addresses, only when the policy allows every one of
/// them (the client connects to what this answers, never looking the name up again).
#[derive(Debug, Clone, Copy)]
pub struct PolicyResolver(pub Policy);

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        Box::pin(async move {
            let addrs = resolve_host(url::Host::Domain(name.as_str()), 0, policy).await?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: Policy = Policy {
        allow_private: false,
    };
    const LENIENT: Policy = Policy {
        allow_private: true,
    };

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[tokio::test]
    async fn literals_are_judged_without_a_lookup_and_keep_their_port() {
        assert_eq!(
            resolve(&url("http://169.254.169.254/latest/"), LENIENT).await,
            Err(Refused::Policy(
                "169.254.169.254".parse().unwrap(),
                Refusal::Metadata
            ))
        );
        assert_eq!(
            resolve(&url("https://[::ffff:10.0.0.1]/"), STRICT).await,
            Err(Refused::Policy(
                "::ffff:10.0.0.1".parse().unwrap(),
                Refusal::Private
            ))
        );
        assert_eq!(
            resolve(&url("http://127.0.0.1:9000/h"), LENIENT).await,
            Ok(vec!["127.0.0.1:9000".parse().unwrap()])
        );
        assert_eq!(
            resolve(&url("https://10.0.0.1/"), LENIENT).await,
            Ok(vec!["10.0.0.1:443".parse().unwrap()])
        );
        assert_eq!(
            resolve(&url("ftp://10.0.0.1/"), LENIENT).await,
            Err(Refused::NotHttp)
        );
    }

    #[tokio::test]
    async fn names_are_refused_before_a_lookup_or_judged_by_what_they_resolve_to() {
        // Never looked up: no query leaves the machine for these.
        assert_eq!(
            resolve(&url("http://metadata.google.internal/"), LENIENT).await,
            Err(Refused::Name(Refusal::Metadata))
        );
        assert_eq!(
            resolve(&url("http://localhost:8080/"), STRICT).await,
            Err(Refused::Name(Refusal::Loopback))
        );
        // `localhost` resolves locally (the hosts file) to loopback addresses only.
        let addrs = resolve(&url("http://localhost:8080/"), LENIENT)
            .await
            .unwrap();
        assert!(!addrs.is_empty());
        assert!(addrs
            .iter()
            .all(|a| a.ip().is_loopback() && a.port() == 8080));
    }
}
