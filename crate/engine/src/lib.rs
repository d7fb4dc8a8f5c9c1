//! stoq-engine: a QUIC `perf` (draft-banks-quic-performance) client and server over quiche, with a UDP
//! fast path and CLOCK_MONOTONIC timing. Plain Rust: no Node types here, so `cargo test` exercises it;
//! the napi binding lives in `crate/node`.

pub mod client;
pub mod config;
pub mod error;
pub mod metrics;
pub mod protocol;
pub mod scenario;
pub mod server;
pub mod socket;

pub use client::{run, Cancel, ConnectionResult, RunOptions, RunResult, RunState};
pub use error::{Error, Result};
pub use scenario::{Kind, Scenario, Settings};
pub use server::{Server, ServerOptions, ServerStats};

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

/// The one pre-allocated buffer every payload byte is sent from (no per-packet allocation).
pub(crate) fn payload() -> &'static [u8] {
    static PAYLOAD: OnceLock<Vec<u8>> = OnceLock::new();
    PAYLOAD.get_or_init(|| (0..256 * 1024).map(|i| (i % 251) as u8).collect())
}

/// quiche's stream buffers as `Bytes`: payload is handed to quiche as slices of the one payload buffer
/// (`stream_send_zc`), so sending copies it only into the packets, never into a buffer per chunk.
#[derive(Clone, Debug, Default)]
pub struct SharedBufs;

impl quiche::BufFactory for SharedBufs {
    type Buf = bytes::Bytes;
    type DgramBuf = Vec<u8>;

    fn buf_from_slice(buf: &[u8]) -> bytes::Bytes {
        bytes::Bytes::copy_from_slice(buf)
    }

    fn dgram_buf_from_slice(buf: &[u8]) -> Vec<u8> {
        buf.to_vec()
    }
}

/// A quiche connection whose stream buffers can share the payload buffer.
pub type Connection = quiche::Connection<SharedBufs>;

/// What one `send_chunk` did.
pub(crate) struct Sent {
    /// Payload bytes quiche took.
    pub bytes: usize,
    /// The last byte and the FIN went out: the stream's sending is over.
    pub finished: bool,
    /// quiche took less than offered: flow control or buffer space ran out for now.
    pub blocked: bool,
}

/// Sends the next chunk of a stream's payload, `left` bytes still to go (`UNTIL_STOPPED`: endless), from
/// the shared payload buffer, with FIN on the last byte (an empty FIN when `left` is 0).
pub(crate) fn send_chunk(conn: &mut Connection, stream: u64, left: &mut u64) -> quiche::Result<Sent> {
    let endless = *left == protocol::UNTIL_STOPPED;
    let chunk = if endless { payload().len() } else { (*left).min(payload().len() as u64) as usize };
    let fin = !endless && chunk as u64 == *left;
    // A static `Bytes` slice: no allocation, no copy.
    let (n, _) = conn.stream_send_zc(stream, bytes::Bytes::from_static(&payload()[..chunk]), fin)?;
    if !endless {
        *left -= n as u64;
    }
    Ok(Sent { bytes: n, finished: fin && n == chunk, blocked: n < chunk || (n == 0 && !fin) })
}

/// Fills `buf` from the kernel's CSPRNG (connection IDs).
pub(crate) fn random_bytes(buf: &mut [u8]) {
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: getrandom writes at most the given length into a valid buffer.
        let n = unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0) };
        if n > 0 {
            filled += n as usize;
        }
    }
}

/// A qlog file for one connection: `DIR/ROLE-TRACEID.sqlog`.
pub(crate) fn qlog_writer(dir: &Path, role: &str, trace_id: &str) -> Option<Box<dyn Write + Send + Sync>> {
    let file = std::fs::File::create(dir.join(format!("{role}-{trace_id}.sqlog"))).ok()?;
    Some(Box::new(std::io::BufWriter::new(file)))
}
