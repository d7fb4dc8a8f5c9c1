//! quiche configuration from the scenario's settings, and the TLS identity of a server.

use std::path::{Path, PathBuf};

use boring::ssl::{SslContextBuilder, SslMethod, SslSignatureAlgorithm};

use crate::error::{quiche_reason, Error, Result};
use crate::protocol::{ALPN_LIST, SERVER_ALPN_LIST};
use crate::scenario::Settings;

/// Largest UDP payload accepted from a peer (the IPv6 maximum less headers).
pub const MAX_RECV_PAYLOAD: usize = 65_527;

/// Streams a peer may open at once; quiche raises the limit as streams complete.
const MAX_STREAMS: u64 = 1_000;

/// TLS key exchange groups, most preferred first (RFC 8446 §4.2.7). BoringSSL puts the post-quantum hybrid
/// X25519MLKEM768 first by default, whose key share makes a ClientHello span two Initial datagrams; these
/// are the classical groups of its earlier default, so a handshake costs what it did and what the perf
/// peers' handshakes cost (quinn's rustls on ring offers X25519 alone).
pub const KEY_EXCHANGE_GROUPS: &str = "X25519:P-256:P-384";

pub enum Role<'a> {
    /// A client; with a certificate and key (PEM files) it authenticates to servers that ask.
    Client { cert: Option<(&'a Path, &'a Path)> },
    Server {
        identity: &'a Identity,
        /// Client certificates must chain to these CAs (PEM); without one the handshake fails.
        client_ca: Option<&'a Path>,
        /// Send rate cap per connection, bytes per second.
        max_rate: Option<u64>,
    },
}

pub fn quiche_config(settings: &Settings, role: &Role<'_>) -> Result<quiche::Config> {
    let mut c = match role {
        Role::Client { .. } => client_config()?,
        Role::Server { client_ca: Some(ca), .. } => requiring_client_certificates(ca)?,
        Role::Server { .. } => quiche::Config::new(quiche::PROTOCOL_VERSION)?,
    };
    c.set_curves_list(KEY_EXCHANGE_GROUPS)?;
    c.set_application_protos(if matches!(role, Role::Server { .. }) { SERVER_ALPN_LIST } else { ALPN_LIST })?;
    c.set_max_idle_timeout(settings.idle_timeout_ns / 1_000_000);
    c.set_max_recv_udp_payload_size(MAX_RECV_PAYLOAD);
    c.set_max_send_udp_payload_size(settings.payload_size as usize);
    // quiche's flow-control settings default to 0: set them, and let auto-tuning grow to the same caps.
    c.set_initial_max_data(settings.connection_window);
    c.set_max_connection_window(settings.connection_window);
    c.set_initial_max_stream_data_bidi_local(settings.stream_window);
    c.set_initial_max_stream_data_bidi_remote(settings.stream_window);
    c.set_initial_max_stream_data_uni(settings.stream_window);
    c.set_max_stream_window(settings.stream_window);
    c.set_initial_max_streams_bidi(MAX_STREAMS);
    c.set_initial_max_streams_uni(MAX_STREAMS);
    c.set_cc_algorithm_name(settings.cc.quiche_name())?;
    c.enable_pacing(settings.pacing);
    c.set_disable_active_migration(true);
    match role {
        Role::Client { cert } => {
            // A benchmark client does not authenticate the server: it measures transport, not identity.
            c.verify_peer(false);
            if let Some((cert, key)) = cert {
                load_identity(&mut c, cert, key)?;
            }
        }
        Role::Server { identity, max_rate, .. } => {
            load_identity(&mut c, &identity.cert, &identity.key)?;
            if let Some(rate) = max_rate {
                // quiche takes Mbit/s, and only its BBR2 (gcongestion) pacer honours it; cubic and reno ignore
                // it, so the server's `Outbox` enforces the cap for every congestion control.
                c.set_max_pacing_rate((rate * 8 / 1_000_000).max(1));
            }
        }
    }
    Ok(c)
}

/// The signature schemes accepted in a peer's CertificateVerify, most preferred first: every scheme that a
/// TLS 1.3 key of a perf peer may sign with (RFC 8446 §4.2.3, §4.4.3). The client verifies servers with it,
/// and a server that requires client certificates verifies clients with it (its CertificateRequest names
/// them). BoringSSL's default list lacks Ed25519 (quic-go's perf server presents an Ed25519 certificate)
/// and ECDSA P-521.
/// ECDSA and Ed25519 come first (small and fast to verify), then RSA-PSS; the RSA PKCS#1 v1.5 schemes
/// never sign a TLS 1.3 handshake but, offered, say which certificate signatures are acceptable
/// (§4.2.3: `signature_algorithms` covers certificates when `signature_algorithms_cert` is absent).
/// An RSA key in an `id-RSASSA-PSS` certificate (`rsa_pss_pss_*`) is not offered: BoringSSL cannot parse it.
const PEER_SIGNATURE_ALGORITHMS: &[SslSignatureAlgorithm] = &[
    SslSignatureAlgorithm::ECDSA_SECP256R1_SHA256,
    SslSignatureAlgorithm::ED25519,
    SslSignatureAlgorithm::ECDSA_SECP384R1_SHA384,
    SslSignatureAlgorithm::ECDSA_SECP521R1_SHA512,
    SslSignatureAlgorithm::RSA_PSS_RSAE_SHA256,
    SslSignatureAlgorithm::RSA_PSS_RSAE_SHA384,
    SslSignatureAlgorithm::RSA_PSS_RSAE_SHA512,
    SslSignatureAlgorithm::RSA_PKCS1_SHA256,
    SslSignatureAlgorithm::RSA_PKCS1_SHA384,
    SslSignatureAlgorithm::RSA_PKCS1_SHA512,
];

