package main

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsjson/orgsapi"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/awsquery/stsapi"
	"github.com/persona-iam/persona/internal/store"
)

func auditCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read the audit trail (CloudTrail records) from the store"}
	cmd.AddCommand(auditExportCommand(), auditTailCommand())
	return cmd
}

// storeFlags are the flags that say where the store is, as `persona serve` takes them.
func storeFlags(cmd *cobra.Command, c *serveConfig) {
	cmd.Flags().StringVar(&c.dataDir, "data-dir", env("PERSONA_DATA_DIR", defaultDataDir()), "data directory of the embedded store (PERSONA_DATA_DIR)")
	cmd.Flags().StringVar(&c.storeURL, "store", env("PERSONA_STORE", ""), "postgres://… when the server uses PostgreSQL (PERSONA_STORE)")
}

// openTrail opens the store and returns its audit log and the accounts to read (account, or all).
func openTrail(cmd *cobra.Command, c serveConfig, account string) (store.Store, store.AuditLog, []string, error) {
	st, err := openStore(cmd.Context(), c)
	if err != nil {
		return nil, nil, nil, err
	}
	log, ok := st.(store.AuditLog)
	if !ok {
		st.Close()
		return nil, nil, nil, fmt.Errorf("the store keeps no audit trail")
	}
	if account != "" {
		return st, log, []string{account}, nil
	}
	accounts, err := audit.Accounts(cmd.Context(), st)
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return st, log, accounts, nil
}

func auditExportCommand() *cobra.Command {
	var c serveConfig
	var since, until, format, account string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the records of a time range as a CloudTrail log file or JSON lines",
		Example: `  persona audit export --since 24h > trail.json
  persona audit export --since 2026-11-01T00:00:00Z --until 2026-11-02T00:00:00Z --format jsonl`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			from, err := parseWhen(since, now)
			if err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			to := now
			if until != "" {
				if to, err = parseWhen(until, now); err != nil {
					return fmt.Errorf("--until: %w", err)
				}
			}
			st, log, accounts, err := openTrail(cmd, c, account)
			if err != nil {
				return err
			}
			defer st.Close()
			out := bufio.NewWriter(cmd.OutOrStdout())
			n, err := audit.Export(cmd.Context(), log, accounts, from, to, format, out)
			if ferr := out.Flush(); err == nil {
				err = ferr
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d records\n", n)
			return nil
		},
	}
	storeFlags(cmd, &c)
	cmd.Flags().StringVar(&since, "since", "24h", "start: a duration back from now (90m, 24h, 30d) or an RFC 3339 time")
	cmd.Flags().StringVar(&until, "until", "", "end: a duration back from now or an RFC 3339 time (default now)")
	cmd.Flags().StringVar(&format, "format", audit.FormatCloudTrail, "cloudtrail ({\"Records\":[…]}) or jsonl")
	cmd.Flags().StringVar(&account, "account", "", "only this account's trail (default every account)")
	return cmd
}

func auditTailCommand() *cobra.Command {
	var c serveConfig
	var since, account string
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Follow the trail: print records (JSON lines) as they are written",
		RunE: func(cmd *cobra.Command, _ []string) error {
			back, err := parseDuration(since)
			if err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			st, log, accounts, err := openTrail(cmd, c, account)
			if err != nil {
				return err
			}
			defer st.Close()
			out := bufio.NewWriter(cmd.OutOrStdout())
			return audit.Tail(cmd.Context(), log, audit.TailOptions{Accounts: accounts, Since: back}, out)
		},
	}
	storeFlags(cmd, &c)
	cmd.Flags().StringVar(&since, "since", "0s", "also print the records of this long before now (5m, 1h)")
	cmd.Flags().StringVar(&account, "account", "", "only this account's trail (default every account)")
	return cmd
}

// parseWhen reads an RFC 3339 time or a duration back from now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := parseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
	}
	return now.Add(-d), nil
}

// parseDuration reads a Go duration, or a whole number of days ("30d").
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return 0, fmt.Errorf("%q: days must be a whole number from 0 to 36500", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (90m, 24h, 30d)", s)
	}
	return d, nil
}

func policyGenerateCommand() *cobra.Command {
	var c serveConfig
	var principal, since, until string
	var unused bool
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write the least-privilege policy for what a principal was seen doing (from the audit trail)",
		Example: `  persona policy generate --principal arn:aws:iam::111122223333:role/app --since 30d > app-policy.json
  aws iam put-role-policy --role-name app --policy-name observed --policy-document file://app-policy.json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			from, err := parseWhen(since, now)
			if err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			to := now
			if until != "" {
				if to, err = parseWhen(until, now); err != nil {
					return fmt.Errorf("--until: %w", err)
				}
			}
			st, log, _, err := openTrail(cmd, c, "-")
			if err != nil {
				return err
			}
			defer st.Close()
			gen, err := audit.Generate(cmd.Context(), log, st, audit.GenerateOptions{Principal: principal, Since: from, Until: to})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), gen.Policy)
			fmt.Fprintf(cmd.ErrOrStderr(), "%d actions from %d records of %s", len(gen.Actions), gen.Records, principal)
			if len(gen.Denied) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "; tried and denied (not granted): %s", strings.Join(gen.Denied, ", "))
			}
			fmt.Fprintln(cmd.ErrOrStderr())
			if unused {
				list, err := audit.Unused(cmd.Context(), authz.New(st), principal, gen.Actions, actionCatalog())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "granted on every resource but not used (%d): %s\n", len(list), strings.Join(list, ", "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&unused, "unused", false, "also report the actions the principal's policies grant on every resource that it did not use")
	storeFlags(cmd, &c)
	cmd.Flags().StringVar(&principal, "principal", "", "ARN of the user, role or role session")
	cmd.Flags().StringVar(&since, "since", "30d", "start: a duration back from now (30d, 24h) or an RFC 3339 time")
	cmd.Flags().StringVar(&until, "until", "", "end (default now)")
	cmd.MarkFlagRequired("principal")
	return cmd
}

// actionCatalog is every action of the services Persona serves, for the unused-permissions report.
func actionCatalog() []string {
	var out []string
	for op := range iamapi.Operations {
		out = append(out, "iam:"+op)
	}
	for op := range stsapi.Operations {
		out = append(out, "sts:"+op)
	}
	for op := range orgsapi.Operations {
		out = append(out, "organizations:"+op)
	}
	return append(out, "cloudtrail:LookupEvents")
}
