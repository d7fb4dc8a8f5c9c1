mod common;
use std::time::Duration;
use common::*;
use stoq_engine::{Cancel, RunState};

#[test]
fn handshakes_leave_no_open_connection() {
    let server = server();
    let s = scenario(r#"{"kind":"handshakes","count":200,"connections":2}"#);
    let r = run_bounded(&s, server.local_addr(), &Cancel::default(), Duration::from_secs(20));
    assert_eq!(r.state, RunState::Completed, "{r:?}");
    let st = wait_for_stats(&server, Duration::from_secs(5), |st| st.open_connections == 0);
    eprintln!("{st:?}");
    assert_eq!(st.open_connections, 0, "{st:?}");
}
