// A perf client and server (draft-banks-quic-performance-00) built on quic-go, used as an independent peer
// of the interoperability tests. quic-go's own perf tool (github.com/quic-go/perf) is not served by the Go
// module proxy, so this is a small stand-in written for stoq-bench's tests: the QUIC stack is quic-go
// (pinned in go.mod); the application layer follows the draft and behaves like quic-go/perf's (an 8-byte
// big-endian response size, the upload drained to FIN before any byte of the response is sent, and by
// default an Ed25519 self-signed certificate).
//
//	quic-go-perf server --listen [::1]:0 [--cert CERT.pem --key KEY.pem] [--payload-size N]
//	    prints {"event":"listening","address":...}, one {"event":"connection",...} line per handshake,
//	    then one {"event":"stream",...} line per request stream served (bytes received after the 8-byte
//	    header, bytes sent, the stream the reply went on); exits on SIGINT/SIGTERM or when stdin closes.
//	quic-go-perf client --target [::1]:PORT [--upload N] [--download N] [--duration TIME] [--requests N]
//	                    [--inflight N] [--uni] [--connections N] [--timeout TIME] [--payload-size N]
//	                    [--latencies]
//	    --connections handshakes one after another; on each, --requests streams, --inflight at a time,
//	    each uploading --upload bytes and asking for --download bytes (with --duration: for u64::MAX,
//	    ended by STOP_SENDING after that long). Prints {"event":"done",...} with the byte counts it saw;
//	    exit 1 on any error, after an {"event":"error",...} line. With --latencies, "requestMicros" lists
//	    each completed request's time from opening its stream to the response's end, in microseconds.
//	--payload-size N (1200 to 65527) fixes the largest UDP payload sent at N bytes (no path MTU
//	discovery); by default quic-go starts at 1280 and discovers up to 1452.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"
)

// alpn is the perf protocol's ALPN (draft section 2.1).
const alpn = "perf"

// headerLen is the length of the response-size prefix of every request stream (draft section 2.3.1).
const headerLen = 8

// untilStopped is the response size meaning "send until the client sends STOP_SENDING".
const untilStopped = math.MaxUint64

// noError is the perf stream error code 0.
const noError quic.StreamErrorCode = 0

var out = json.NewEncoder(os.Stdout)
var outMu sync.Mutex

func emit(v map[string]any) {
	outMu.Lock()
	defer outMu.Unlock()
	_ = out.Encode(v)
}

// payloadSize, when not 0, fixes the UDP payload of the packets sent (--payload-size).
var payloadSize uint

func quicConfig() *quic.Config {
	return &quic.Config{
		InitialPacketSize:              uint16(payloadSize),
		DisablePathMTUDiscovery:        payloadSize != 0,
		MaxIdleTimeout:                 10 * time.Second,
		InitialStreamReceiveWindow:     1 << 20,
		InitialConnectionReceiveWindow: 1 << 20,
		MaxStreamReceiveWindow:         16 << 20,
		MaxConnectionReceiveWindow:     24 << 20,
		MaxIncomingStreams:             1000,
		MaxIncomingUniStreams:          1000,
	}
}

type clientOptions struct {
	target      string
	upload      uint64
	download    uint64
	duration    time.Duration
	requests    int
	inflight    int
	uni         bool
	connections int
	timeout     time.Duration
	latencies   bool
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
		cert := fs.String("cert", "", "PEM certificate (default: a self-signed Ed25519 one)")
		key := fs.String("key", "", "PEM private key for --cert")
		fs.UintVar(&payloadSize, "payload-size", 0, "fix the UDP payload at this size (1200 to 65527; default: path MTU discovery)")
		_ = fs.Parse(os.Args[2:])
		err = checkPayloadSize()
		if err == nil {
			err = server(*listen, *cert, *key)
		}
	case "client":
		var o clientOptions
		fs := flag.NewFlagSet("client", flag.ExitOnError)
		fs.StringVar(&o.target, "target", "", "server address")
		fs.Uint64Var(&o.upload, "upload", 0, "bytes to upload per request")
		fs.Uint64Var(&o.download, "download", 0, "bytes to ask for per request")
		fs.DurationVar(&o.duration, "duration", 0, "ask for u64::MAX and stop the response after this long")
		fs.IntVar(&o.requests, "requests", 1, "requests per connection")
		fs.IntVar(&o.inflight, "inflight", 1, "requests outstanding at once")
		fs.BoolVar(&o.uni, "uni", false, "unidirectional request streams (the reply comes on a new server stream)")
		fs.IntVar(&o.connections, "connections", 1, "connections, one after another")
		fs.DurationVar(&o.timeout, "timeout", 20*time.Second, "give up after this long")
		fs.BoolVar(&o.latencies, "latencies", false, "report each request's time (requestMicros)")
		fs.UintVar(&payloadSize, "payload-size", 0, "fix the UDP payload at this size (1200 to 65527; default: path MTU discovery)")
		_ = fs.Parse(os.Args[2:])
		err = checkPayloadSize()
		if err == nil {
			err = client(o)
		}
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		emit(map[string]any{"event": "error", "error": err.Error()})
		os.Exit(1)
	}
}

