//! Address-validation tokens carried by Retry packets (RFC 9000 §8.1.2). A token binds the client's
//! address (IP and port), the Destination Connection ID of its first Initial (quiche needs it back as the
//! original DCID), the Retry's Source Connection ID, and an expiry; HMAC-SHA256 under a key generated at
//! start authenticates all of it, so the server keeps no state between the Retry and the client's answer.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use ring::hmac;

/// First byte of every token this server mints: an Initial whose token starts otherwise carries a token
/// from elsewhere (another server's NEW_TOKEN), to be ignored rather than refused (RFC 9000 §8.1.3).
const RETRY_TOKEN: u8 = 0x52;

const TAG_LEN: usize = 32;

/// Largest token: kind, expiry, ODCID length and ODCID, tag.
pub const MAX_TOKEN_LEN: usize = 1 + 8 + 1 + quiche::MAX_CONN_ID_LEN + TAG_LEN;

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token of this server's making.
    Foreign,
    /// One of ours, but altered, for another address or connection ID, or past its expiry.
    Invalid,
}

pub struct TokenKey {
    key: hmac::Key,
    /// Expiry times count milliseconds from here: the key lives only as long as the process.
    epoch: Instant,
    lifetime: Duration,
}

impl TokenKey {
    /// A fresh random key; tokens stay valid for `lifetime`.
    pub fn generate(lifetime: Duration) -> TokenKey {
        let mut key = [0u8; 32];
        crate::random_bytes(&mut key);
        TokenKey { key: hmac::Key::new(hmac::HMAC_SHA256, &key), epoch: Instant::now(), lifetime }
    }

    /// The authenticated message: kind, expiry, peer address and port, ODCID, Retry SCID.
    fn message(expiry: &[u8; 8], peer: SocketAddr, odcid: &[u8], rscid: &[u8], out: &mut [u8; 96]) -> usize {
        let ip = match peer.ip() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        let mut n = 0;
        let parts: [&[u8]; 8] = [
            &[RETRY_TOKEN],
            expiry,
            &ip.octets(),
            &peer.port().to_be_bytes(),
            &[odcid.len() as u8],
            odcid,
            &[rscid.len() as u8],
            rscid,
        ];
        for part in parts {
            out[n..n + part.len()].copy_from_slice(part);
            n += part.len();
        }
        n
    }

    /// Mints a token for `peer`, whose first Initial had DCID `odcid`, answered by a Retry with Source
    /// Connection ID `rscid`. Returns its length in `out`.
    pub fn mint(
        &self,
        now: Instant,
        peer: SocketAddr,
        odcid: &[u8],
        rscid: &[u8],
        out: &mut [u8; MAX_TOKEN_LEN],
    ) -> usize {
        let expiry = (now.saturating_duration_since(self.epoch) + self.lifetime).as_millis() as u64;
        let expiry = expiry.to_be_bytes();
        let mut msg = [0u8; 96];
        let len = Self::message(&expiry, peer, odcid, rscid, &mut msg);
        let tag = hmac::sign(&self.key, &msg[..len]);
        let mut n = 0;
        for part in [&[RETRY_TOKEN][..], &expiry, &[odcid.len() as u8], odcid, tag.as_ref()] {
            out[n..n + part.len()].copy_from_slice(part);
            n += part.len();
        }
        n
    }

    /// Checks a token sent by `peer` in an Initial whose DCID is `rscid`; returns the original DCID.
    pub fn validate<'t>(
        &self,
        now: Instant,
        peer: SocketAddr,
        rscid: &[u8],
        token: &'t [u8],
    ) -> Result<&'t [u8], TokenError> {
        if token.first() != Some(&RETRY_TOKEN) {
            return Err(TokenError::Foreign);
        }
        let expiry: [u8; 8] = token.get(1..9).and_then(|e| e.try_into().ok()).ok_or(TokenError::Invalid)?;
        let odcid_len = *token.get(9).ok_or(TokenError::Invalid)? as usize;
        if odcid_len > quiche::MAX_CONN_ID_LEN || token.len() != 10 + odcid_len + TAG_LEN {
            return Err(TokenError::Invalid);
        }
        let odcid = &token[10..10 + odcid_len];
        if rscid.len() > quiche::MAX_CONN_ID_LEN {
            return Err(TokenError::Invalid);
        }
        let mut msg = [0u8; 96];
        let len = Self::message(&expiry, peer, odcid, rscid, &mut msg);
        // Compared in constant time by ring.
        hmac::verify(&self.key, &msg[..len], &token[10 + odcid_len..]).map_err(|_| TokenError::Invalid)?;
        let now_ms = now.saturating_duration_since(self.epoch).as_millis() as u64;
        if now_ms > u64::from_be_bytes(expiry) {
            return Err(TokenError::Invalid);
        }
        Ok(odcid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        "[2001:db8::7]:5555".parse().unwrap()
    }

    #[test]
    fn a_token_validates_for_its_address_and_ids_only() {
        let key = TokenKey::generate(Duration::from_secs(10));
        let now = Instant::now();
        let mut buf = [0u8; MAX_TOKEN_LEN];
        let n = key.mint(now, peer(), &[1; 8], &[2; 20], &mut buf);
        let token = &buf[..n];
        assert_eq!(key.validate(now, peer(), &[2; 20], token), Ok(&[1u8; 8][..]));
        let other_port: SocketAddr = "[2001:db8::7]:5556".parse().unwrap();
        let other_ip: SocketAddr = "[2001:db8::8]:5555".parse().unwrap();
        assert_eq!(key.validate(now, other_port, &[2; 20], token), Err(TokenError::Invalid));
        assert_eq!(key.validate(now, other_ip, &[2; 20], token), Err(TokenError::Invalid));
        assert_eq!(key.validate(now, peer(), &[3; 20], token), Err(TokenError::Invalid));
        // Every altered byte breaks it.
        for i in 0..n {
            let mut t = token.to_vec();
            t[i] ^= 0x01;
            assert!(key.validate(now, peer(), &[2; 20], &t).is_err(), "byte {i}");
        }
        // Another key (another server, or this one restarted) does not accept it.
        let other = TokenKey::generate(Duration::from_secs(10));
        assert_eq!(other.validate(now, peer(), &[2; 20], token), Err(TokenError::Invalid));
    }

    #[test]
    fn a_token_expires() {
        let key = TokenKey::generate(Duration::from_secs(10));
        let now = Instant::now();
        let mut buf = [0u8; MAX_TOKEN_LEN];
        let n = key.mint(now, peer(), &[1; 8], &[2; 20], &mut buf);
        assert!(key.validate(now + Duration::from_millis(9_999), peer(), &[2; 20], &buf[..n]).is_ok());
        assert_eq!(
            key.validate(now + Duration::from_millis(10_002), peer(), &[2; 20], &buf[..n]),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn foreign_and_truncated_tokens_are_told_apart() {
        let key = TokenKey::generate(Duration::from_secs(10));
        let now = Instant::now();
        assert_eq!(key.validate(now, peer(), &[2; 8], b""), Err(TokenError::Foreign));
        assert_eq!(key.validate(now, peer(), &[2; 8], b"\x01abc"), Err(TokenError::Foreign));
        assert_eq!(key.validate(now, peer(), &[2; 8], &[RETRY_TOKEN, 0, 0]), Err(TokenError::Invalid));
        assert_eq!(key.validate(now, peer(), &[2; 8], &[RETRY_TOKEN; 80]), Err(TokenError::Invalid));
    }
}
