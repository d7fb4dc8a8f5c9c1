//! Addresses as people type them, read in one place for the engine and every command (`--target`,
//! `--listen`, `--metrics`): `[v6addr]:port`, `v4addr:port` or `name:port`.
//!
//! - A name is resolved once, here: its IPv6 addresses (AAAA) first, then IPv4 (A); the first of the
//!   family chosen is used, and the record names the address, not the name.
//! - A link-local IPv6 address carries its zone, the interface it is reached through (RFC 4007 §11:
//!   `[fe80::1%eth0]:4433`, or the interface's index, `%2`); the zone becomes the socket address's
//!   `sin6_scope_id`. Without one the kernel cannot tell the link, so it is required; a zone on any
//!   other address means nothing, so it is refused.
//! - A target is one host and port: port 0, a wildcard (`[::]`) or a multicast address cannot be one.
//!   A listening address may be a wildcard, and port 0 lets the kernel pick.
//!
//! Every refusal is an invalid argument naming its field and the text as typed.

use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6, ToSocketAddrs};

use crate::error::{Error, Result};

/// What an address is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressUse {
    /// A server to reach: one host, one port (field `target`).
    Target,
    /// Where a server listens: a wildcard and port 0 allowed (field `listen`).
    Listen,
}

impl AddressUse {
    /// The field an error names.
    pub fn field(self) -> &'static str {
        match self {
            AddressUse::Target => "target",
            AddressUse::Listen => "listen",
        }
    }
}

/// The formats, for messages.
const FORMATS: &str = "expected [v6addr]:port, v4addr:port or name:port, e.g. [::1]:4433, [fe80::1%eth0]:4433";

/// Reads `text` as an address for `usage`, resolving a host name (AAAA first, then A).
///
/// Errors: `INVALID_ARGUMENT` with the field of `usage` (`target`, `listen`), for text that is no
/// address, a name that does not resolve, an unknown zone, a link-local address without its zone, or
/// what `usage` cannot take (see [`check`]).
pub fn parse_address(text: &str, usage: AddressUse) -> Result<SocketAddr> {
    let bad = |why: &str| Error::invalid_field(usage.field(), format!("\"{text}\": {why}"));
    let s = text.trim();
    let (host, port) = match s.strip_prefix('[') {
        Some(rest) => {
            let (host, port) = rest.split_once("]:").ok_or_else(|| bad(FORMATS))?;
            (Host::V6(host), port)
        }
        None => {
            let (host, port) = s.rsplit_once(':').ok_or_else(|| bad(&format!("no port; {FORMATS}")))?;
            if host.contains(':') {
                return Err(bad("an IPv6 address goes in brackets, e.g. [::1]:4433"));
            }
            (Host::Other(host), port)
        }
    };
    let port = match port.parse::<u16>() {
        Ok(p) if port.bytes().all(|b| b.is_ascii_digit()) => p,
        _ => return Err(bad(&format!("the port must be a number from 0 to 65535, got \"{port}\""))),
    };
    let addr = match host {
        Host::V6(h) => {
            let (ip, zone) = match h.split_once('%') {
                Some((ip, zone)) => (ip, Some(zone)),
                None => (h, None),
            };
            let ip: Ipv6Addr = ip.parse().map_err(|_| bad(&format!("\"{ip}\" is not an IPv6 address")))?;
            let scope_id = match zone {
                None => 0,
                Some(zone) => {
                    if !is_link_local(&ip) {
                        return Err(bad("a zone (%interface) is for link-local addresses (fe80::/10) only"));
                    }
                    zone_index(zone).map_err(|why| bad(&why))?
                }
            };
            SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope_id))
        }
        Host::Other(h) => match h.parse::<IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, port),
            Err(_) => resolve(h, port).map_err(|why| bad(&why))?,
        },
    };
    match refusal(addr, usage) {
        Some(why) => Err(bad(why)),
        None => Ok(addr),
    }
}

/// Checks a socket address for `usage` (the rules of [`parse_address`] for what it reads): a target is
/// one unicast host with a port other than 0; a listening address is not multicast; a link-local
/// address has its zone. Returns it unchanged.
pub fn check(addr: SocketAddr, usage: AddressUse) -> Result<SocketAddr> {
    match refusal(addr, usage) {
        Some(why) => Err(Error::invalid_field(usage.field(), format!("{addr}: {why}"))),
        None => Ok(addr),
    }
}

/// Why `addr` cannot serve for `usage`, if it cannot.
fn refusal(addr: SocketAddr, usage: AddressUse) -> Option<&'static str> {
    let ip = addr.ip();
    if ip.is_multicast() {
        return Some("a multicast address cannot be used");
    }
    if let SocketAddr::V6(v6) = addr {
        if is_link_local(v6.ip()) && v6.scope_id() == 0 {
            return Some("a link-local address needs its zone, the interface it is on: [fe80::1%eth0]:4433");
        }
    }
    match usage {
        AddressUse::Target if addr.port() == 0 => {
            Some("port 0 cannot be a target: give the port the server listens on")
        }
        AddressUse::Target if ip.is_unspecified() => {
            Some("a wildcard address cannot be a target: give the server's address")
        }
        _ => None,
    }
}

