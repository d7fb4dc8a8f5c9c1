#!/usr/bin/env bash
# Makes one self-signed server certificate of every kind a perf peer may present, for localhost, ::1 and
# 127.0.0.1, valid for two days, with the openssl CLI (an implementation independent of the BoringSSL,
# rustls and Go TLS stacks under test). Writes DIR/KIND.crt and DIR/KIND.key and prints each KIND on a line.
#
#   ecdsa-p256      ECDSA P-256 key (PKCS#8), TLS 1.3 scheme ecdsa_secp256r1_sha256
#   ecdsa-p384      ECDSA P-384 key (SEC1 "EC PRIVATE KEY"), ecdsa_secp384r1_sha384
#   ed25519         Ed25519 key (PKCS#8), ed25519 (what quic-go's perf tool presents)
#   rsa-pss-2048    RSA key (PKCS#8), certificate signed with RSASSA-PSS, rsa_pss_rsae_*
#   rsa-pss-4096
#   rsa-pkcs1-2048  RSA key (PKCS#1 "RSA PRIVATE KEY"), certificate signed with PKCS#1 v1.5, rsa_pss_rsae_*
#   rsa-pkcs1-4096
#
# TLS 1.3 signs the handshake of every RSA key with RSA-PSS (RFC 8446 §4.2.3); the kinds differ in the
# key file and the certificate's own signature. A key of type id-RSASSA-PSS (rsa_pss_pss_*) is left out:
# neither BoringSSL, rustls nor Go can use one.
#
#   bash test/interop/certificates.sh DIR
set -euo pipefail
dir=${1:?usage: certificates.sh DIR}
mkdir -p "$dir"
san="subjectAltName=DNS:localhost,IP:::1,IP:127.0.0.1"

# cert KIND KEY_FORMAT OPENSSL_REQ_ARGS...: a self-signed certificate; KEY_FORMAT pkcs8, sec1 or pkcs1.
cert() {
  local kind=$1 format=$2
  shift 2
  openssl req -x509 "$@" -nodes -days 2 -subj /CN=localhost -addext "$san" \
    -keyout "$dir/$kind.pkcs8" -out "$dir/$kind.crt" 2>/dev/null
  case $format in
    pkcs8) mv "$dir/$kind.pkcs8" "$dir/$kind.key" ;;
    sec1) openssl ec -in "$dir/$kind.pkcs8" -out "$dir/$kind.key" 2>/dev/null && rm "$dir/$kind.pkcs8" ;;
    pkcs1) openssl rsa -traditional -in "$dir/$kind.pkcs8" -out "$dir/$kind.key" 2>/dev/null && rm "$dir/$kind.pkcs8" ;;
  esac
  echo "$kind"
}

cert ecdsa-p256 pkcs8 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256
cert ecdsa-p384 sec1 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -sha384
cert ed25519 pkcs8 -newkey ed25519
for bits in 2048 4096; do
  cert "rsa-pss-$bits" pkcs8 -newkey "rsa:$bits" -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32
done
for bits in 2048 4096; do
  cert "rsa-pkcs1-$bits" pkcs1 -newkey "rsa:$bits" -sha256
done