/// A client configuration whose TLS context offers every signature scheme of
/// [`PEER_SIGNATURE_ALGORITHMS`], so that it completes a handshake whatever key type the server has.
fn client_config() -> Result<quiche::Config> {
    let tls_error = |e: boring::error::ErrorStack| Error::Tls(format!("cannot set up the client's TLS context: {e}"));
    let mut tls = SslContextBuilder::new(SslMethod::tls()).map_err(tls_error)?;
    tls.set_verify_algorithm_prefs(PEER_SIGNATURE_ALGORITHMS).map_err(tls_error)?;
    Ok(quiche::Config::with_boring_ssl_ctx_builder(quiche::PROTOCOL_VERSION, tls)?)
}

fn load_identity(c: &mut quiche::Config, cert: &Path, key: &Path) -> Result<()> {
    for (what, p) in [("certificate", cert), ("private key", key)] {
        if !p.is_file() {
            return Err(Error::invalid(format!("{what} file not found: {}", p.display())));
        }
    }
    c.load_cert_chain_from_pem_file(path_str(cert)?)
        .map_err(|e| Error::Tls(format!("cannot load certificate {}: {}", cert.display(), quiche_reason(e))))?;
    c.load_priv_key_from_pem_file(path_str(key)?)
        .map_err(|e| Error::Tls(format!("cannot load private key {}: {}", key.display(), quiche_reason(e))))
}

/// A server TLS context that asks every client for a certificate chaining to the CAs in `ca` and fails the
/// handshake without one (quiche's own `verify_peer` lets clients without a certificate through). Any key
/// type the engine's client may hold is accepted ([`PEER_SIGNATURE_ALGORITHMS`]).
fn requiring_client_certificates(ca: &Path) -> Result<quiche::Config> {
    use boring::ssl::SslVerifyMode;
    let tls = |e: boring::error::ErrorStack| Error::Tls(format!("client CA {}: {e}", ca.display()));
    let mut b = SslContextBuilder::new(SslMethod::tls()).map_err(tls)?;
    b.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    b.set_verify_algorithm_prefs(PEER_SIGNATURE_ALGORITHMS).map_err(tls)?;
    b.set_ca_file(ca).map_err(tls)?;
    // Named in the CertificateRequest, so a client with several certificates can pick the right one.
    b.set_client_ca_list(boring::x509::X509Name::load_client_ca_file(ca).map_err(tls)?);
    Ok(quiche::Config::with_boring_ssl_ctx_builder(quiche::PROTOCOL_VERSION, b)?)
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str().ok_or_else(|| Error::invalid(format!("path is not UTF-8: {}", p.display())))
}

/// Certificate and key PEM files for a server. A generated identity lives in a private temporary
/// directory that is removed once quiche has loaded it.
pub struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
    temp_dir: Option<PathBuf>,
}

impl Identity {
    pub fn from_files(cert: PathBuf, key: PathBuf) -> Result<Identity> {
        for (what, p) in [("certificate", &cert), ("private key", &key)] {
            if !p.is_file() {
                return Err(Error::invalid(format!("{what} file not found: {}", p.display())));
            }
        }
        Ok(Identity { cert, key, temp_dir: None })
    }

    /// A fresh self-signed certificate for `localhost` and the loopback addresses.
    pub fn self_signed() -> Result<Identity> {
        let names = vec!["localhost".to_string(), "::1".to_string(), "127.0.0.1".to_string()];
        let generated = rcgen::generate_simple_self_signed(names)
            .map_err(|e| Error::Tls(format!("cannot generate a certificate: {e}")))?;
        let dir = std::env::temp_dir().join(format!(
            "stoq-bench-tls-{}-{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir)?;
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        std::fs::write(&cert, generated.cert.pem())?;
        std::fs::write(&key, generated.signing_key.serialize_pem())?;
        Ok(Identity { cert, key, temp_dir: Some(dir) })
    }
}

impl Drop for Identity {
    fn drop(&mut self) {
        if let Some(dir) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_identity_loads_and_cleans_up() {
        let id = Identity::self_signed().unwrap();
        let dir = id.cert.parent().unwrap().to_path_buf();
        quiche_config(&Settings::default(), &Role::Server { identity: &id, client_ca: None, max_rate: None }).unwrap();
        drop(id);
        assert!(!dir.exists());
    }

    #[test]
    fn missing_files_are_named() {
        let err = Identity::from_files("/nonexistent/c.pem".into(), "/nonexistent/k.pem".into()).err().unwrap();
        assert!(err.message().contains("/nonexistent/c.pem"));
    }
}
