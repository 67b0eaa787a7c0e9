package loadtest

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"time"
)

// WriteMarkdown writes the report as the Markdown table docs/performance.md keeps.
func (r *Report) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "Run at %s on %s; Persona's store: %s; %d connections; Persona and the ceiling measured alternately in %d rounds of %s "+
		"(each after %s of warm-up), Moto once for %s. Rates and latencies are the median round's; the ratio to the "+
		"ceiling is the median of the rounds' ratios. CPU/req is the CPU time of the load generator and the server "+
		"together (Persona and the ceiling run in the harness's process, moto_server in its own) per answer.\n\n",
		r.Start.Format(time.RFC3339), r.Machine, r.Store, r.Options.Conns, r.Rounds, r.Options.Duration, r.Options.Warmup, r.Options.Duration)
	fmt.Fprintln(w, "| scenario | Persona req/s | p50 | p99 | CPU/req | ceiling req/s | p50 | p99 | CPU/req | Persona / ceiling (goal) | same, by CPU/req | Moto req/s | p50 | p99 | CPU/req | Persona / Moto (goal) | same, by CPU/req |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, row := range r.Rows {
		s := row.Scenario
		if row.Skipped != "" {
			fmt.Fprintf(w, "| %s | not run: %s | | | | | | | | | | | | | | | |\n", s.Name, row.Skipped)
			continue
		}
		p, c := Median(row.Persona), Median(row.Ceiling)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.Name,
			rate(p), ms(p.P50), ms(p.P99), us(p.CPUPerRequest()),
			rate(c), ms(c.P50), ms(c.P99), us(c.CPUPerRequest()),
			ratio(MedianRatio(row.Persona, row.Ceiling), s.CeilingGoal, true),
			ratio(MedianCPURatio(row.Ceiling, row.Persona), s.CeilingGoal, true),
			motoRate(row.Moto), motoLatency(row.Moto, true), motoLatency(row.Moto, false), motoCPU(row.Moto),
			motoRatio(row, p), motoCPURatio(row, p))
	}
	var errs []string
	for _, row := range r.Rows {
		add := func(name string, s Summary) {
			if s.Errors > 0 {
				errs = append(errs, fmt.Sprintf("- %s, %s: %d errors, first: %s", row.Scenario.Name, name, s.Errors, s.FirstError))
			}
		}
		for _, s := range row.Persona {
			add("Persona", s)
		}
		for _, s := range row.Ceiling {
			add("ceiling", s)
		}
		if row.Moto != nil {
			add("Moto", *row.Moto)
		}
	}
	if len(errs) > 0 {
		fmt.Fprintln(w, "\nUnexpected answers (not counted in the rates):")
		for _, e := range errs {
			fmt.Fprintln(w, e)
		}
	}
}

func rate(s Summary) string {
	if s.Errors > 0 {
		return fmt.Sprintf("%.0f (%d errors)", s.RPS(), s.Errors)
	}
	return fmt.Sprintf("%.0f", s.RPS())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func us(d time.Duration) string {
	if d == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

func ratio(x, goal float64, percent bool) string {
	if x == 0 {
		return "unknown"
	}
	var v string
	if percent {
		v = fmt.Sprintf("%.0f%%", 100*x)
	} else {
		v = fmt.Sprintf("%.0f×", x)
	}
	if goal == 0 {
		return v
	}
	met := "met"
	if x < goal {
		met = "NOT met"
	}
	if percent {
		return fmt.Sprintf("%s (≥ %.0f%%: %s)", v, 100*goal, met)
	}
	return fmt.Sprintf("%s (≥ %.0f×: %s)", v, goal, met)
}

func motoRate(s *Summary) string {
	if s == nil {
		return "–"
	}
	return rate(*s)
}

func motoLatency(s *Summary, p50 bool) string {
	switch {
	case s == nil:
		return "–"
	case p50:
		return ms(s.P50)
	default:
		return ms(s.P99)
	}
}

func motoRatio(row Row, persona Summary) string {
	if row.Moto == nil || row.Moto.RPS() == 0 {
		return "–"
	}
	return ratio(persona.RPS()/row.Moto.RPS(), row.Scenario.MotoGoal, false)
}

func motoCPU(s *Summary) string {
	if s == nil {
		return "–"
	}
	return us(s.CPUPerRequest())
}

func motoCPURatio(row Row, persona Summary) string {
	if row.Moto == nil || persona.CPUPerRequest() == 0 {
		return "–"
	}
	return ratio(float64(row.Moto.CPUPerRequest())/float64(persona.CPUPerRequest()), row.Scenario.MotoGoal, false)
}

func hostPort(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" {
		return "", fmt.Errorf("target %s: only http:// targets can be replayed", raw)
	}
	host := u.Host
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "80")
	}
	return host, nil
}
