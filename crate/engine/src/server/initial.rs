//! Initial packet protection (RFC 9001 §5), done here so that the server can tell a decryptable Initial
//! from a fake one before it builds any connection state (quiche offers no way to try a decryption
//! without creating a connection), and can answer with a CONNECTION_CLOSE without one.
//!
//! Initial keys are public: both sides derive them from the Destination Connection ID of the client's
//! first Initial (§5.2). Checking a datagram costs one HKDF derivation, one AES block for the header
//! protection and one AES-128-GCM open over the packet: a few microseconds, no allocation, no state.

use ring::aead::quic::{HeaderProtectionKey, AES_128 as HP_AES_128};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, NONCE_LEN};
use std::sync::LazyLock;

use ring::hkdf::{self, KeyType, Prk, Salt, HKDF_SHA256};

/// The QUIC version 1 Initial salt (RFC 9001 §5.2).
const INITIAL_SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f,
    0x0a,
];

/// Bytes of the AEAD tag (AES-128-GCM).
const TAG_LEN: usize = 16;

/// Bytes of the header-protection sample, taken 4 bytes after the start of the packet number (§5.4.2).
const SAMPLE_LEN: usize = 16;

/// Transport error codes sent in a stateless CONNECTION_CLOSE (RFC 9000 §20.1).
pub mod transport_error {
    pub const CONNECTION_REFUSED: u64 = 0x02;
    pub const INVALID_TOKEN: u64 = 0x0b;
}

/// Which side's Initial keys.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    Client,
    Server,
}

/// One side's Initial packet protection keys.
pub struct Keys {
    aead: LessSafeKey,
    iv: [u8; NONCE_LEN],
    hp: HeaderProtectionKey,
}

/// An output length for `hkdf::Prk::expand`.
struct Len(usize);

impl KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, as QUIC uses it.
fn expand_label(prk: &Prk, label: &[u8], out: &mut [u8]) {
    let len = (out.len() as u16).to_be_bytes();
    let label_len = [(6 + label.len()) as u8];
    let info: [&[u8]; 5] = [&len, &label_len, b"tls13 ", label, &[0]];
    prk.expand(&info, Len(out.len())).and_then(|okm| okm.fill(out)).expect("lengths within HKDF's limit");
}

/// One side's Initial secret (RFC 9001 §5.2), from which its keys are expanded one by one: the header
/// protection key first, so that a packet whose unprotected header is already wrong costs no more.
struct Secret(Prk);

impl Secret {
    fn new(dcid: &[u8], side: Side) -> Secret {
        static SALT: LazyLock<Salt> = LazyLock::new(|| Salt::new(HKDF_SHA256, &INITIAL_SALT_V1));
        let initial = SALT.extract(dcid);
        let mut secret = [0u8; 32];
        expand_label(&initial, if side == Side::Client { b"client in" } else { b"server in" }, &mut secret);
        Secret(Prk::new_less_safe(hkdf::HKDF_SHA256, &secret))
    }

    fn header_protection(&self) -> HeaderProtectionKey {
        let mut hp = [0u8; 16];
        expand_label(&self.0, b"quic hp", &mut hp);
        HeaderProtectionKey::new(&HP_AES_128, &hp).expect("a 16-byte key")
    }

    fn packet_protection(&self) -> (LessSafeKey, [u8; NONCE_LEN]) {
        let (mut key, mut iv) = ([0u8; 16], [0u8; NONCE_LEN]);
        expand_label(&self.0, b"quic key", &mut key);
        expand_label(&self.0, b"quic iv", &mut iv);
        (LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &key).expect("a 16-byte key")), iv)
    }
}

impl Keys {
    /// The Initial keys of `side` for a client's first Destination Connection ID (RFC 9001 §5.2).
    pub fn new(dcid: &[u8], side: Side) -> Keys {
        let secret = Secret::new(dcid, side);
        let (aead, iv) = secret.packet_protection();
        Keys { aead, iv, hp: secret.header_protection() }
    }

    fn nonce(&self, pn: u64) -> Nonce {
        nonce(&self.iv, pn)
    }
}

/// The AEAD nonce of packet `pn`: the IV with the packet number XORed into its end (RFC 9001 §5.3).
fn nonce(iv: &[u8; NONCE_LEN], pn: u64) -> Nonce {
    let mut nonce = *iv;
    for (n, p) in nonce[NONCE_LEN - 8..].iter_mut().zip(pn.to_be_bytes()) {
        *n ^= p;
    }
    Nonce::assume_unique_for_key(nonce)
}

