package bench

import (
	"fmt"
	"io"
	"testing"
	"text/tabwriter"
)

// Result is one engine's measurement on one workload.
type Result struct {
	NsPerOp     float64
	AllocsPerOp int64
}

// Run benchmarks d with testing.Benchmark.
func Run(d Decider) Result {
	r := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !d() {
				b.Fatal("wrong decision")
			}
		}
	})
	if r.N == 0 {
		return Result{}
	}
	return Result{NsPerOp: float64(r.T.Nanoseconds()) / float64(r.N), AllocsPerOp: r.AllocsPerOp()}
}

// Goal is the speed-up over the faster other engine that Persona aims for
// on every workload (issue 2).
const Goal = 3.0

// PrintTable writes one row per workload: each engine's ns/op and allocs/op,
// and Persona's speed-up over the faster of MinIO and Cedar.
func PrintTable(w io.Writer, workloads []string, results map[string]map[string]Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tpersona ns/op\tallocs\tminio ns/op\tallocs\tcedar ns/op\tallocs\tspeed-up vs faster\tgoal 3x\t")
	for _, name := range workloads {
		r := results[name]
		p, m, c := r[Persona], r[MinIO], r[Cedar]
		faster := m.NsPerOp
		if faster == 0 || (c.NsPerOp > 0 && c.NsPerOp < faster) {
			faster = c.NsPerOp
		}
		ratio, verdict := 0.0, "n/a"
		if p.NsPerOp > 0 && faster > 0 {
			ratio = faster / p.NsPerOp
			verdict = "met"
			if ratio < Goal {
				verdict = "MISSED"
			}
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%d\t%.1f\t%d\t%.1f\t%d\t%.1fx\t%s\t\n",
			name, p.NsPerOp, p.AllocsPerOp, m.NsPerOp, m.AllocsPerOp, c.NsPerOp, c.AllocsPerOp, ratio, verdict)
	}
	tw.Flush()
}
