// Command compare benchmarks W1, W2 and W3 on Persona, MinIO's policy
// package and cedar-go, and prints each engine's ns/op and allocs/op with
// Persona's speed-up over the faster of the other two.
//
//	cd bench && go run ./cmd/compare
package main

import (
	"fmt"
	"os"

	"github.com/persona-iam/persona/bench"
	"github.com/persona-iam/persona/policy/policytest"
)

func main() {
	results := map[string]map[string]bench.Result{}
	var names []string
	for _, w := range policytest.All() {
		names = append(names, w.Name)
		results[w.Name] = map[string]bench.Result{}
		for _, engine := range bench.Engines {
			d, err := bench.Prepare(engine, w)
			if err != nil {
				fmt.Fprintln(os.Stderr, "compare:", err)
				os.Exit(1)
			}
			if !d() {
				fmt.Fprintf(os.Stderr, "compare: %s does not reach the expected decision on %s\n", engine, w.Name)
				os.Exit(1)
			}
			results[w.Name][engine] = bench.Run(d)
		}
	}
	bench.PrintTable(os.Stdout, names, results)
}
