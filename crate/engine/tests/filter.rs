//! The server socket's filter (`server::filter`) on a real socket: every kind of datagram that can never be
//! valid for the server is dropped by the kernel (and counted with the socket's drops), and every kind of
//! small packet a connection or a Version Negotiation needs passes, over IPv6 and IPv4 alike. No clock: a
//! last datagram that passes marks the end of what was sent (one sender's datagrams arrive in order).

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use stoq_engine::server::filter::Shed;
use stoq_engine::server::fuzzing::Datagrams;
use stoq_engine::server::{filter, source_prefix, RetryMode};

const UNKNOWN: u32 = 0x1a2a_3a4a;
/// The server's connection-ID tag (`Gate::cid_tag`) in these tests.
const TAG: u32 = 0x5eed_7a95;

/// A short header (`first` byte) for a connection ID with the server's tag, padded to `len` bytes.
fn short(first: u8, len: usize) -> Vec<u8> {
    let mut d = vec![first, 0x11];
    d.extend(TAG.to_be_bytes());
    d.resize(len, 0x22);
    d
}

/// A long header (`first` byte, `version`, the IDs) padded with zeros to `len` bytes, or cut to it.
fn long(first: u8, version: u32, dcid: &[u8], scid: &[u8], len: usize) -> Vec<u8> {
    let mut d = vec![first];
    d.extend(version.to_be_bytes());
    d.push(dcid.len() as u8);
    d.extend_from_slice(dcid);
    d.push(scid.len() as u8);
    d.extend_from_slice(scid);
    d.resize(len, 0);
    d
}

fn dropped() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("short header, fixed bit clear", vec![0x00; 100]),
        ("short header, fixed bit clear, key phase set", vec![0x24; 1200]),
        ("short header too short for a 20-byte connection ID", short(0x40, 20)),
        ("short header whose connection ID lacks the server's tag", vec![0x40; 1200]),
        ("short header with the tag one bit off", {
            let mut d = short(0x40, 100);
            d[5] ^= 1;
            d
        }),
        ("one byte", vec![0xc0]),
        ("long header cut before the DCID length", vec![0xc0, 0, 0, 0, 1, 8]),
        ("long header cut before the SCID length", long(0xc0, 1, &[1; 8], &[], 14)),
        ("long header cut inside the SCID", long(0xc0, 1, &[1; 8], &[2; 8], 20)),
        ("DCID longer than 20 bytes (RFC 9000 §17.2)", long(0xc0, 1, &[1; 21], &[2; 8], 1200)),
        ("SCID longer than 20 bytes (RFC 9000 §17.2)", long(0xc0, 1, &[1; 8], &[2; 21], 1200)),
        ("Version Negotiation (RFC 9000 §6.1)", long(0xc0, 0, &[1; 8], &[2; 8], 1200)),
        ("unknown version, 1199 bytes (RFC 9000 §5.2.2)", long(0xc0, UNKNOWN, &[1; 8], &[2; 8], 1199)),
        ("unknown version, 8 bytes (RFC 9000 §5.2.2)", long(0xc0, UNKNOWN, &[], &[], 8)),
        ("version 1 Initial, 1199 bytes (RFC 9000 §14.1)", long(0xc0, 1, &[1; 8], &[2; 8], 1199)),
        ("version 1 Initial, 100 bytes (RFC 9000 §14.1)", long(0xc3, 1, &[1; 20], &[2; 20], 100)),
        ("version 1 Handshake, fixed bit clear (RFC 9000 §17.2)", long(0xa0, 1, &[1; 20], &[2; 8], 60)),
    ]
}

