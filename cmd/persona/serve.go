package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/persona-iam/persona/internal/iam"
	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/server"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/postgres"
	"github.com/persona-iam/persona/internal/store/sqlite"
	"github.com/persona-iam/persona/internal/sts"
)

// DefaultListen is where `persona serve` listens unless told otherwise.
const DefaultListen = "127.0.0.1:7474"

type serveConfig struct {
	listen, dataDir, storeURL, region, tlsCert, tlsKey, logLevel string
	masterKeyFile                                                string
	auditRetention                                               string
	trustedProxies                                               string
}

func serveCommand() *cobra.Command {
	var c serveConfig
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start the Persona server (IAM and STS on one endpoint)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), c, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.listen, "listen", env("PERSONA_LISTEN", DefaultListen), "address to listen on (PERSONA_LISTEN)")
	f.StringVar(&c.dataDir, "data-dir", env("PERSONA_DATA_DIR", defaultDataDir()), "data directory: embedded store, master key, root credentials (PERSONA_DATA_DIR)")
	f.StringVar(&c.storeURL, "store", env("PERSONA_STORE", ""), "postgres://… to use PostgreSQL instead of the embedded SQLite store (PERSONA_STORE)")
	f.StringVar(&c.region, "region", env("PERSONA_REGION", "us-east-1"), "region Persona reports (PERSONA_REGION)")
	f.StringVar(&c.tlsCert, "tls-cert", env("PERSONA_TLS_CERT", ""), "TLS certificate file (PERSONA_TLS_CERT)")
	f.StringVar(&c.tlsKey, "tls-key", env("PERSONA_TLS_KEY", ""), "TLS private key file (PERSONA_TLS_KEY)")
	f.StringVar(&c.logLevel, "log-level", env("PERSONA_LOG_LEVEL", "info"), "debug, info, warn or error (PERSONA_LOG_LEVEL)")
	f.StringVar(&c.masterKeyFile, "master-key-file", env("PERSONA_MASTER_KEY_FILE", ""), "file holding the base64 master key (PERSONA_MASTER_KEY_FILE; or PERSONA_MASTER_KEY; default DATA_DIR/master.key, created on first start)")
	f.StringVar(&c.trustedProxies, "trusted-proxies", env("PERSONA_TRUSTED_PROXIES", ""), "comma-separated networks (CIDR) or addresses of reverse proxies whose X-Forwarded-For gives the caller's address (PERSONA_TRUSTED_PROXIES)")
	f.StringVar(&c.auditRetention, "audit-retention", env("PERSONA_AUDIT_RETENTION", "90d"), "how long audit records are kept (90d, 2160h; 0 keeps them forever) (PERSONA_AUDIT_RETENTION)")
	return cmd
}

func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "persona")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".persona")
	}
	return ".persona"
}

