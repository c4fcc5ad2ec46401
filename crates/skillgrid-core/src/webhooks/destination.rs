//! Where a delivery may go. A webhook makes the server send requests to an address a client
//! chose, so that address must not reach what only the server can reach: cloud metadata
//! services (which hand out credentials), link-local neighbours, or private and loopback
//! services unless the operator says on-premises consumers live there.
//!
//! The rules apply twice: when an endpoint is created or changed (to its host, when that is an
//! IP literal or a name known to be refused) and at delivery time, to every address its name
//! resolves to, so a name that later points somewhere refused is refused then.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A cloud metadata service: never.
    Metadata,
    /// Link-local (169.254.0.0/16, fe80::/10): never.
    LinkLocal,
    /// Unspecified, multicast, broadcast or otherwise reserved: never a host.
    NotAHost,
    /// Loopback (127.0.0.0/8, ::1, `localhost`): only where the operator allows private
    /// destinations.
    Loopback,
    /// Private or shared (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7): only where the
    /// operator allows private destinations.
    Private,
}

impl Refusal {
    /// Whether the operator's permission for private destinations lifts this refusal.
    pub fn allowed_privately(self) -> bool {
        matches!(self, Refusal::Loopback | Refusal::Private)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::Metadata => "a cloud metadata service, where webhooks are never sent",
            Refusal::LinkLocal => "a link-local address, where webhooks are never sent",
            Refusal::NotAHost => {
                "an unspecified, multicast, broadcast or reserved address, which is no host"
            }
            Refusal::Loopback => {
                "a loopback address, where webhooks go only when the server is started with --webhooks-allow-private"
            }
            Refusal::Private => {
                "a private address, where webhooks go only when the server is started with --webhooks-allow-private"
            }
        })
    }
}

/// Where deliveries may go: the operator's one choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// Loopback and private ranges allowed (on-premises consumers).
    pub allow_private: bool,
}

/// Host names of metadata services, refused before any resolution.
const METADATA_NAMES: [&str; 2] = ["metadata.google.internal", "metadata.goog"];

impl Policy {
    /// `Ok` when a delivery may go to `ip`.
    pub fn check_ip(self, ip: IpAddr) -> Result<(), Refusal> {
        self.lift(classify(ip))
    }

    /// `Ok` when a delivery may go to the host of a URL as written: an IP literal is checked
    /// as an address, `localhost` as loopback, a metadata service's name refused; any other
    /// name passes here and is checked after resolution, at delivery.
    pub fn check_host(self, host: &url::Host<&str>) -> Result<(), Refusal> {
        match host {
            url::Host::Ipv4(ip) => self.check_ip(IpAddr::V4(*ip)),
            url::Host::Ipv6(ip) => self.check_ip(IpAddr::V6(*ip)),
            url::Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if METADATA_NAMES.contains(&name.as_str()) {
                    Err(Refusal::Metadata)
                } else if name == "localhost" || name.ends_with(".localhost") {
                    self.lift(Err(Refusal::Loopback))
                } else {
                    Ok(())
                }
            }
        }
    }

    fn lift(self, verdict: Result<(), Refusal>) -> Result<(), Refusal> {
        match verdict {
            Err(r) if r.allowed_privately() && self.allow_private => Ok(()),
            other => other,
        }
    }
}

/// What `ip` is, before the operator's permission.
fn classify(ip: IpAddr) -> Result<(), Refusal> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            // `::ffff:a.b.c.d` reaches the IPv4 address a.b.c.d.
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

fn classify_v4(ip: Ipv4Addr) -> Result<(), Refusal> {
    let [a, b, ..] = ip.octets();
    // Metadata first: 169.254.169.254 is link-local too, but its reason is the sharper one.
    if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) {
        return Err(Refusal::Metadata);
    }
    if ip.is_link_local() {
        return Err(Refusal::LinkLocal);
    }
    // 0.0.0.0/8 ("this network"), 240.0.0.0/4 (reserved) and the broadcast address.
    if ip.is_unspecified() || a == 0 || ip.is_multicast() || ip.is_broadcast() || a >= 240 {
        return Err(Refusal::NotAHost);
    }
    if ip.is_loopback() {
        return Err(Refusal::Loopback);
    }
    // 100.64.0.0/10: carrier-grade NAT, shared address space.
    let shared = a == 100 && (64..128).contains(&b);
    if ip.is_private() || shared {
        return Err(Refusal::Private);
    }
    Ok(())
}

