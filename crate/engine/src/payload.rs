//! The payload every stream sends: one pre-allocated buffer handed to quiche by reference
//! (`stream_send_zc`), so sending copies payload only into the packets, never into a buffer per chunk.

use std::sync::OnceLock;

use crate::protocol::UNTIL_STOPPED;

/// The one pre-allocated buffer every payload byte is sent from (no per-packet allocation).
fn payload() -> &'static [u8] {
    static PAYLOAD: OnceLock<Vec<u8>> = OnceLock::new();
    PAYLOAD.get_or_init(|| (0..256 * 1024).map(|i| (i % 251) as u8).collect())
}

/// quiche's stream buffers as `Bytes`: payload is handed to quiche as slices of the one payload buffer.
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
    let endless = *left == UNTIL_STOPPED;
    let chunk = if endless { payload().len() } else { (*left).min(payload().len() as u64) as usize };
    let fin = !endless && chunk as u64 == *left;
    // A static `Bytes` slice: no allocation, no copy.
    let (n, _) = conn.stream_send_zc(stream, bytes::Bytes::from_static(&payload()[..chunk]), fin)?;
    if !endless {
        *left -= n as u64;
    }
    Ok(Sent { bytes: n, finished: fin && n == chunk, blocked: n < chunk || (n == 0 && !fin) })
}
