package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/persona-iam/persona/internal/simulator"
)

// exitError carries a process exit status: 1 for a denied simulation, 2 for a usage error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(err error) error { return &exitError{code: 2, err: err} }

func policySimulateCommand() *cobra.Command {
	var (
		input                                      string
		identity, boundary, session, scps, context []string
		actions, resources                         []string
		resourcePolicy, caller, owner, output      string
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Evaluate policies offline, as `aws iam simulate-custom-policy` does; exit 0 when allowed, 1 when denied, 2 on usage errors",
		Long: `Evaluate policy files against actions, resources and context keys without a server.

The input is the JSON that "aws iam simulate-custom-policy --cli-input-json" takes (--cli-input-json file://spec.json),
and/or policy files and flags: --identity, --boundary, --resource-policy, --session and --scp (one organization level per
flag, comma-separated files within it). Context keys are --context KEY=TYPE:VALUE (TYPE is a ContextKeyType such as
string, date, ip, boolean, numeric or stringList; list values are comma-separated; without TYPE the value is a string).

The text output gives each decision, the deciding statements as FILE:LINE:COLUMN and the missing context keys;
--output json prints SimulateCustomPolicy's response as the aws CLI does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := &simulator.Offline{Actions: splitAll(actions), Resources: resources, CallerARN: caller, ResourceOwner: owner}
			if input != "" {
				f, err := os.Open(strings.TrimPrefix(input, "file://"))
				if err != nil {
					return usageError(err)
				}
				spec, err := simulator.ReadSpec(f)
				f.Close()
				if err != nil {
					return usageError(err)
				}
				// Flags win over the file's single values; lists add up.
				o.Add(spec)
				if caller != "" {
					o.CallerARN = caller
				}
				if owner != "" {
					o.ResourceOwner = owner
				}
			}
			var err error
			read := func(names []string) []simulator.Doc {
				var docs []simulator.Doc
				for _, n := range names {
					text, rerr := os.ReadFile(strings.TrimPrefix(n, "file://"))
					if rerr != nil && err == nil {
						err = rerr
					}
					docs = append(docs, simulator.Doc{Name: n, Text: text})
				}
				return docs
			}
			o.Identity = append(o.Identity, read(identity)...)
			o.Boundary = append(o.Boundary, read(boundary)...)
			if session != nil {
				o.Session = append([]simulator.Doc{}, read(session)...)
			}
			for _, level := range scps {
				o.SCPs = append(o.SCPs, read(strings.Split(level, ",")))
			}
			if resourcePolicy != "" {
				d := read([]string{resourcePolicy})[0]
				o.Resource = &d
			}
			if err != nil {
				return usageError(err)
			}
			for _, c := range context {
				e, err := simulator.ParseContextFlag(c)
				if err != nil {
					return usageError(err)
				}
				o.Context = append(o.Context, e)
			}
			if output != "text" && output != "json" {
				return usageError(fmt.Errorf("--output %q: want text or json", output))
			}
			report, err := o.Run()
			if err != nil {
				return usageError(err)
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				err = report.WriteJSON(out)
			} else {
				err = report.WriteText(out)
			}
			if err != nil {
				return err
			}
			if !report.Allowed() {
				return &exitError{code: 1, err: errDenied}
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	f := cmd.Flags()
	f.StringVar(&input, "cli-input-json", "", "file://spec.json: the input of aws iam simulate-custom-policy --cli-input-json")
	f.StringArrayVar(&identity, "identity", nil, "identity-based policy file (repeatable)")
	f.StringArrayVar(&boundary, "boundary", nil, "permissions boundary policy file")
	f.StringVar(&resourcePolicy, "resource-policy", "", "resource-based policy file (needs --caller)")
	f.StringArrayVar(&session, "session", nil, "session policy file (repeatable)")
	f.StringArrayVar(&scps, "scp", nil, "service control policy files of one organization level, comma-separated (repeatable, one level each)")
	f.StringArrayVar(&actions, "action", nil, "action to simulate, such as s3:GetObject (repeatable or comma-separated)")
	f.StringArrayVar(&resources, "resource", nil, "resource ARN (repeatable; default *)")
	f.StringVar(&caller, "caller", "", "ARN of the IAM user making the calls (CallerArn)")
	f.StringVar(&owner, "resource-owner", "", "account owning resources whose ARN names none (ResourceOwner)")
	f.StringArrayVar(&context, "context", nil, "context key KEY=TYPE:VALUE (repeatable)")
	f.StringVar(&output, "output", "text", "text or json")
	return cmd
}

// errDenied reports that a simulated request was denied; the process exits with status 1.
var errDenied = errors.New("denied")

// splitAll splits comma-separated flag values.
func splitAll(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
