package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/persona-iam/persona/policy"
)

func policyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Validate and simulate IAM policies offline",
	}
	cmd.AddCommand(policyValidateCommand(), policySimulateCommand(), policyGenerateCommand())
	return cmd
}

var policyKinds = map[string]policy.PolicyKind{
	"identity": policy.KindIdentity,
	"resource": policy.KindResource,
	"trust":    policy.KindTrust,
	"boundary": policy.KindBoundary,
	"session":  policy.KindSession,
	"scp":      policy.KindSCP,
}

func policyValidateCommand() *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Print a policy's findings (errors, warnings, suggestions) with line:column; exit 1 on errors",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, ok := policyKinds[kind]
			if !ok {
				return fmt.Errorf("--type %q: want one of identity, resource, trust, boundary, session, scp", kind)
			}
			return validateFiles(cmd.OutOrStdout(), args, k)
		},
	}
	cmd.Flags().StringVar(&kind, "type", "identity", "policy type: identity, resource, trust, boundary, session or scp")
	return cmd
}

// errFindings reports that validation found errors; main turns it into exit status 1.
var errFindings = errors.New("the policies have errors")

func validateFiles(out io.Writer, files []string, kind policy.PolicyKind) error {
	failed := false
	for _, name := range files {
		src, err := os.ReadFile(strings.TrimPrefix(name, "file://"))
		if err != nil {
			return err
		}
		doc, err := policy.Parse(src)
		if err != nil {
			fmt.Fprintf(out, "%s: ERROR %v\n", name, err)
			failed = true
			continue
		}
		findings := policy.Validate(doc, kind)
		for _, f := range findings {
			fmt.Fprintf(out, "%s:%s\n", name, f)
			if f.Type == policy.FindingError {
				failed = true
			}
		}
		if len(findings) == 0 {
			fmt.Fprintf(out, "%s: no findings\n", name)
		}
	}
	if failed {
		return errFindings
	}
	return nil
}
