//! One server per port: a second server on the same port fails to start, whatever the thread counts, and
//! a socket of the same user that joins the workers' reuseport group afterwards gets no traffic.

mod common;

use std::os::fd::AsRawFd;
use std::time::Duration;

use common::*;
use stoq_engine::{Server, ServerOptions};

fn on(addr: std::net::SocketAddr, threads: u32) -> stoq_engine::Result<Server> {
    Server::start(ServerOptions { listen: addr, threads, ..ServerOptions::default() })
}

#[test]
fn a_second_server_on_the_port_fails_to_start_whatever_the_threads() {
    for (first, second) in [(1, 1), (1, 4), (4, 1), (4, 4)] {
        let a = on(loopback(), first).unwrap();
        let e =
            on(a.local_addr(), second).err().unwrap_or_else(|| panic!("{first} then {second} threads: both started"));
        assert_eq!(e.code(), stoq_engine::ErrorCode::Io, "{e}");
        assert!(e.message().contains("cannot listen on"), "{e}");
        // On the wildcard address too, which overlaps the first server's.
        let wildcard = format!("[::]:{}", a.local_addr().port()).parse().unwrap();
        assert!(on(wildcard, second).is_err(), "{first} then {second} threads, on [::]");
    }
}

/// A socket that sets SO_REUSEPORT itself (same user) can still join the group after the server started,
/// but the group's steering program never picks it: every connection reaches the workers.
#[test]
fn a_socket_that_joins_the_group_later_gets_no_traffic() {
    let server = on(loopback(), 4).unwrap();
    let intruder = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::DGRAM, None).unwrap();
    intruder.set_reuse_port(true).unwrap();
    intruder.bind(&server.local_addr().into()).expect("the kernel lets the same user join");
    let intruder: std::net::UdpSocket = intruder.into();
    intruder.set_nonblocking(true).unwrap();
    let clients = 24;
    for _ in 0..clients {
        let mut c = RawClient::connect(server.local_addr());
        c.conn.close(true, 0, b"done").unwrap();
        c.flush();
    }
    let st = wait_for_stats(&server, Duration::from_secs(5), |st| st.closed == clients);
    assert_eq!((st.accepted, st.closed_cleanly), (clients, clients), "{st:?}");
    let mut buf = [0u8; 2048];
    let stolen = std::iter::from_fn(|| intruder.recv(&mut buf).ok()).count();
    assert_eq!(stolen, 0, "datagrams the intruder took (fd {})", intruder.as_raw_fd());
}
