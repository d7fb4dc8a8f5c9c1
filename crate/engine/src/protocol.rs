//! The QUIC performance protocol, ALPN `perf` (draft-banks-quic-performance).
//!
//! Draft §2.2: the client opens a stream and sends an 8-byte big-endian unsigned integer, the number of
//! bytes it wants the server to send back; it may then send any payload, and ends with FIN. The server
//! reads (and discards) everything up to the FIN, and only then sends the requested number of bytes.

/// ALPN token of the protocol (draft §2.1).
pub const ALPN: &[u8] = b"perf";

/// Wire form of the ALPN list for quiche.
pub const ALPN_LIST: &[&[u8]] = &[ALPN];

/// ALPN of the server's view, stoq-bench's own protocol beside `perf` on the same port: a client asks a
/// stoq-bench server for its side of the client's connections (`crate::view`: one bidirectional stream,
/// JSON lines, versioned). Only a stoq-bench server offers it, so a plain `perf` peer never sees it: a
/// client that offers only this ALPN fails such a peer's handshake (TLS alert no_application_protocol).
pub const VIEW_ALPN: &[u8] = b"stoq-bench-view";

/// The ALPNs a stoq-bench server offers.
pub const SERVER_ALPN_LIST: &[&[u8]] = &[ALPN, VIEW_ALPN];

/// Length of the response-size prefix (draft §2.2).
pub const HEADER_LEN: usize = 8;

/// Response size meaning "send until the client sends STOP_SENDING" (draft §2.2, duration-based tests).
pub const UNTIL_STOPPED: u64 = u64::MAX;

/// Stream error codes (draft §2.4).
pub mod error_code {
    pub const NO_ERROR: u64 = 0;
    pub const NOT_IMPLEMENTED: u64 = 1;
    pub const REJECTED: u64 = 2;
    pub const INVALID_DATA: u64 = 3;
}

/// Encodes the response size the client asks for.
pub fn encode_request(response_size: u64) -> [u8; HEADER_LEN] {
    response_size.to_be_bytes()
}

/// Accumulates the 8-byte header as bytes arrive (it may be split across packets), then counts the
/// upload payload that follows it.
#[derive(Debug, Default, Clone)]
pub struct RequestReader {
    header: [u8; HEADER_LEN],
    header_len: usize,
    /// Payload bytes received after the header.
    pub uploaded: u64,
}

impl RequestReader {
    /// Feeds received bytes; returns how many were payload (not header).
    pub fn feed(&mut self, data: &[u8]) -> usize {
        let take = (HEADER_LEN - self.header_len).min(data.len());
        self.header[self.header_len..self.header_len + take].copy_from_slice(&data[..take]);
        self.header_len += take;
        let payload = data.len() - take;
        self.uploaded += payload as u64;
        payload
    }

    /// Header bytes still to come: read them; what follows is payload, only counted (`skip`).
    pub fn header_left(&self) -> usize {
        HEADER_LEN - self.header_len
    }

    /// Counts `n` payload bytes that were discarded unread.
    pub fn skip(&mut self, n: usize) {
        debug_assert_eq!(self.header_left(), 0);
        self.uploaded += n as u64;
    }

    /// The requested response size, once all 8 header bytes have arrived.
    pub fn response_size(&self) -> Option<u64> {
        (self.header_len == HEADER_LEN).then(|| u64::from_be_bytes(self.header))
    }
}

/// Stream IDs (RFC 9000 §2.1): the two low bits say who opened it and in which direction.
pub mod stream_id {
    pub fn is_bidi(id: u64) -> bool {
        id & 0x2 == 0
    }
    pub fn is_client_initiated(id: u64) -> bool {
        id & 0x1 == 0
    }
    /// The n-th (0-based) stream of a kind: client bidi 0,4,8..; server bidi 1,5..; client uni 2,6..;
    /// server uni 3,7..
    pub fn nth(n: u64, client: bool, bidi: bool) -> u64 {
        n * 4 + u64::from(!client) + if bidi { 0 } else { 2 }
    }
}