func checkPayloadSize() error {
	if payloadSize != 0 && (payloadSize < 1200 || payloadSize > 65527) {
		return fmt.Errorf("--payload-size: %d is not from 1200 to 65527", payloadSize)
	}
	return nil
}

// --- Server

func server(listen, certFile, keyFile string) error {
	var cert tls.Certificate
	var err error
	switch {
	case certFile != "" && keyFile != "":
		cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	case certFile == "" && keyFile == "":
		cert, err = selfSigned()
	default:
		err = errors.New("--cert and --key go together")
	}
	if err != nil {
		return err
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{alpn}}
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
		emit(map[string]any{"event": "connection", "remote": conn.RemoteAddr().String()})
		go func() {
			for {
				str, err := conn.AcceptStream(ctx)
				if err != nil {
					return
				}
				go serveStream(conn, str, str)
			}
		}()
		go func() {
			for {
				str, err := conn.AcceptUniStream(ctx)
				if err != nil {
					return
				}
				go serveStream(conn, str, nil)
			}
		}()
	}
}

// serveStream serves one request stream: reads the 8-byte response size, drains the upload to FIN, and only
// then sends the response: on the same stream when bidirectional (reply != nil), on a new unidirectional
// stream otherwise (draft section 2.3.2).
func serveStream(conn *quic.Conn, req io.Reader, reply *quic.Stream) {
	report := map[string]any{"event": "stream", "remote": conn.RemoteAddr().String(), "uni": reply == nil}
	switch s := req.(type) {
	case *quic.Stream:
		report["streamId"] = int64(s.StreamID())
	case *quic.ReceiveStream:
		report["streamId"] = int64(s.StreamID())
	}
	if err := serveRequest(conn, req, reply, report); err != nil {
		report["error"] = err.Error()
	}
	emit(report)
}

func serveRequest(conn *quic.Conn, req io.Reader, reply *quic.Stream, report map[string]any) error {
	var header [headerLen]byte
	if n, err := io.ReadFull(req, header[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// A stream closed before all 8 bytes arrived is ignored and closed gracefully (draft 2.3.1).
			if reply != nil {
				_ = reply.Close()
			}
			return fmt.Errorf("the request ended after %d of %d header bytes", n, headerLen)
		}
		return fmt.Errorf("reading the response size: %w", err)
	}
	want := binary.BigEndian.Uint64(header[:])
	report["requested"] = fmt.Sprint(want) // a string: u64::MAX does not fit a JSON number exactly
	// The whole upload, FIN included, before any byte of the response.
	received, err := io.Copy(io.Discard, req)
	report["uploadBytes"] = received
	if err != nil {
		return fmt.Errorf("reading the upload: %w", err)
	}
	var w io.WriteCloser
	if reply != nil {
		w = reply
	} else {
		uni, err := conn.OpenUniStreamSync(context.Background())
		if err != nil {
			return fmt.Errorf("opening the reply stream: %w", err)
		}
		report["replyStreamId"] = int64(uni.StreamID())
		w = uni
	}
	sent, err := writeN(w, want)
	report["downloadBytes"] = sent
	var stopped *quic.StreamError
	switch {
	case errors.As(err, &stopped) && stopped.Remote:
		report["stoppedWith"] = uint64(stopped.ErrorCode)
		if want != untilStopped {
			return fmt.Errorf("the client stopped the response with code %d", stopped.ErrorCode)
		}
		return nil
	case err != nil:
		return fmt.Errorf("sending the response: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("closing: %w", err)
	}
	return nil
}

// writeN writes n bytes (untilStopped: until the peer stops the stream) from one preallocated buffer and
// returns how many the stream accepted, which is the stream's final size if it is then reset.
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

// --- Client

type tally struct {
	sync.Mutex
	streams, stopped, upload, download, resetFinalSize uint64
	// requestMicros holds each completed request's time from opening its stream to the response's end.
	requestMicros []float64
}

func client(o clientOptions) error {
	if o.target == "" {
		return errors.New("--target is required")
	}
	if o.inflight < 1 {
		return errors.New("--inflight must be at least 1")
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	start := time.Now()
	var t tally
	var negotiated, peerKey string
	for i := 0; i < o.connections; i++ {
		conn, err := quic.DialAddr(ctx, o.target, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{alpn}}, quicConfig())
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		state := conn.ConnectionState().TLS
		negotiated = state.NegotiatedProtocol
		if len(state.PeerCertificates) > 0 {
			peerKey = keyName(state.PeerCertificates[0])
		}
		err = runRequests(ctx, conn, o, &t)
		_ = conn.CloseWithError(0, "")
		if err != nil {
			return err
		}
	}
	var requestMicros any // with --latencies only
	if o.latencies {
		requestMicros = t.requestMicros
	}
	var resetFinal any // known only where a response was stopped
	if t.stopped > 0 {
		resetFinal = t.resetFinalSize
	}
	emit(map[string]any{
		"event":          "done",
		"alpn":           negotiated,
		"peerKey":        peerKey,
		"connections":    o.connections,
		"streams":        t.streams,
		"stoppedStreams": t.stopped,
		"uploadBytes":    t.upload,
		"downloadBytes":  t.download,
		"resetFinalSize": resetFinal,
		"seconds":        time.Since(start).Seconds(),
		"requestMicros":  requestMicros,
	})
	return nil
}

// keyName names the key of the server's certificate: "ECDSA P-256", "Ed25519", "RSA-2048".
func keyName(cert *x509.Certificate) string {
	switch k := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	}
	return cert.PublicKeyAlgorithm.String()
}