/// Where the fields of a long-header Initial packet lie in its datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Offset of the packet number (its length is still protected).
    pub pn_offset: usize,
    /// Offset just past the packet: the Length field counts packet number and payload (RFC 9000 §17.2.2).
    pub end: usize,
}

fn varint(buf: &[u8], at: &mut usize) -> Option<u64> {
    let first = *buf.get(*at)?;
    let len = 1usize << (first >> 6);
    let bytes = buf.get(*at..*at + len)?;
    let mut v = u64::from(first & 0x3f);
    for b in &bytes[1..] {
        v = (v << 8) | u64::from(*b);
    }
    *at += len;
    Some(v)
}

/// Finds the packet number and the end of the Initial packet that starts `datagram`; `None` when it is not
/// a well-formed version 1 Initial long header.
pub fn layout(datagram: &[u8]) -> Option<Layout> {
    let first = *datagram.first()?;
    // Long header, fixed bit, type Initial (0b00).
    if first & 0xf0 != 0xc0 || datagram.get(1..5)? != quiche::PROTOCOL_VERSION.to_be_bytes() {
        return None;
    }
    let mut at = 5;
    for _ in 0..2 {
        let len = *datagram.get(at)? as usize;
        if len > quiche::MAX_CONN_ID_LEN {
            return None;
        }
        at += 1 + len;
    }
    let token = varint(datagram, &mut at)? as usize;
    at = at.checked_add(token)?;
    let length = varint(datagram, &mut at)? as usize;
    let end = at.checked_add(length)?;
    // The sample needs 4 + 16 bytes from the packet number on (RFC 9001 §5.4.2).
    if end > datagram.len() || length < 4 + SAMPLE_LEN {
        return None;
    }
    Some(Layout { pn_offset: at, end })
}

/// Decrypts the first packet of `datagram`, an Initial protected with `side`'s keys for `dcid` (the
/// client's first DCID): header protection removed, AEAD tag verified. The packet is copied into `scratch`
/// (the datagram itself stays untouched for quiche, which decrypts it again if a connection is made);
/// returns its frames there, or `None` when it is not such an Initial.
pub fn open<'s>(datagram: &[u8], dcid: &[u8], side: Side, scratch: &'s mut [u8]) -> Option<&'s [u8]> {
    let l = layout(datagram)?;
    let packet = scratch.get_mut(..l.end)?;
    packet.copy_from_slice(&datagram[..l.end]);
    let secret = Secret::new(dcid, side);
    let mask = secret.header_protection().new_mask(&packet[l.pn_offset + 4..l.pn_offset + 4 + SAMPLE_LEN]).ok()?;
    packet[0] ^= mask[0] & 0x0f;
    // The reserved bits must be 0 once unprotected (RFC 9000 §17.2): a cheap test before the AEAD.
    if packet[0] & 0x0c != 0 {
        return None;
    }
    let pn_len = usize::from(packet[0] & 0x03) + 1;
    let mut pn = 0u64;
    for (i, m) in mask[1..=pn_len].iter().enumerate() {
        packet[l.pn_offset + i] ^= m;
        pn = (pn << 8) | u64::from(packet[l.pn_offset + i]);
    }
    let payload_at = l.pn_offset + pn_len;
    if l.end - payload_at < TAG_LEN {
        return None;
    }
    let (header, payload) = packet.split_at_mut(payload_at);
    // Nothing was received from this peer yet, so the truncated packet number is the full one (RFC 9000
    // §A.3 with no packet acknowledged).
    let (aead, iv) = secret.packet_protection();
    let plain = aead.open_in_place(nonce(&iv, pn), Aad::from(&*header), payload).ok()?;
    Some(plain)
}

/// Whether the first packet of `datagram` is a client Initial that the keys of `dcid` decrypt.
pub fn decrypts(datagram: &[u8], dcid: &[u8], scratch: &mut [u8]) -> bool {
    open(datagram, dcid, Side::Client, scratch).is_some()
}

/// The header fields of an Initial to seal.
pub struct Fields<'a> {
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    pub token: &'a [u8],
}

