// Command mtls-e2e-peer is the Go peer of the mTLS e2e harness (stdlib only).
//
//	peer server --dir D [--addr 127.0.0.1:0] [--allowed a,b] [--no-client-auth] [--max-seconds 600]
//	    Serves HTTPS GET /api/data. Prints "READY <port>" once listening; exits on
//	    stdin EOF, SIGTERM or after --max-seconds.
//	peer client --url https://NAME:PORT/api/data --connect 127.0.0.1:PORT --ca F
//	    [--cert F --key F] --servername NAME [--timeout 8] [--tls 1.2|1.3]
//	    Prints one JSON line: {"outcome": ..., "status": ..., "body": ..., "error": ...}.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: peer server|client [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "server":
		server(os.Args[2:])
	case "client":
		client(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: peer server|client [flags]")
		os.Exit(2)
	}
}

func loadPool(path string) *x509.CertPool {
	pem, err := os.ReadFile(path)
	if err != nil {
		log.Fatalf("read CA bundle: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		log.Fatalf("no certificate in %s", path)
	}
	return pool
}

func server(args []string) {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	dir := fs.String("dir", "", "directory holding ca.crt, tls.crt, tls.key")
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	allowed := fs.String("allowed", "", "comma-separated client common names allowed")
	noClientAuth := fs.Bool("no-client-auth", false, "do not request a client certificate (bad-server mode)")
	maxSeconds := fs.Int("max-seconds", 600, "exit after this many seconds")
	fs.Parse(args)

	kp, err := tls.LoadX509KeyPair(filepath.Join(*dir, "tls.crt"), filepath.Join(*dir, "tls.key"))
	if err != nil {
		log.Fatalf("load key pair: %v", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{kp}, MinVersion: tls.VersionTLS12}
	if !*noClientAuth {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = loadPool(filepath.Join(*dir, "ca.crt"))
	}
	allow := map[string]bool{}
	for _, cn := range strings.Split(*allowed, ",") {
		if cn = strings.TrimSpace(cn); cn != "" {
			allow[cn] = true
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/api/data", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		body := map[string]any{"peer": "go", "cn": nil, "uris": []string{}}
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			leaf := r.TLS.PeerCertificates[0]
			uris := []string{}
			for _, u := range leaf.URIs {
				uris = append(uris, u.String())
			}
			body["cn"] = leaf.Subject.CommonName
			body["uris"] = uris
			if !allow[leaf.Subject.CommonName] {
				w.WriteHeader(http.StatusForbidden)
				body["error"] = "client not allowed"
			}
		} else if !*noClientAuth {
			w.WriteHeader(http.StatusForbidden)
			body["error"] = "no client certificate"
		}
		json.NewEncoder(w).Encode(body)
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         cfg,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(os.Stderr, "go-server: ", 0),
	}
	srv.SetKeepAlivesEnabled(false)
	fmt.Printf("READY %d\n", ln.Addr().(*net.TCPAddr).Port)

	stop := make(chan string, 3)
	go func() { io.Copy(io.Discard, os.Stdin); stop <- "stdin closed" }()
	go func() { time.Sleep(time.Duration(*maxSeconds) * time.Second); stop <- "max-seconds reached" }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { s := <-sig; stop <- s.String() }()
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Fatalf("serve: %v", err)
		}
	}()
	why := <-stop
	fmt.Fprintf(os.Stderr, "go-server: stopping (%s)\n", why)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}

type result struct {
	Outcome    string          `json:"outcome"` // http | tls_remote | tls_local | tls_other | reset | connect_error | timeout | error
	Status     int             `json:"status,omitempty"`
	Body       json.RawMessage `json:"body,omitempty"`
	Error      string          `json:"error,omitempty"`
	ServerCN   string          `json:"serverCN,omitempty"`
	TLSVersion string          `json:"tlsVersion,omitempty"`
}

func classify(err error) string {
	var verr *tls.CertificateVerificationError
	var hn x509.HostnameError
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var ne net.Error
	msg := err.Error()
	switch {
	case errors.As(err, &verr), errors.As(err, &hn), errors.As(err, &ua), errors.As(err, &ci):
		return "tls_local"
	case strings.Contains(msg, "remote error: tls:"):
		return "tls_remote"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connect_error"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.EPIPE):
		return "reset"
	// net/http's own words for an EOF read before the request went out: with TLS 1.3 the client's
	// handshake ends before the server judges its certificate, and a server that refuses by closing
	// (Python's asyncio, Node) can close before the request is written. Its error wraps no io.EOF.
	case strings.Contains(msg, "server closed idle connection"):
		return "reset"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(msg, "tls:"):
		return "tls_other"
	}
	return "error"
}

func client(args []string) {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	url := fs.String("url", "", "URL to GET")
	connect := fs.String("connect", "", "host:port to dial instead of the URL's host")
	ca := fs.String("ca", "", "CA bundle to trust")
	cert := fs.String("cert", "", "client certificate chain (PEM, leaf first)")
	key := fs.String("key", "", "client private key")
	serverName := fs.String("servername", "", "name to send as SNI and to verify")
	timeoutSec := fs.Float64("timeout", 8, "overall timeout in seconds")
	tlsMax := fs.String("tls", "", "maximum TLS version: 1.2 or 1.3")
	fs.Parse(args)
	timeout := time.Duration(*timeoutSec * float64(time.Second))

	out := json.NewEncoder(os.Stdout)
	cfg := &tls.Config{RootCAs: loadPool(*ca), ServerName: *serverName, MinVersion: tls.VersionTLS12}
	if *tlsMax == "1.2" {
		cfg.MaxVersion = tls.VersionTLS12
	}
	if *cert != "" {
		kp, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			out.Encode(result{Outcome: "error", Error: "load client key pair: " + err.Error()})
			os.Exit(0)
		}
		cfg.Certificates = []tls.Certificate{kp}
	}
	dialer := &net.Dialer{Timeout: timeout}
	tr := &http.Transport{
		TLSClientConfig:   cfg,
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, *connect)
		},
	}
	hc := &http.Client{Transport: tr, Timeout: timeout}
	resp, err := hc.Get(*url)
	if err != nil {
		out.Encode(result{Outcome: classify(err), Error: err.Error()})
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		out.Encode(result{Outcome: classify(err), Status: resp.StatusCode, Error: "read body: " + err.Error()})
		return
	}
	r := result{Outcome: "http", Status: resp.StatusCode}
	if json.Valid(body) {
		r.Body = body
	} else {
		r.Body, _ = json.Marshal(string(body))
	}
	if resp.TLS != nil {
		r.TLSVersion = tls.VersionName(resp.TLS.Version)
		if len(resp.TLS.PeerCertificates) > 0 {
			r.ServerCN = resp.TLS.PeerCertificates[0].Subject.CommonName
		}
	}
	out.Encode(r)
}
