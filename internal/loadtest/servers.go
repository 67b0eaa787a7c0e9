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
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	persiam "github.com/persona-iam/persona/internal/iam"
	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/server"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/postgres"
	"github.com/persona-iam/persona/internal/store/sqlite"
)

// Local is an HTTP server the harness started on a loopback port.
type Local struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string
	// Addr is its host:port.
	Addr string
	// CPU reports the CPU time the server's process has used, for a server in another process; nil otherwise.
	CPU   func() time.Duration
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

// StartPersona starts a Persona server whose data lives in dir, or, when postgresDSN is set, in a fresh schema of
// that PostgreSQL database (dropped on Close).
func StartPersona(ctx context.Context, dir, postgresDSN string) (*PersonaServer, error) {
	var st store.Store
	var dropSchema func() error
	if postgresDSN == "" {
		s, err := sqlite.Open(ctx, filepath.Join(dir, "persona.db"), sqlite.Options{})
		if err != nil {
			return nil, err
		}
		st = s
	} else {
		dsn, drop, err := freshSchema(ctx, postgresDSN)
		if err != nil {
			return nil, err
		}
		s, err := postgres.Open(ctx, dsn, postgres.Options{})
		if err != nil {
			drop()
			return nil, err
		}
		st, dropSchema = s, drop
	}
	closeStore := func() error {
		err := st.Close()
		if dropSchema != nil {
			err = errors.Join(err, dropSchema())
		}
		return err
	}
	key := make([]byte, secrets.KeySize)
	rand.Read(key)
	box, err := secrets.NewBox(key)
	if err != nil {
		closeStore()
		return nil, err
	}
	creds, err := persiam.Bootstrap(ctx, st, box, persiam.BootstrapOptions{})
	if err != nil {
		closeStore()
		return nil, err
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var srv *server.Server
	// Goroutines New starts (the audit writer, …) carry the label too.
	pprof.Do(ctx, pprof.Labels("server", "persona"), func(context.Context) {
		srv = server.New(server.Config{Store: st, Box: box, Logger: logger})
	})
	runCtx, cancel := context.WithCancel(context.Background())
	go pprof.Do(runCtx, pprof.Labels("server", "persona"), srv.Run) // its background work (audit writer, …) counts as Persona's
	l, err := Serve("persona", srv)
	if err != nil {
		cancel()
		closeStore()
		return nil, err
	}
	stop := l.close
	l.close = func() error {
		err := stop()
		cancel()
		return errors.Join(err, closeStore())
	}
	return &PersonaServer{Local: l, AccountID: creds.AccountID, AccessKeyID: creds.AccessKeyID, Secret: creds.Secret.Reveal()}, nil
}

// freshSchema creates an empty schema in the database of dsn and returns a DSN that uses it, and how to drop it.
func freshSchema(ctx context.Context, dsn string) (string, func() error, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	schema := "persona_load_" + strings.ToLower(rand.Text()[:16])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop := func() error {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		return err
	}
	// pgx sends unknown connection parameters to the server as run-time parameters.
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	if !strings.Contains(dsn, "://") {
		return dsn + " search_path=" + schema, drop, nil
	}
	return dsn + sep + "search_path=" + schema, drop, nil
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
	pid := cmd.Process.Pid
	l := &Local{URL: "http://" + addr, Addr: addr, close: stop, CPU: func() time.Duration { return processCPU(pid) }}
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

// processCPU is the user and system CPU time of process pid and its reaped children, from /proc/PID/stat
// (https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html); 0 when unreadable.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	return statCPU(string(b))
}

// statCPU sums utime, stime, cutime and cstime of a /proc/PID/stat line.
func statCPU(b string) time.Duration {
	// The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
	i := strings.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(b[i+1:])
	// f[0] is field 3 (state); utime, stime, cutime, cstime are fields 14–17.
	if len(f) < 15 {
		return 0
	}
	var ticks int64
	for _, s := range f[11:15] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0
		}
		ticks += n
	}
	const userHZ = 100 // sysconf(_SC_CLK_TCK) on Linux
	return time.Duration(ticks) * time.Second / userHZ
}
