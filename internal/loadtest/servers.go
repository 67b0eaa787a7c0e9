package loadtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"time"

	persiam "github.com/persona-iam/persona/internal/iam"
	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/server"
	"github.com/persona-iam/persona/internal/store/sqlite"
)

// Local is an HTTP server the harness started on a loopback port.
type Local struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string
	// Addr is its host:port.
	Addr  string
	close func() error
}

// Close stops the server.
func (l *Local) Close() error { return l.close() }

// Serve serves h on a free loopback port until Close. Its goroutines carry the pprof label server=name, so a CPU
// profile of a run separates the servers from each other and from the load generator (-tagfocus server=persona).
func Serve(name string, h http.Handler) (*Local, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	go pprof.Do(context.Background(), pprof.Labels("server", name), func(context.Context) { hs.Serve(ln) })
	addr := ln.Addr().String()
	return &Local{URL: "http://" + addr, Addr: addr, close: func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return hs.Shutdown(ctx)
	}}, nil
}

// PersonaServer is a Persona server started in this process, configured as `persona serve` configures it: an
// embedded SQLite store (WAL, synchronous=FULL) in a fresh directory, secrets sealed under a random master key,
// structured logs at Info level (written nowhere, but formatted when enabled).
type PersonaServer struct {
	*Local
	AccountID, AccessKeyID, Secret string
}

// StartPersona starts a Persona server whose data lives in dir.
func StartPersona(ctx context.Context, dir string) (*PersonaServer, error) {
	st, err := sqlite.Open(ctx, filepath.Join(dir, "persona.db"), sqlite.Options{})
	if err != nil {
		return nil, err
	}
	key := make([]byte, secrets.KeySize)
	rand.Read(key)
	box, err := secrets.NewBox(key)
	if err != nil {
		st.Close()
		return nil, err
	}
	creds, err := persiam.Bootstrap(ctx, st, box, persiam.BootstrapOptions{})
	if err != nil {
		st.Close()
		return nil, err
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv := server.New(server.Config{Store: st, Box: box, Logger: logger})
	runCtx, cancel := context.WithCancel(context.Background())
	go srv.Run(runCtx)
	l, err := Serve("persona", srv)
	if err != nil {
		cancel()
		st.Close()
		return nil, err
	}
	stop := l.close
	l.close = func() error {
		err := stop()
		cancel()
		return errors.Join(err, st.Close())
	}
	return &PersonaServer{Local: l, AccountID: creds.AccountID, AccessKeyID: creds.AccessKeyID, Secret: creds.Secret.Reveal()}, nil
}

// StartMoto starts `moto_server` (the program at bin) on a free loopback port and waits until it answers.
func StartMoto(ctx context.Context, bin string) (*Local, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	stop := func() error {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		return nil
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l := &Local{URL: "http://" + addr, Addr: addr, close: stop}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(l.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return l, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return nil, fmt.Errorf("moto_server did not answer on %s: %w", addr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
