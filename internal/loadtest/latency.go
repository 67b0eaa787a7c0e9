package loadtest

import (
	"math"
	"slices"
	"time"
)

// Summary is what one replay measured.
type Summary struct {
	// Requests is the number of expected (200) responses received inside the measured window (after warm-up).
	Requests int
	// Errors counts the measured responses whose status was not the expected one, plus failed round trips;
	// they are not in Requests nor in the latencies.
	Errors int
	// Elapsed is the measured window.
	Elapsed time.Duration
	// P50, P99 and Max are latencies of the measured responses.
	P50, P99, Max time.Duration
	// FirstError describes the first unexpected answer, for the report.
	FirstError string
	// CPU is the CPU time this whole process (the load generator and any in-process server) used during the
	// measured window; it is steadier than the rate when other work shares the machine.
	CPU time.Duration
}

// CPUPerRequest is CPU divided among the expected responses; 0 when not measured.
func (s Summary) CPUPerRequest() time.Duration {
	if s.Requests == 0 {
		return 0
	}
	return s.CPU / time.Duration(s.Requests)
}

// Median returns the round with the median rate (the lower middle one for an even count).
func Median(rounds []Summary) Summary {
	if len(rounds) == 0 {
		return Summary{}
	}
	sorted := slices.Clone(rounds)
	slices.SortFunc(sorted, func(a, b Summary) int { return cmpFloat(a.RPS(), b.RPS()) })
	return sorted[(len(sorted)-1)/2]
}

// MedianRatio is the median over paired rounds of a[i].RPS()/b[i].RPS(): pairing rounds measured back to back
// cancels most of the drift in what else the machine is doing.
func MedianRatio(a, b []Summary) float64 {
	var r []float64
	for i := range min(len(a), len(b)) {
		if b[i].RPS() > 0 {
			r = append(r, a[i].RPS()/b[i].RPS())
		}
	}
	if len(r) == 0 {
		return 0
	}
	slices.Sort(r)
	return r[(len(r)-1)/2]
}

// MedianCPURatio is the median over paired rounds of a[i]'s CPU per request over b[i]'s: with a the ceiling and b
// Persona, the share of the ceiling's rate Persona would reach if the machine were theirs alone (the load
// generator's CPU is in both).
func MedianCPURatio(a, b []Summary) float64 {
	var r []float64
	for i := range min(len(a), len(b)) {
		if b[i].CPUPerRequest() > 0 {
			r = append(r, float64(a[i].CPUPerRequest())/float64(b[i].CPUPerRequest()))
		}
	}
	if len(r) == 0 {
		return 0
	}
	slices.Sort(r)
	return r[(len(r)-1)/2]
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// RPS is the expected responses per second in the measured window.
func (s Summary) RPS() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Elapsed.Seconds()
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the nearest-rank method: the smallest sample
// such that at least p% of the samples are less than or equal to it. It returns 0 for no samples.
// https://en.wikipedia.org/wiki/Percentile#The_nearest-rank_method
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

// summarize merges the workers' samples and computes the percentiles.
func summarize(samples [][]time.Duration, errors int, elapsed time.Duration, firstError string) Summary {
	n := 0
	for _, s := range samples {
		n += len(s)
	}
	all := make([]time.Duration, 0, n)
	for _, s := range samples {
		all = append(all, s...)
	}
	slices.Sort(all)
	s := Summary{Requests: n, Errors: errors, Elapsed: elapsed, FirstError: firstError}
	if n > 0 {
		s.P50 = Percentile(all, 50)
		s.P99 = Percentile(all, 99)
		s.Max = all[n-1]
	}
	return s
}