/// Whether a QUIC packet is addressed to connection ID `cid`, read in place (RFC 9000 §17.2-17.3: a long
/// header's DCID follows its length at byte 5, a short header's starts at byte 1 with a length the
/// receiver knows). quiche's `Header::from_slice` would allocate the DCID for every packet received.
pub fn addressed_to(packet: &[u8], cid: &[u8]) -> bool {
    let dcid = match packet.first() {
        Some(first) if first & 0x80 != 0 => packet.get(5).and_then(|&len| packet.get(6..6 + usize::from(len))),
        Some(_) => packet.get(1..1 + cid.len()),
        None => None,
    };
    dcid == Some(cid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packet_is_addressed_by_its_dcid_as_quiche_reads_it() {
        let cid = [0xab; quiche::MAX_CONN_ID_LEN];
        let other = [0xcd; quiche::MAX_CONN_ID_LEN];
        // A long header (Initial, version 1, DCID, SCID, empty token) and a short header; quiche reads the
        // same DCID from both.
        let mut long = [0u8; 64];
        long[0] = 0xc0;
        long[1..5].copy_from_slice(&1u32.to_be_bytes());
        long[5] = cid.len() as u8;
        long[6..26].copy_from_slice(&cid);
        long[26] = 8;
        long[27..35].copy_from_slice(&other[..8]);
        let mut short = [0x40u8; 40];
        short[1..21].copy_from_slice(&cid);
        for packet in [&mut long[..], &mut short[..]] {
            let quiche_dcid = quiche::Header::from_slice(packet, cid.len()).unwrap().dcid.to_vec();
            assert_eq!(quiche_dcid, cid);
            assert!(addressed_to(packet, &cid));
            assert!(!addressed_to(packet, &other));
        }
        // A shorter connection ID of the long header is read at its own length.
        assert!(addressed_to(&[0xc0, 0, 0, 0, 1, 2, 9, 9, 0], &[9, 9]));
        assert!(!addressed_to(&[0xc0, 0, 0, 0, 1, 2, 9, 9, 0], &[9, 9, 0]));
        // Truncated or empty datagrams are addressed to nobody.
        assert!(!addressed_to(&short[..10], &cid));
        assert!(!addressed_to(&long[..20], &cid));
        assert!(!addressed_to(&[], &cid));
    }

    #[test]
    fn header_round_trips_big_endian() {
        assert_eq!(encode_request(1), [0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(encode_request(UNTIL_STOPPED), [0xff; 8]);
        let mut r = RequestReader::default();
        assert_eq!(r.feed(&encode_request(0x0102_0304_0506_0708)), 0);
        assert_eq!(r.response_size(), Some(0x0102_0304_0506_0708));
    }

    #[test]
    fn header_split_across_reads_and_payload_counted() {
        let mut bytes = encode_request(4096).to_vec();
        bytes.extend_from_slice(&[7u8; 100]);
        let mut r = RequestReader::default();
        assert_eq!(r.feed(&bytes[..3]), 0);
        assert_eq!(r.response_size(), None);
        assert_eq!(r.feed(&bytes[3..5]), 0);
        assert_eq!(r.feed(&bytes[5..50]), 42);
        assert_eq!(r.response_size(), Some(4096));
        assert_eq!(r.feed(&bytes[50..]), 58);
        assert_eq!(r.uploaded, 100);
    }

    #[test]
    fn header_left_then_skipped_payload_is_counted() {
        let mut r = RequestReader::default();
        assert_eq!(r.header_left(), HEADER_LEN);
        r.feed(&encode_request(9)[..5]);
        assert_eq!(r.header_left(), 3);
        r.feed(&encode_request(9)[5..]);
        assert_eq!(r.header_left(), 0);
        r.skip(1000);
        r.skip(24);
        assert_eq!((r.uploaded, r.response_size()), (1024, Some(9)));
    }

    #[test]
    fn zero_is_a_legal_response_size() {
        let mut r = RequestReader::default();
        r.feed(&encode_request(0));
        assert_eq!(r.response_size(), Some(0));
    }

    #[test]
    fn stream_ids_follow_rfc9000() {
        assert_eq!(stream_id::nth(0, true, true), 0);
        assert_eq!(stream_id::nth(1, true, true), 4);
        assert_eq!(stream_id::nth(0, false, false), 3);
        assert_eq!(stream_id::nth(2, true, false), 10);
        assert!(stream_id::is_bidi(4) && !stream_id::is_bidi(6));
        assert!(stream_id::is_client_initiated(2) && !stream_id::is_client_initiated(3));
    }
}