/// Seals an Initial packet carrying `frames` (packet number `pn`, sent in one byte: `pn` < 256) with
/// `side`'s keys for `key_dcid`, padded with PADDING frames to fill a datagram of `datagram_len` bytes
/// when given. Returns its length in `out`.
pub fn seal(
    key_dcid: &[u8],
    side: Side,
    f: &Fields<'_>,
    pn: u8,
    frames: &[u8],
    datagram_len: Option<usize>,
    out: &mut [u8],
) -> Option<usize> {
    if f.dcid.len() > quiche::MAX_CONN_ID_LEN || f.scid.len() > quiche::MAX_CONN_ID_LEN {
        return None;
    }
    let keys = Keys::new(key_dcid, side);
    let pn_len = 1;
    // Long header, fixed bit, Initial, 1-byte packet number; the Length field in its 2-byte form.
    let header_len = 1 + 4 + 1 + f.dcid.len() + 1 + f.scid.len() + varint_len(f.token.len() as u64) + f.token.len() + 2;
    let least = frames.len().max(4 + SAMPLE_LEN - pn_len - TAG_LEN + 1);
    let payload_len = datagram_len.map_or(least, |d| d.saturating_sub(header_len + pn_len + TAG_LEN).max(least));
    let length = pn_len + payload_len + TAG_LEN;
    let total = header_len + length;
    if length > 16_383 {
        return None;
    }
    let packet = out.get_mut(..total)?;
    let mut h = 0;
    let mut put = |bytes: &[u8]| {
        packet[h..h + bytes.len()].copy_from_slice(bytes);
        h += bytes.len();
    };
    put(&[0xc0]);
    put(&quiche::PROTOCOL_VERSION.to_be_bytes());
    put(&[f.dcid.len() as u8]);
    put(f.dcid);
    put(&[f.scid.len() as u8]);
    put(f.scid);
    let mut token_len = [0u8; 8];
    let n = put_varint(&mut token_len, f.token.len() as u64)?;
    put(&token_len[..n]);
    put(f.token);
    put(&(0x4000 | length as u16).to_be_bytes());
    put(&[pn]);
    let pn_offset = header_len;
    let payload_at = pn_offset + pn_len;
    packet[payload_at..payload_at + payload_len].fill(0); // PADDING after the frames
    packet[payload_at..payload_at + frames.len()].copy_from_slice(frames);
    let (head, rest) = packet.split_at_mut(payload_at);
    let tag = keys
        .aead
        .seal_in_place_separate_tag(keys.nonce(u64::from(pn)), Aad::from(&*head), &mut rest[..payload_len])
        .ok()?;
    rest[payload_len..].copy_from_slice(tag.as_ref());
    let mask = keys.hp.new_mask(&packet[pn_offset + 4..pn_offset + 4 + SAMPLE_LEN]).ok()?;
    packet[0] ^= mask[0] & 0x0f;
    packet[pn_offset] ^= mask[1];
    Some(total)
}

/// Writes into `out` a server Initial carrying only a CONNECTION_CLOSE frame (transport `error`, `reason`),
/// answering a client Initial whose DCID was `dcid` and SCID `scid`, without any connection state (RFC
/// 9000 §10.2.3, and §8.1.2 for INVALID_TOKEN). `our_scid` becomes its SCID. Returns its length: far less
/// than the 1200 bytes that elicited it, so no amplification.
pub fn seal_close(
    dcid: &[u8],
    scid: &[u8],
    our_scid: &[u8],
    error: u64,
    reason: &[u8],
    out: &mut [u8],
) -> Option<usize> {
    let reason = &reason[..reason.len().min(64)];
    // CONNECTION_CLOSE (transport, 0x1c): error code, frame type 0, reason (RFC 9000 §19.19).
    let mut frame = [0u8; 96];
    let mut n = 0;
    for v in [0x1c, error, 0, reason.len() as u64] {
        n += put_varint(&mut frame[n..], v)?;
    }
    frame[n..n + reason.len()].copy_from_slice(reason);
    n += reason.len();
    seal(dcid, Side::Server, &Fields { dcid: scid, scid: our_scid, token: &[] }, 0, &frame[..n], None, out)
}

fn varint_len(v: u64) -> usize {
    match v {
        0..=63 => 1,
        64..=16_383 => 2,
        16_384..=1_073_741_823 => 4,
        _ => 8,
    }
}