fn classify_v6(ip: Ipv6Addr) -> Result<(), Refusal> {
    let first = ip.segments()[0];
    // AWS's metadata service on IPv6 (Nitro).
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Err(Refusal::Metadata);
    }
    if first & 0xffc0 == 0xfe80 {
        return Err(Refusal::LinkLocal);
    }
    if ip.is_unspecified() || ip.is_multicast() {
        return Err(Refusal::NotAHost);
    }
    if ip.is_loopback() {
        return Err(Refusal::Loopback);
    }
    // fc00::/7: unique local addresses.
    if first & 0xfe00 == 0xfc00 {
        return Err(Refusal::Private);
    }
    // `::a.b.c.d` (deprecated IPv4-compatible) and NAT64's 64:ff9b::/96 reach IPv4 addresses
    // too: judged by the address they carry.
    let s = ip.segments();
    if s[..6] == [0; 6] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., a, b, c, d] = ip.octets();
        return classify_v4(Ipv4Addr::new(a, b, c, d));
    }
    Ok(())
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

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Each address, and what each policy says of it.
    fn table() -> Vec<(&'static str, Option<Refusal>)> {
        use Refusal::*;
        vec![
            ("93.184.215.14", None),
            ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
            ("169.254.169.254", Some(Metadata)),
            ("100.100.100.200", Some(Metadata)),
            ("fd00:ec2::254", Some(Metadata)),
            ("169.254.0.1", Some(LinkLocal)),
            ("169.254.255.255", Some(LinkLocal)),
            ("fe80::1", Some(LinkLocal)),
            ("febf::1", Some(LinkLocal)),
            ("0.0.0.0", Some(NotAHost)),
            ("0.1.2.3", Some(NotAHost)),
            ("::", Some(NotAHost)),
            ("224.0.0.1", Some(NotAHost)),
            ("239.255.255.250", Some(NotAHost)),
            ("ff02::1", Some(NotAHost)),
            ("255.255.255.255", Some(NotAHost)),
            ("240.0.0.1", Some(NotAHost)),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.0.9", Some(Loopback)),
            ("::1", Some(Loopback)),
            ("10.0.0.1", Some(Private)),
            ("10.255.255.255", Some(Private)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.32.0.1", None),
            ("172.15.255.255", None),
            ("192.168.1.1", Some(Private)),
            ("192.169.0.1", None),
            ("100.64.0.1", Some(Private)),
            ("100.127.255.255", Some(Private)),
            ("100.128.0.1", None),
            ("100.63.255.255", None),
            ("fc00::1", Some(Private)),
            ("fdff:ffff::1", Some(Private)),
            ("fe00::1", None),
            // IPv4-mapped IPv6 reaches the IPv4 address it carries.
            ("::ffff:169.254.169.254", Some(Metadata)),
            ("::ffff:169.254.1.1", Some(LinkLocal)),
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:10.1.2.3", Some(Private)),
            ("::ffff:192.168.0.1", Some(Private)),
            ("::ffff:0.0.0.0", Some(NotAHost)),
            ("::ffff:93.184.215.14", None),
            // So do IPv4-compatible and NAT64 addresses.
            ("::169.254.169.254", Some(Metadata)),
            ("64:ff9b::a00:1", Some(Private)),
            ("64:ff9b::5db8:d70e", None),
        ]
    }

    #[test]
    fn each_range_is_refused_for_its_reason() {
        for (addr, refusal) in table() {
            assert_eq!(
                STRICT.check_ip(ip(addr)),
                refusal.map_or(Ok(()), Err),
                "{addr}"
            );
        }
    }

    #[test]
    fn allowing_private_destinations_lifts_loopback_and_private_only() {
        for (addr, refusal) in table() {
            let expected = match refusal {
                Some(r) if !r.allowed_privately() => Err(r),
                _ => Ok(()),
            };
            assert_eq!(LENIENT.check_ip(ip(addr)), expected, "{addr}");
        }
    }

    #[test]
    fn hosts_as_written_are_judged_by_literal_or_known_name() {
        let host = |s: &str| url::Url::parse(s).unwrap().host().unwrap().to_owned();
        let check = |p: Policy, s: &str| {
            let h = host(s);
            let h = match &h {
                url::Host::Domain(d) => url::Host::Domain(d.as_str()),
                url::Host::Ipv4(a) => url::Host::Ipv4(*a),
                url::Host::Ipv6(a) => url::Host::Ipv6(*a),
            };
            p.check_host(&h)
        };
        assert_eq!(check(STRICT, "https://example.com/h"), Ok(()));
        assert_eq!(
            check(
                LENIENT,
                "http://metadata.google.internal/computeMetadata/v1/"
            ),
            Err(Refusal::Metadata)
        );
        assert_eq!(
            check(LENIENT, "http://METADATA.google.internal./"),
            Err(Refusal::Metadata)
        );
        assert_eq!(
            check(STRICT, "http://localhost:8080/"),
            Err(Refusal::Loopback)
        );
        assert_eq!(check(LENIENT, "http://localhost:8080/"), Ok(()));
        assert_eq!(
            check(STRICT, "http://[::ffff:a9fe:a9fe]/"),
            Err(Refusal::Metadata)
        );
        // The URL parser reads the shorthand forms of IPv4 too: they are no way around.
        assert_eq!(check(LENIENT, "http://0xA9FEA9FE/"), Err(Refusal::Metadata));
        assert_eq!(check(LENIENT, "http://2852039166/"), Err(Refusal::Metadata));
        assert_eq!(check(STRICT, "http://10.1/"), Err(Refusal::Private));
    }
}