enum Host<'a> {
    /// Inside brackets: an IPv6 address, perhaps with a zone.
    V6(&'a str),
    /// An IPv4 address or a name.
    Other(&'a str),
}

/// fe80::/10 (RFC 4291 §2.5.6).
fn is_link_local(ip: &Ipv6Addr) -> bool {
    ip.segments()[0] & 0xffc0 == 0xfe80
}

/// The interface index a zone names: a number, or an interface's name.
fn zone_index(zone: &str) -> std::result::Result<u32, String> {
    if !zone.is_empty() && zone.bytes().all(|b| b.is_ascii_digit()) {
        return match zone.parse::<u32>() {
            Ok(i) if i > 0 => Ok(i),
            _ => Err(format!("no interface has index {zone}")),
        };
    }
    let name = std::ffi::CString::new(zone).map_err(|_| format!("no interface named \"{zone}\""))?;
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
    match unsafe { libc::if_nametoindex(name.as_ptr()) } {
        0 => Err(format!("no interface named \"{zone}\" here (see ip link)")),
        index => Ok(index),
    }
}

/// Resolves a host name, IPv6 first: the first AAAA answer, else the first A answer.
fn resolve(name: &str, port: u16) -> std::result::Result<SocketAddr, String> {
    let valid = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !valid {
        return Err(format!("\"{name}\" is neither an address nor a host name; {FORMATS}"));
    }
    let found: Vec<SocketAddr> =
        (name, port).to_socket_addrs().map_err(|e| format!("cannot resolve \"{name}\" ({e})"))?.collect();
    prefer_ipv6(&found).ok_or_else(|| format!("\"{name}\" has no IPv6 or IPv4 address"))
}

/// The first IPv6 address, else the first IPv4 one.
fn prefer_ipv6(found: &[SocketAddr]) -> Option<SocketAddr> {
    found.iter().find(|a| a.is_ipv6()).or_else(|| found.first()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn target(text: &str) -> Result<SocketAddr> {
        parse_address(text, AddressUse::Target)
    }

    fn refused(text: &str, usage: AddressUse, why: &str) {
        let e = parse_address(text, usage).expect_err(text);
        assert_eq!((e.code(), e.field()), (ErrorCode::InvalidArgument, Some(usage.field())), "{text}: {e:?}");
        assert!(e.message().contains(&format!("\"{text}\"")), "names the text as typed: {}", e.message());
        assert!(e.message().contains(why), "{text}: {}", e.message());
    }

    #[test]
    fn literals_of_both_families() {
        assert_eq!(target("[::1]:4433").unwrap(), "[::1]:4433".parse().unwrap());
        assert_eq!(target(" [fd00::2]:443 ").unwrap(), "[fd00::2]:443".parse().unwrap());
        assert_eq!(target("127.0.0.1:4433").unwrap(), "127.0.0.1:4433".parse().unwrap());
        assert_eq!(parse_address("[::]:0", AddressUse::Listen).unwrap(), "[::]:0".parse().unwrap());
        assert_eq!(parse_address("0.0.0.0:4433", AddressUse::Listen).unwrap(), "0.0.0.0:4433".parse().unwrap());
    }

    #[test]
    fn names_resolve_ipv6_first() {
        // localhost is in every hosts file, with ::1 beside 127.0.0.1 where the host has IPv6.
        let a = target("localhost:4433").unwrap();
        assert!(a.ip().is_loopback() && a.port() == 4433, "{a}");
        let v4: SocketAddr = "192.0.2.1:1".parse().unwrap();
        let v6: SocketAddr = "[2001:db8::1]:1".parse().unwrap();
        assert_eq!(prefer_ipv6(&[v4, v6]), Some(v6));
        assert_eq!(prefer_ipv6(&[v4]), Some(v4));
        assert_eq!(prefer_ipv6(&[]), None);
    }

    #[test]
    fn zones_become_the_scope_id() {
        // Loopback is interface 1 everywhere; a link-local address may be reached through it by index.
        let SocketAddr::V6(a) = target("[fe80::1%lo]:4433").unwrap() else { panic!("IPv6") };
        assert_eq!((a.scope_id(), a.port()), (1, 4433));
        let SocketAddr::V6(b) = target("[fe80::1%1]:4433").unwrap() else { panic!("IPv6") };
        assert_eq!(b.scope_id(), 1);
        // Printed with its index, the address reads back the same.
        assert_eq!(target(&b.to_string()).unwrap(), SocketAddr::V6(b));
    }

    #[test]
    fn what_cannot_be_used_is_refused_naming_the_text() {
        use AddressUse::{Listen, Target};
        refused("[::1]:0", Target, "port 0 cannot be a target");
        refused("localhost:0", Target, "port 0 cannot be a target");
        refused("[::]:4433", Target, "wildcard");
        refused("0.0.0.0:4433", Target, "wildcard");
        refused("[ff02::1]:4433", Target, "multicast");
        refused("[ff02::1]:4433", Listen, "multicast");
        refused("[fe80::1]:4433", Target, "needs its zone");
        refused("[fe80::1]:4433", Listen, "needs its zone");
        refused("[fe80::1%nosuchif0]:4433", Target, "no interface named \"nosuchif0\"");
        refused("[fe80::1%0]:4433", Target, "no interface has index 0");
        refused("[fd00::1%lo]:4433", Target, "link-local addresses (fe80::/10) only");
        refused("::1:4433", Target, "in brackets");
        refused("[::1]", Target, "expected [v6addr]:port");
        refused("[::1]:", Target, "the port must be a number");
        refused("[::1]:65536", Target, "the port must be a number");
        refused("[::1]:+443", Target, "the port must be a number");
        refused("localhost", Target, "no port");
        refused("[::g]:4433", Target, "not an IPv6 address");
        refused("a b:4433", Target, "neither an address nor a host name");
        refused(":4433", Target, "neither an address nor a host name");
        refused("no-such-host.invalid:4433", Target, "cannot resolve \"no-such-host.invalid\"");
    }

    #[test]
    fn a_socket_address_is_checked_the_same_way() {
        let e = check("[::1]:0".parse().unwrap(), AddressUse::Target).unwrap_err();
        assert_eq!(e.field(), Some("target"));
        assert!(check("[::1]:0".parse().unwrap(), AddressUse::Listen).is_ok());
    }
}
