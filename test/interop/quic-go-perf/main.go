// A perf client and server (draft-banks-quic-performance) built on quic-go, used as the independent
// peer of the interoperability tests. quic-go's own perf tool (github.com/quic-go/perf) is not served by
// the Go module proxy, so this is a small stand-in written for stoq-bench's tests: the QUIC stack is
// quic-go (pinned in go.mod); the application layer follows the draft and behaves like quic-go/perf's
// (one bidirectional stream per request, an 8-byte big-endian response size, the upload drained to FIN
// before any byte of the response is sent).
//
//	quic-go-perf server --listen [::1]:0
//	    prints {"event":"listening","address":...}, then one {"event":"stream",...} line per stream
//	    served (bytes received after the 8-byte header, bytes sent, whether the response size asked for
//	    was met); exits on SIGINT/SIGTERM or when stdin closes.
//	quic-go-perf client --target [::1]:PORT --upload N --download M
//	    prints {"event":"done","uploadBytes":...,"downloadBytes":...,...}; exit 1 on any error.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"
)

// alpn is the perf protocol's ALPN (draft-banks-quic-performance-00, section 2.1).
const alpn = "perf"

var out = json.NewEncoder(os.Stdout)
var outMu sync.Mutex

func emit(v map[string]any) {
	outMu.Lock()
	defer outMu.Unlock()
	_ = out.Encode(v)
}

func quicConfig() *quic.Config {
	return &quic.Config{
		MaxIdleTimeout:                 10 * time.Second,
		InitialStreamReceiveWindow:     1 << 20,
		InitialConnectionReceiveWindow: 1 << 20,
		MaxStreamReceiveWindow:         16 << 20,
		MaxConnectionReceiveWindow:     24 << 20,
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: quic-go-perf server|client [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		fs := flag.NewFlagSet("server", flag.ExitOnError)
		listen := fs.String("listen", "[::1]:0", "UDP address to listen on")
		_ = fs.Parse(os.Args[2:])
		err = server(*listen)
	case "client":
		fs := flag.NewFlagSet("client", flag.ExitOnError)
		target := fs.String("target", "", "server address")
		upload := fs.Uint64("upload", 0, "bytes to upload")
		download := fs.Uint64("download", 0, "bytes to ask for")
		timeout := fs.Duration("timeout", 20*time.Second, "give up after this long")
		_ = fs.Parse(os.Args[2:])
		err = client(*target, *upload, *download, *timeout)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		emit(map[string]any{"event": "error", "error": err.Error()})
		os.Exit(1)
	}
}

func server(listen string) error {
	tlsConf, err := selfSigned()
	if err != nil {
		return err
	}
	ln, err := quic.ListenAddr(listen, tlsConf, quicConfig())
	if err != nil {
		return err
	}
	defer ln.Close()
	emit(map[string]any{"event": "listening", "address": ln.Addr().String(), "alpn": alpn})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		cancel()
	}()
	go func() { // the parent going away (stdin closed) ends the server too
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	for {
		conn, err := ln.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			for {
				str, err := conn.AcceptStream(ctx)
				if err != nil {
					return
				}
				go serveStream(conn, str)
			}
		}()
	}
}

func serveStream(conn *quic.Conn, str *quic.Stream) {
	report := map[string]any{"event": "stream", "remote": conn.RemoteAddr().String(), "streamId": int64(str.StreamID())}
	var header [8]byte
	if _, err := io.ReadFull(str, header[:]); err != nil {
		report["error"] = "reading the response size: " + err.Error()
		emit(report)
		return
	}
	want := binary.BigEndian.Uint64(header[:])
	report["requested"] = fmt.Sprint(want) // a string: u64::MAX does not fit a JSON number exactly
	// Drain the upload up to FIN before answering (draft section 4.1).
	received, err := io.Copy(io.Discard, str)
	report["uploadBytes"] = received
	if err != nil {
		report["error"] = "reading the upload: " + err.Error()
		emit(report)
		return
	}
	sent, err := writeN(str, want)
	report["downloadBytes"] = sent
	if err != nil {
		report["error"] = "sending the response: " + err.Error()
	} else if err := str.Close(); err != nil {
		report["error"] = "closing: " + err.Error()
	}
	emit(report)
}

func writeN(w io.Writer, n uint64) (uint64, error) {
	buf := make([]byte, 64*1024)
	var sent uint64
	for sent < n {
		chunk := buf
		if left := n - sent; left < uint64(len(chunk)) {
			chunk = chunk[:left]
		}
		k, err := w.Write(chunk)
		sent += uint64(k)
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

func client(target string, upload, download uint64, timeout time.Duration) error {
	if target == "" {
		return errors.New("--target is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	conn, err := quic.DialAddr(ctx, target, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{alpn}}, quicConfig())
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.CloseWithError(0, "")
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return fmt.Errorf("open stream: %w", err)
	}
	go func() { // the deadline also ends blocked reads and writes
		<-ctx.Done()
		str.CancelRead(0)
		str.CancelWrite(0)
	}()
	var header [8]byte
	binary.BigEndian.PutUint64(header[:], download)
	if _, err := str.Write(header[:]); err != nil {
		return fmt.Errorf("request: %w", err)
	}
	uploaded, err := writeN(str, upload)
	if err != nil {
		return fmt.Errorf("upload after %d bytes: %w", uploaded, err)
	}
	if err := str.Close(); err != nil {
		return fmt.Errorf("FIN: %w", err)
	}
	downloaded, err := io.Copy(io.Discard, str)
	if err != nil {
		return fmt.Errorf("download after %d bytes: %w", downloaded, err)
	}
	emit(map[string]any{
		"event":         "done",
		"alpn":          conn.ConnectionState().TLS.NegotiatedProtocol,
		"uploadBytes":   uploaded,
		"downloadBytes": downloaded,
		"seconds":       time.Since(start).Seconds(),
	})
	return nil
}

// selfSigned makes a throwaway ECDSA certificate for [::1], 127.0.0.1 and localhost.
func selfSigned() (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv6loopback, net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		NextProtos:   []string{alpn},
	}, nil
}