fn passed() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("empty (counted by the server)", vec![]),
        ("short header of 21 bytes", short(0x40, 21)),
        ("short header, spin and key phase bits set", short(0x7f, 41)),
        ("version 1 Handshake, 50 bytes", long(0xe0, 1, &[1; 20], &[2; 8], 50)),
        ("version 1 Handshake, IDs of 20 bytes", long(0xe0, 1, &[1; 20], &[2; 20], 48)),
        ("version 1 0-RTT, 60 bytes", long(0xd0, 1, &[1; 20], &[2; 8], 60)),
        ("version 1 Initial, 1200 bytes", long(0xc0, 1, &[1; 8], &[2; 8], 1200)),
        (
            "unknown version, 1200 bytes (answered with Version Negotiation)",
            long(0xc0, UNKNOWN, &[1; 8], &[2; 8], 1200),
        ),
        ("unknown version, fixed bit clear, 1200 bytes", long(0x80, UNKNOWN, &[1; 8], &[2; 8], 1200)),
        ("unknown version, IDs of 20 bytes, 1500 bytes", long(0xc0, UNKNOWN, &[1; 20], &[2; 20], 1500)),
    ]
}

/// The kernel's drop count of `sock` (`/proc/net/udp{,6}`, found by the socket's inode).
fn drops(sock: &UdpSocket) -> u64 {
    let inode = std::fs::metadata(format!("/proc/self/fd/{}", sock.as_raw_fd())).unwrap().ino().to_string();
    for table in ["/proc/net/udp6", "/proc/net/udp"] {
        for line in std::fs::read_to_string(table).unwrap().lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols[9] == inode {
                return cols[12].parse().unwrap();
            }
        }
    }
    panic!("socket {inode} not in /proc/net/udp*");
}

fn check(listen: &str, from: &str, to: impl Fn(SocketAddr) -> SocketAddr) {
    let sock = UdpSocket::bind(listen).unwrap();
    filter::attach(&sock, TAG, &[]).unwrap();
    // A bound on a failure, not a measurement: everything sent is queued long before.
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let target = to(sock.local_addr().unwrap());
    let sender = UdpSocket::bind(from).unwrap();
    let (dropped, passed) = (dropped(), passed());
    // interleaved, so that a datagram dropped by mistake shows as a gap in the order
    let mut sent = Vec::new();
    for i in 0..dropped.len().max(passed.len()) {
        sent.extend(dropped.get(i).into_iter().chain(passed.get(i)).cloned());
    }
    let datagrams: Vec<Vec<u8>> = sent.iter().map(|(_, d)| d.clone()).collect();
    let got: Vec<&str> = sent
        .iter()
        .zip(arrived(&sock, &sender, target, &datagrams))
        .filter(|(_, a)| *a)
        .map(|((n, _), _)| *n)
        .collect();
    let want: Vec<&str> = passed.iter().map(|(name, _)| *name).collect();
    assert_eq!(got, want, "from {from} to {target}");
    assert_eq!(drops(&sock), dropped.len() as u64, "each dropped datagram counted once");
}

#[test]
fn datagrams_that_can_never_be_valid_are_dropped_in_the_kernel_over_ipv6() {
    check("[::1]:0", "[::1]:0", |a| a);
}

#[test]
fn and_over_ipv4_to_a_dual_stack_socket() {
    check("[::]:0", "127.0.0.1:0", |a| SocketAddr::from(([127, 0, 0, 1], a.port())));
}

/// The filter is consistent with the datagram entry point: what it drops, the entry point would have
/// dropped at once too (no state, no reply). Checked on every dropped kind, through the endpoint
/// without a socket.
#[test]
fn what_the_filter_drops_the_server_would_drop_too() {
    let mut endpoint = Datagrams::new(RetryMode::Never);
    for (name, d) in dropped() {
        assert!(endpoint.dropped_at_once(&d), "{name}");
    }
}

