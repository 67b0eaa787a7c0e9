// Command persona runs Persona, self-hosted AWS IAM roles and STS: `persona serve` starts the server; `persona
// policy` validates and simulates policies offline.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "persona",
		Short:         "Self-hosted AWS IAM roles and STS",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCommand(), policyCommand(), keysCommand(), auditCommand(), agentCommand(), credentialProcessCommand(), instanceCommand())
	if err := root.Execute(); err != nil {
		code := 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		if !errors.Is(err, errDenied) {
			fmt.Fprintln(os.Stderr, "persona:", err)
		}
		os.Exit(code)
	}
}

// env returns the environment variable name's value, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}
