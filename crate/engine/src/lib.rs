//! stoq-engine: a QUIC `perf` (draft-banks-quic-performance) client and server over quiche, with a UDP
//! fast path and CLOCK_MONOTONIC timing. Plain Rust: no Node types here, so `cargo test` exercises it;
//! the napi binding lives in `crate/node`.

pub mod address;
pub mod client;
pub mod config;
pub mod error;
pub mod metrics;
mod payload;
pub mod protocol;
mod qlog;
pub mod record;
mod rng;
pub mod scenario;
pub mod schema;
pub mod server;
pub mod socket;
pub mod spec;
pub(crate) mod timers;
pub mod view;
pub mod workload;

pub use address::{parse_address, AddressUse};
pub use client::{
    ensure_descriptors, run, Cancel, ConnectionResult, Pacing, RunOptions, RunResult, RunState, ServerAccess,
    HANDSHAKES_IN_FLIGHT,
};
pub use error::{Error, ErrorCode, ErrorInfo, Result};
pub use payload::{Connection, SharedBufs};
pub use record::{Build, RecordContext, RunRecord};
pub use scenario::{Kind, Scenario, Settings};
pub use server::{Server, ServerOptions, ServerStats};
pub use spec::{engine_spec, EngineSpec};

// The homes of the payload sender, the CSPRNG and qlog, as the server reaches them.
pub(crate) use payload::send_chunk;
pub(crate) use qlog::qlog_writer;
pub(crate) use rng::random_bytes;
