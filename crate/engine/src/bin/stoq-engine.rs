//! The engine driven from plain Rust, with the same scenarios as the Node binding: a reference for the
//! cost of driving the engine from Node (see `bench/`).
//!
//! ```text
//! stoq-engine run SCENARIO_JSON [--target ADDR] [--interval-ms N]   (no target: embedded server on [::1])
//! stoq-engine server [--listen ADDR] [--threads N] [--idle-timeout-ms MS]
//! ```
//! `run` prints one JSON object per interval, then the result (without raw samples) as the last line.

use std::net::SocketAddr;
use std::process::ExitCode;

use stoq_engine::scenario::limit;
use stoq_engine::{
    parse_address, run, AddressUse, Cancel, RunOptions, Scenario, Server, ServerAccess, ServerOptions, Settings,
};

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run_command(&args),
        Some("server") => server_command(&args),
        _ => Err("usage: stoq-engine run SCENARIO_JSON [--target ADDR] [--interval-ms N] | server [--listen ADDR] [--threads N] [--idle-timeout-ms MS]".to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("stoq-engine: {message}");
            ExitCode::from(2)
        }
    }
}

fn run_command(args: &[String]) -> Result<(), String> {
    let json = args.get(1).ok_or("run needs a scenario (JSON)")?;
    let scenario = Scenario::from_json(json).map_err(|e| e.to_string())?;
    let interval_ms: u64 = flag(args, "--interval-ms").unwrap_or("1000").parse().map_err(|_| "bad --interval-ms")?;
    let server = match flag(args, "--target") {
        Some(_) => None,
        None => {
            let options = ServerOptions {
                listen: "[::1]:0".parse().expect("literal"),
                settings: scenario.settings.clone(),
                ..ServerOptions::default()
            };
            Some(Server::start(options).map_err(|e| e.to_string())?)
        }
    };
    let target: SocketAddr = match (flag(args, "--target"), &server) {
        (Some(t), _) => parse_address(t, AddressUse::Target).map_err(|e| format!("--target {}", e.message()))?,
        (None, Some(s)) => s.local_addr(),
        (None, None) => unreachable!(),
    };
    let mut options = RunOptions::new(target);
    options.interval_ns = interval_ms * 1_000_000;
    options.server_view = match &server {
        Some(s) => ServerAccess::Embedded(s.board()),
        None => ServerAccess::Remote,
    };
    let result = run(&scenario, &options, &Cancel::default(), &mut |i| {
        println!("{}", serde_json::to_string(i).expect("serialisable"));
    })
    .map_err(|e| e.to_string())?;
    println!("{}", serde_json::to_string(&result).expect("serialisable"));
    if let Some(s) = server {
        let (stats, _) = s.stop();
        eprintln!("server: {}", serde_json::to_string(&stats).expect("serialisable"));
    }
    Ok(())
}

fn server_command(args: &[String]) -> Result<(), String> {
    let listen = flag(args, "--listen").unwrap_or("[::]:4433");
    // The server's own idle timeout: the shorter of the two sides' is the connection's (RFC 9000 §10.1).
    let mut settings = Settings::default();
    if let Some(ms) = flag(args, "--idle-timeout-ms") {
        let l = limit("settings.idleTimeoutNs");
        let (min, max) = (l.min / 1_000_000, l.max / 1_000_000);
        settings.idle_timeout_ns = ms
            .parse::<u64>()
            .ok()
            .filter(|ms| (min..=max).contains(ms))
            .ok_or(format!("--idle-timeout-ms must be a whole number from {min} to {max}, got {ms:?}"))?
            * 1_000_000;
    }
    let options = ServerOptions {
        listen: parse_address(listen, AddressUse::Listen).map_err(|e| format!("--listen {}", e.message()))?,
        threads: flag(args, "--threads").unwrap_or("1").parse().map_err(|_| "bad --threads")?,
        settings,
        ..ServerOptions::default()
    };
    let server = Server::start(options).map_err(|e| e.to_string())?;
    println!("listening on {}", server.local_addr());
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}
