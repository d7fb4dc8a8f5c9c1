//! The `perf` protocol on one server connection (draft-banks-quic-performance §2.2): for each stream, read
//! the 8-byte response size, drain the upload up to FIN, and only then send the requested bytes, on the same
//! stream (bidirectional) or on a new server stream (unidirectional). A request above the server's
//! `--max-response` is refused with stream error 2 (rejected, §2.4).

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;

use super::stats::Counters;
use crate::protocol::{error_code, stream_id, RequestReader, HEADER_LEN};
use crate::send_chunk;

pub(crate) struct Stream {
    reader: RequestReader,
    /// Where the reply goes: the same stream (bidi) or a new server unidirectional stream.
    reply_id: u64,
    remaining: u64,
    responding: bool,
}

/// The perf state of one connection: its open request streams.
#[derive(Default)]
pub(crate) struct Requests {
    streams: HashMap<u64, Stream>,
    next_uni: u64,
}

impl Requests {
    /// Drains a request stream; at FIN, starts the response. Returns upload payload bytes read.
    pub fn read(
        &mut self,
        conn: &mut crate::Connection,
        id: u64,
        scratch: &mut [u8],
        max_response: u64,
        counters: &Counters,
    ) -> u64 {
        let mut payload = 0u64;
        loop {
            // The header is read; the upload after it is only counted, discarded inside quiche without a copy.
            let header_left = self.streams.get(&id).map_or(HEADER_LEN, |s| s.reader.header_left());
            let read = match header_left {
                0 => conn.stream_discard(id, usize::MAX),
                _ => conn.stream_recv(id, &mut scratch[..header_left]),
            };
            let (n, fin) = match read {
                Ok(r) => r,
                Err(quiche::Error::Done) => return payload,
                // Reset by the client: nothing to answer.
                Err(_) => {
                    self.streams.remove(&id);
                    return payload;
                }
            };
            let next_uni = &mut self.next_uni;
            let s = self.streams.entry(id).or_insert_with(|| {
                counters.streams.fetch_add(1, Relaxed);
                let reply_id = if stream_id::is_bidi(id) {
                    id
                } else {
                    let reply = stream_id::nth(*next_uni, false, false);
                    *next_uni += 1;
                    reply
                };
                Stream { reader: RequestReader::default(), reply_id, remaining: 0, responding: false }
            });
            let was_waiting_for_header = s.reader.response_size().is_none();
            payload += match header_left {
                0 => {
                    s.reader.skip(n);
                    n as u64
                }
                _ => s.reader.feed(&scratch[..n]) as u64,
            };
            if was_waiting_for_header && s.reader.response_size().is_some_and(|size| size > max_response) {
                // Refused as soon as the size is known: the reply stream is reset and the upload stopped,
                // both with code 2 (draft §2.4), so the client neither waits nor keeps sending.
                // quiche discards whatever else arrives on it.
                counters.streams_rejected.fetch_add(1, Relaxed);
                reject(conn, id, s.reply_id);
                self.streams.remove(&id);
                return payload;
            }
            if fin {
                // The upload is drained, FIN included: only now may the response start (draft §2.2).
                match s.reader.response_size() {
                    Some(size) => {
                        s.remaining = size;
                        s.responding = true;
                    }
                    None => {
                        // Fewer than 8 bytes before FIN: not a valid request (draft §2.4, code 3).
                        if stream_id::is_bidi(id) {
                            let _ = conn.stream_shutdown(id, quiche::Shutdown::Write, error_code::INVALID_DATA);
                        }
                        self.streams.remove(&id);
                    }
                }
                return payload;
            }
        }
    }

    /// Sends response bytes on every stream that has one due. Returns payload bytes handed to quiche.
    pub fn write(&mut self, conn: &mut crate::Connection) -> u64 {
        let mut sent = 0u64;
        self.streams.retain(|_, s| {
            if !s.responding {
                return true;
            }
            loop {
                match send_chunk(conn, s.reply_id, &mut s.remaining) {
                    Ok(step) => {
                        sent += step.bytes as u64;
                        if step.finished || step.blocked {
                            return !step.finished;
                        }
                    }
                    Err(quiche::Error::Done) | Err(quiche::Error::StreamLimit) => return true,
                    // STOP_SENDING from the client ends an endless response (quiche answers with RESET_STREAM).
                    Err(_) => return false,
                }
            }
        });
        sent
    }
}

/// Refuses request `id`: STOP_SENDING(2) on its upload, RESET_STREAM(2) on its reply (a unidirectional
/// request's reply stream is opened only to be reset, so the client can tell which request it answers).
fn reject(conn: &mut crate::Connection, id: u64, reply_id: u64) {
    let _ = conn.stream_shutdown(id, quiche::Shutdown::Read, error_code::REJECTED);
    if !stream_id::is_bidi(id) {
        let _ = conn.stream_send(reply_id, &[], false);
    }
    let _ = conn.stream_shutdown(reply_id, quiche::Shutdown::Write, error_code::REJECTED);
}
