package bench

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/persona-iam/persona/policy/policytest"
)

// TestDecisions checks that every engine reaches each workload's expected
// decision, so the benchmarks time the intended path.
func TestDecisions(t *testing.T) {
	for _, w := range policytest.All() {
		for _, engine := range Engines {
			t.Run(w.Name+"/"+engine, func(t *testing.T) {
				d, err := Prepare(engine, w)
				if err != nil {
					t.Fatal(err)
				}
				if !d() {
					t.Fatalf("%s did not reach %v on %s", engine, w.Want, w.Name)
				}
			})
		}
	}
}

var (
	mu       sync.Mutex
	measured = map[string]map[string]Result{} // workload → engine → result
)

// BenchmarkCompare runs every workload on every engine. Each sub-benchmark
// records its final run, and TestMain prints the ratio table afterwards.
func BenchmarkCompare(b *testing.B) {
	for _, w := range policytest.All() {
		for _, engine := range Engines {
			d, err := Prepare(engine, w)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(w.Name+"/"+engine, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if !d() {
						b.Fatal("wrong decision")
					}
				}
				mu.Lock()
				defer mu.Unlock()
				if measured[w.Name] == nil {
					measured[w.Name] = map[string]Result{}
				}
				measured[w.Name][engine] = Result{
					NsPerOp:     float64(b.Elapsed().Nanoseconds()) / float64(b.N),
					AllocsPerOp: int64(testing.AllocsPerRun(10, func() { d() })),
				}
			})
		}
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if len(measured) > 0 {
		var names []string
		for _, w := range policytest.All() {
			names = append(names, w.Name)
		}
		fmt.Println()
		fmt.Println("Persona vs the faster of MinIO and cedar-go")
		PrintTable(os.Stdout, names, measured)
	}
	os.Exit(code)
}