// runRequests runs o.requests requests on one connection, at most o.inflight at once.
func runRequests(ctx context.Context, conn *quic.Conn, o clientOptions, t *tally) error {
	slots := make(chan struct{}, o.inflight)
	errs := make(chan error, o.requests)
	var wg sync.WaitGroup
	for i := 0; i < o.requests; i++ {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := request(ctx, conn, o, t); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs // the first error, or nil
}

type responseStream interface {
	io.Reader
	CancelRead(quic.StreamErrorCode)
	SetReadDeadline(time.Time) error
	SetReceiveFinalSizeCallback(func(int64))
}

// request sends one request (the 8-byte response size, the upload, FIN) and reads the response to its
// end or, with a duration, for that long and then ends it with STOP_SENDING (code 0, no error), waiting
// for the server's RESET_STREAM, whose final size says how many bytes the server committed.
func request(ctx context.Context, conn *quic.Conn, o clientOptions, t *tally) error {
	requested := o.download
	if o.duration > 0 {
		requested = untilStopped
	}
	start := time.Now()
	var send io.WriteCloser
	var resp responseStream
	if o.uni {
		s, err := conn.OpenUniStreamSync(ctx)
		if err != nil {
			return fmt.Errorf("open stream: %w", err)
		}
		send = s
		defer context.AfterFunc(ctx, func() { s.CancelWrite(noError) })()
	} else {
		s, err := conn.OpenStreamSync(ctx)
		if err != nil {
			return fmt.Errorf("open stream: %w", err)
		}
		send, resp = s, s
		defer context.AfterFunc(ctx, func() { s.CancelWrite(noError); s.CancelRead(noError) })()
	}
	var header [headerLen]byte
	binary.BigEndian.PutUint64(header[:], requested)
	if _, err := send.Write(header[:]); err != nil {
		return fmt.Errorf("request: %w", err)
	}
	uploaded, err := writeN(send, o.upload)
	t.Lock()
	t.upload += uploaded
	t.Unlock()
	if err != nil {
		return fmt.Errorf("upload after %d bytes: %w", uploaded, err)
	}
	if err := send.Close(); err != nil {
		return fmt.Errorf("FIN: %w", err)
	}
	if resp == nil {
		// The reply comes on a stream the server opens; with several in flight, any reply will do.
		s, err := conn.AcceptUniStream(ctx)
		if err != nil {
			return fmt.Errorf("waiting for the reply stream: %w", err)
		}
		resp = s
		defer context.AfterFunc(ctx, func() { s.CancelRead(noError) })()
	}
	finalSize := make(chan int64, 1)
	if o.duration > 0 {
		resp.SetReceiveFinalSizeCallback(func(n int64) { finalSize <- n })
		_ = resp.SetReadDeadline(time.Now().Add(o.duration))
	}
	received, err := io.Copy(io.Discard, resp)
	var timedOut net.Error
	stopped := o.duration > 0 && errors.As(err, &timedOut) && timedOut.Timeout()
	t.Lock()
	if err == nil {
		t.requestMicros = append(t.requestMicros, float64(time.Since(start).Nanoseconds())/1e3)
	}
	t.download += uint64(received)
	t.streams++
	t.Unlock()
	switch {
	case stopped:
		// What arrived before the stop is counted, nothing after it.
		resp.CancelRead(noError)
		select {
		case n := <-finalSize:
			t.Lock()
			t.stopped++
			t.resetFinalSize += uint64(n)
			t.Unlock()
			return nil
		case <-time.After(5 * time.Second):
			return errors.New("no RESET_STREAM within 5 s of STOP_SENDING")
		}
	case err != nil:
		return fmt.Errorf("download after %d bytes: %w", received, err)
	case o.duration > 0:
		return fmt.Errorf("the response to u64::MAX ended after %d bytes, before STOP_SENDING", received)
	}
	return nil
}

// selfSigned makes a throwaway Ed25519 certificate for [::1], 127.0.0.1 and localhost, the key type
// quic-go's own perf tool presents.
func selfSigned() (tls.Certificate, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
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
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