fn put_varint(out: &mut [u8], v: u64) -> Option<usize> {
    let (len, tag) = match v {
        0..=63 => (1, 0u64),
        64..=16_383 => (2, 0x4000),
        16_384..=1_073_741_823 => (4, 0x8000_0000),
        _ => (8, 0xc000_0000_0000_0000),
    };
    let bytes = (v | tag).to_be_bytes();
    out.get_mut(..len)?.copy_from_slice(&bytes[8 - len..]);
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// RFC 9001 Appendix A.1: the keys derived from DCID 0x8394c8f03e515708.
    #[test]
    fn keys_match_rfc9001_appendix_a() {
        let dcid = hex("8394c8f03e515708");
        let initial = Salt::new(HKDF_SHA256, &INITIAL_SALT_V1).extract(&dcid);
        let mut client = [0u8; 32];
        expand_label(&initial, b"client in", &mut client);
        assert_eq!(client.to_vec(), hex("c00cf151ca5be075ed0ebfb5c80323c4 2d6b7db67881289af4008f1f6c357aea"));
        let prk = Prk::new_less_safe(HKDF_SHA256, &client);
        let (mut key, mut iv, mut hp) = ([0u8; 16], [0u8; 12], [0u8; 16]);
        expand_label(&prk, b"quic key", &mut key);
        expand_label(&prk, b"quic iv", &mut iv);
        expand_label(&prk, b"quic hp", &mut hp);
        assert_eq!(key.to_vec(), hex("1f369613dd76d5467730efcbe3b1a22d"));
        assert_eq!(iv.to_vec(), hex("fa044b2f42a3fd3b46fb255c"));
        assert_eq!(hp.to_vec(), hex("9f50449e04a0e810283a1e9933adedd2"));
        let mut server = [0u8; 32];
        expand_label(&initial, b"server in", &mut server);
        assert_eq!(server.to_vec(), hex("3c199828fd139efd216c155ad844cc81 fb82fa8d7446fa7d78be803acdda951b"));
    }

    /// RFC 9001 Appendix A.3: the server's Initial, unprotected by our code with the server keys.
    #[test]
    fn the_rfc9001_server_initial_decrypts_with_the_server_keys() {
        let packet = hex("cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a
             5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3
             dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84
             022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4
             2158407dd074ee");
        let dcid = hex("8394c8f03e515708");
        let keys = Keys::new(&dcid, Side::Server);
        let mut p = packet.clone();
        // Server Initial: no token; the Length field starts at offset 1+4+1+0+1+8+1 = 16.
        let mut at = 16;
        let length = varint(&p, &mut at).unwrap() as usize;
        let pn_offset = at;
        assert_eq!(pn_offset + length, p.len());
        let mask = keys.hp.new_mask(&p[pn_offset + 4..pn_offset + 20]).unwrap();
        p[0] ^= mask[0] & 0x0f;
        let pn_len = usize::from(p[0] & 3) + 1;
        let mut pn = 0u64;
        for i in 0..pn_len {
            p[pn_offset + i] ^= mask[1 + i];
            pn = (pn << 8) | u64::from(p[pn_offset + i]);
        }
        assert_eq!((pn_len, pn), (2, 1));
        let (head, payload) = p.split_at_mut(pn_offset + pn_len);
        let plain = keys.aead.open_in_place(keys.nonce(pn), Aad::from(&*head), payload).expect("decrypts");
        // An ACK frame, then a CRYPTO frame (RFC 9001 A.3).
        assert_eq!(&plain[..6], &hex("020000000006")[..]);
    }

    #[test]
    fn a_sealed_close_opens_with_the_server_keys_only() {
        let mut out = [0u8; 256];
        let n = seal_close(&[7; 8], &[9; 8], &[1; 20], transport_error::CONNECTION_REFUSED, b"busy", &mut out).unwrap();
        assert!(n < 200);
        assert_eq!(layout(&out[..n]).unwrap().end, n);
        let mut scratch = [0u8; 256];
        let frames = open(&out[..n], &[7; 8], Side::Server, &mut scratch).expect("opens").to_vec();
        assert_eq!(&frames[..7], &[0x1c, 0x02, 0, 4, b'b', b'u', b's'][..]);
        assert!(open(&out[..n], &[7; 8], Side::Client, &mut scratch).is_none());
        assert!(open(&out[..n], &[8; 8], Side::Server, &mut scratch).is_none());
    }

    #[test]
    fn a_sealed_initial_fills_the_datagram_size_asked_for() {
        let mut out = [0u8; 1500];
        let f = Fields { dcid: &[3; 8], scid: &[4; 8], token: &[5; 70] };
        for size in [1199, 1200, 1350] {
            let n = seal(&[3; 8], Side::Client, &f, 0, b"\x06\x00\x01z", Some(size), &mut out).unwrap();
            assert_eq!(n, size);
            assert!(decrypts(&out[..n], &[3; 8], &mut [0u8; 1500]));
            let mut flipped = out;
            flipped[n / 2] ^= 1;
            assert!(!decrypts(&flipped[..n], &[3; 8], &mut [0u8; 1500]), "a flipped byte fails the tag");
        }
    }

    #[test]
    fn varints_round_trip() {
        for v in [0u64, 63, 64, 16_383, 16_384, 1_073_741_823, 1_073_741_824, (1 << 62) - 1] {
            let mut buf = [0u8; 8];
            let n = put_varint(&mut buf, v).unwrap();
            let mut at = 0;
            assert_eq!((varint(&buf, &mut at), at), (Some(v), n));
        }
    }
}
