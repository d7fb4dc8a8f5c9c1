//! The `stoq-engine` command: bad input is refused with a clear message and exit 2, before anything listens.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const ENGINE: &str = env!("CARGO_BIN_EXE_stoq-engine");

#[test]
fn a_server_idle_timeout_outside_its_range_is_refused() {
    for (given, shown) in [("x", "\"x\""), ("0", "\"0\""), ("9", "\"9\""), ("3600001", "\"3600001\""), ("-5", "\"-5\"")]
    {
        let out = Command::new(ENGINE)
            .args(["server", "--listen", "[::1]:0", "--idle-timeout-ms", given])
            .output()
            .expect("stoq-engine runs");
        assert_eq!(out.status.code(), Some(2), "--idle-timeout-ms {given}");
        assert!(out.stdout.is_empty(), "nothing listened for --idle-timeout-ms {given}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--idle-timeout-ms must be a whole number from 10 to 3600000"), "{err}");
        assert!(err.contains(&format!("got {shown}")), "{err}");
    }
}

#[test]
fn a_server_idle_timeout_in_range_is_taken() {
    let mut child = Command::new(ENGINE)
        .args(["server", "--listen", "[::1]:0", "--idle-timeout-ms", "30000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("stoq-engine runs");
    let mut line = String::new();
    let read = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
    let _ = child.kill();
    let _ = child.wait();
    read.expect("a line");
    assert!(line.starts_with("listening on [::1]:"), "{line}");
}