func serve(ctx context.Context, c serveConfig, out io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	retention, err := parseDuration(c.auditRetention)
	if err != nil {
		return fmt.Errorf("--audit-retention: %w", err)
	}
	proxies, err := parsePrefixes(c.trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	box, st, err := openSealedStore(ctx, c, true)
	if err != nil {
		return err
	}
	defer st.Close()

	creds, err := iam.Bootstrap(ctx, st, box, iam.BootstrapOptions{
		AccountID:       os.Getenv("PERSONA_ACCOUNT_ID"),
		RootAccessKeyID: os.Getenv("PERSONA_ROOT_ACCESS_KEY_ID"),
		RootSecret:      secrets.Secret(os.Getenv("PERSONA_ROOT_SECRET_ACCESS_KEY")),
	})
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	keyring, err := sts.OpenKeyring(ctx, st, box)
	if err != nil {
		return err
	}
	srv := server.New(server.Config{Store: st, Box: box, Logger: logger, Region: c.region, Keyring: keyring, AuditRetention: retention, TrustedProxies: proxies})

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	scheme := "http"
	if c.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			return fmt.Errorf("TLS: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	endpoint := scheme + "://" + ln.Addr().String()
	if err := announce(out, c, creds, endpoint); err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	go srv.Run(ctx)
	logger.Info("persona serving", "endpoint", endpoint, "account", creds.AccountID, "data_dir", c.dataDir)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = hs.Shutdown(shutdown)
	// Queued audit records (reads, denials) are written before the process exits.
	if cerr := srv.Close(shutdown); err == nil {
		err = cerr
	}
	return err
}

func openStore(ctx context.Context, c serveConfig) (store.Store, error) {
	if strings.HasPrefix(c.storeURL, "postgres://") || strings.HasPrefix(c.storeURL, "postgresql://") {
		return postgres.Open(ctx, c.storeURL, postgres.Options{})
	}
	if c.storeURL != "" {
		return nil, fmt.Errorf("--store %q: only postgres:// URLs are supported (leave it empty for the embedded store)", redactURL(c.storeURL))
	}
	return sqlite.Open(ctx, filepath.Join(c.dataDir, "persona.db"), sqlite.Options{})
}

// redactURL hides a password in a connection URL before it is printed.
func redactURL(s string) string {
	if i := strings.Index(s, "@"); i >= 0 {
		if j := strings.Index(s, "://"); j >= 0 && j < i {
			return s[:j+3] + "…" + s[i:]
		}
	}
	return s
}

// announce prints how to point the aws CLI at Persona. Both region variables are printed: the SDKs read AWS_REGION,
// version 1 of the aws CLI only AWS_DEFAULT_REGION.
// The root secret is printed only on the start that created it; it is also saved, owner-only, in the data directory.
func announce(out io.Writer, c serveConfig, creds *iam.RootCredentials, endpoint string) error {
	credFile := filepath.Join(c.dataDir, "root-credentials")
	if creds.Created {
		content := fmt.Sprintf("AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\nAWS_ENDPOINT_URL=%s\nAWS_REGION=%s\nAWS_DEFAULT_REGION=%s\n",
			creds.AccessKeyID, creds.Secret.Reveal(), endpoint, c.region, c.region)
		if err := writeOwnerOnly(credFile, []byte(content)); err != nil {
			return fmt.Errorf("saving root credentials: %w", err)
		}
		fmt.Fprintf(out, "Persona created account %s and its root access key. The secret is shown once; it is also saved in %s (owner-only).\n\n", creds.AccountID, credFile)
		fmt.Fprintf(out, "export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nexport AWS_ENDPOINT_URL=%s\nexport AWS_REGION=%s\nexport AWS_DEFAULT_REGION=%s\n\n",
			creds.AccessKeyID, creds.Secret.Reveal(), endpoint, c.region, c.region)
		return nil
	}
	where := "credentials in " + credFile
	if _, err := os.Stat(credFile); err != nil {
		// Keys given by PERSONA_ROOT_*, or created by another node sharing the store (which showed the secret).
		where = "its secret is not stored here: it was given by PERSONA_ROOT_SECRET_ACCESS_KEY or shown by the node that created it"
	}
	fmt.Fprintf(out, "Persona serving account %s at %s (root access key %s; %s).\n", creds.AccountID, endpoint, creds.AccessKeyID, where)
	fmt.Fprintf(out, "export AWS_ENDPOINT_URL=%s AWS_REGION=%s AWS_DEFAULT_REGION=%s\n", endpoint, c.region, c.region)
	return nil
}

// writeOwnerOnly writes a secret file readable only by its owner. os.WriteFile keeps the mode of a file that already
// exists, so a stale file left readable by others is replaced, not rewritten in place.
func writeOwnerOnly(path string, data []byte) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// parsePrefixes parses a comma-separated list of networks ("10.0.0.0/8") and single addresses ("10.1.2.3").
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a network (10.0.0.0/8) nor an address", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// openSealedStore loads the master key (PERSONA_MASTER_KEY, --master-key-file, or DATA_DIR/master.key, created
// there when create is set) and opens the store whose secrets it seals.
func openSealedStore(ctx context.Context, c serveConfig, create bool) (*secrets.Box, store.Store, error) {
	key, err := secrets.LoadMasterKey(secrets.Secret(os.Getenv("PERSONA_MASTER_KEY")), c.masterKeyFile, c.dataDir, create)
	if err != nil {
		return nil, nil, err
	}
	box, err := secrets.NewBox(key)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return box, st, nil
}