/// Sends `datagrams` from `sender` to `target`, then a marker that passes; returns which arrived (one
/// sender's datagrams arrive in order).
fn arrived(sock: &UdpSocket, sender: &UdpSocket, target: SocketAddr, datagrams: &[Vec<u8>]) -> Vec<bool> {
    let end = long(0xc0, UNKNOWN, &[9; 8], &[9; 8], 1200);
    for d in datagrams {
        sender.send_to(d, target).unwrap();
    }
    sender.send_to(&end, target).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        let (n, _) = sock.recv_from(&mut buf).expect("the last datagram arrives");
        if buf[..n] == end[..] {
            break;
        }
        got.push(buf[..n].to_vec());
    }
    let mut at = 0;
    let out: Vec<bool> = datagrams
        .iter()
        .map(|d| {
            let here = got.get(at) == Some(d);
            at += usize::from(here);
            here
        })
        .collect();
    assert_eq!(at, got.len(), "only what was sent arrives, in order");
    out
}

/// Shedding rules drop the version 1 Initials of the sources they name, over IPv4 (the address) and IPv6
/// (the /64), and nothing else: not their other packets, not other sources' Initials. A rule keeping half
/// keeps about half (the kernel's random numbers: 200 Initials, bounds 7 standard deviations wide).
#[test]
fn shedding_rules_drop_only_the_initials_of_the_sources_they_name() {
    let sock = UdpSocket::bind("[::]:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let port = sock.local_addr().unwrap().port();
    let v4 = SocketAddr::from(([127, 0, 0, 1], port));
    let v6 = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port));
    let flooder = UdpSocket::bind("127.0.0.1:0").unwrap();
    let neighbour = UdpSocket::bind("127.0.0.2:0").unwrap();
    let local6 = UdpSocket::bind("[::1]:0").unwrap();
    let initial = long(0xc0, 1, &[1; 8], &[2; 8], 1200);
    let others = [
        short(0x40, 41),                             // short header (an established connection's)
        long(0xe0, 1, &[1; 20], &[2; 8], 1200),      // Handshake
        long(0xc0, UNKNOWN, &[1; 8], &[2; 8], 1200), // unknown version (Version Negotiation)
    ];
    let prefix = |ip: &str| source_prefix(ip.parse().unwrap());
    let mut counted = 0;

    filter::attach(
        &sock,
        TAG,
        &[Shed { prefix: prefix("127.0.0.1"), keep: 0 }, Shed { prefix: prefix("2001:db8::1"), keep: 0 }],
    )
    .unwrap();
    let mut sent = vec![initial.clone()];
    sent.extend(others.iter().cloned());
    assert_eq!(arrived(&sock, &flooder, v4, &sent), [false, true, true, true], "the named IPv4 source");
    assert_eq!(arrived(&sock, &neighbour, v4, &sent), [true; 4], "another IPv4 address");
    assert_eq!(arrived(&sock, &local6, v6, &sent), [true; 4], "an IPv6 source of another /64");
    counted += 1;
    assert_eq!(drops(&sock), counted);

    filter::attach(&sock, TAG, &[Shed { prefix: prefix("::1:2:3:4"), keep: 0 }]).unwrap();
    assert_eq!(arrived(&sock, &local6, v6, &sent), [false, true, true, true], "the named IPv6 /64");
    assert_eq!(arrived(&sock, &flooder, v4, &sent), [true; 4], "a source no longer named");
    counted += 1;
    assert_eq!(drops(&sock), counted);

    filter::attach(&sock, TAG, &[Shed { prefix: prefix("127.0.0.1"), keep: 1 << 31 }]).unwrap();
    let mut kept = 0;
    for _ in 0..10 {
        // In batches that the receive buffer holds.
        kept += arrived(&sock, &flooder, v4, &vec![initial.clone(); 20]).iter().filter(|a| **a).count();
    }
    assert!((50..=150).contains(&kept), "half of 200 kept: {kept}");
    counted += 200 - kept as u64;
    assert_eq!(drops(&sock), counted, "each shed Initial counted with the socket's drops");

    filter::attach(&sock, TAG, &[]).unwrap();
    assert_eq!(arrived(&sock, &flooder, v4, &sent), [true; 4], "no rules: the filter as before");
}
