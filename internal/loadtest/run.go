package loadtest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Config is one run of the harness.
type Config struct {
	Options
	// Scenarios are the names of the scenarios to run; every scenario when empty.
	Scenarios []string
	// Roles is the number of roles Setup makes (GetRole cycles through them, ListRoles pages them); 100 when 0.
	Roles int
	// Target is the URL of a running Persona to measure, with its root key in AccessKeyID and SecretAccessKey;
	// empty to start one in this process with a fresh store in Dir.
	Target                       string
	AccessKeyID, SecretAccessKey string
	// TargetPID is the process id of the Target server, whose CPU time is then added to Persona's CPU per request;
	// without it, an external Persona's CPU is unknown and reported as such.
	TargetPID int
	Dir       string
	// Postgres, when set, is the DSN of a PostgreSQL database the in-process Persona keeps its data in (a fresh
	// schema, dropped at the end) instead of SQLite in Dir.
	Postgres string
	// Moto is the path of moto_server to measure side by side; empty to leave Moto out.
	Moto string
	// Rounds is how many times each scenario is measured against Persona and the ceiling, alternately; 3 when 0.
	Rounds int
	// CPUProfileDir, when set, receives a CPU profile of each scenario's rounds (<scenario>.pprof; the ceiling's
	// share shows under loadtest.(*Ceiling)).
	CPUProfileDir string
	// Log receives progress lines; nothing when nil.
	Log io.Writer
}

// Row is one scenario's figures.
type Row struct {
	Scenario Scenario
	// Persona and Ceiling hold one summary per round, measured alternately.
	Persona, Ceiling []Summary
	// Moto is the summary of one replay against moto_server; nil when not run.
	Moto *Summary
	// ResponseBytes is the size of Persona's answer, which the ceiling's answers match.
	ResponseBytes int
	// Skipped says why the scenario did not run; empty when it did.
	Skipped string
}

// Report is the outcome of a run.
type Report struct {
	Start   time.Time
	Options Options
	Rounds  int
	Machine string
	// Store names where Persona kept its data.
	Store string
	Rows  []Row
}

// Run sets up the servers, replays every selected scenario against Persona, the ceiling and (where the scenario
// says) Moto in turn, and returns the figures.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.Options = cfg.Options.withDefaults()
	if cfg.Rounds <= 0 {
		cfg.Rounds = 3
	}
	if cfg.Roles == 0 {
		cfg.Roles = 100
	}
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	var selected []Scenario
	for _, s := range Scenarios {
		if len(cfg.Scenarios) == 0 || slices.Contains(cfg.Scenarios, s.Name) {
			selected = append(selected, s)
		}
	}
	if len(selected) == 0 {
		return nil, fmt.Errorf("no scenario named %v; the scenarios are %s", cfg.Scenarios, scenarioNames())
	}

	persona := &Target{Name: "persona", URL: cfg.Target,
		Root: aws.Credentials{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey}}
	if cfg.Target == "" {
		dir := cfg.Dir
		if dir == "" {
			d, err := os.MkdirTemp("", "persona-load-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(d)
			dir = d
		}
		p, err := StartPersona(ctx, dir, cfg.Postgres)
		if err != nil {
			return nil, fmt.Errorf("start Persona: %w", err)
		}
		defer p.Close()
		persona.URL = p.URL
		persona.Root = aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.Secret}
	}
	addr, err := hostPort(persona.URL)
	if err != nil {
		return nil, err
	}
	persona.Addr = addr
	logf("setting up Persona at %s (%d roles)", persona.URL, cfg.Roles)
	if err := Setup(ctx, persona, cfg.Roles); err != nil {
		return nil, err
	}
	if persona.TempErr != nil {
		logf("Persona's AssumeRole failed (%v): the scenarios with temporary credentials are skipped", persona.TempErr)
	}

	ceiling := NewCeiling(0)
	ceiling.AddKey(persona.Root.AccessKeyID, persona.Root.SecretAccessKey)
	ceiling.AddKey(persona.User.AccessKeyID, persona.User.SecretAccessKey)
	if persona.Temp.AccessKeyID != "" {
		ceiling.AddKey(persona.Temp.AccessKeyID, persona.Temp.SecretAccessKey)
	}
	cl, err := Serve("ceiling", ceiling)
	if err != nil {
		return nil, err
	}
	defer cl.Close()

	var moto *Target
	var motoOpts Options
	if cfg.Moto != "" {
		m, err := StartMoto(ctx, cfg.Moto)
		if err != nil {
			return nil, err
		}
		defer m.Close()
		motoOpts = cfg.Options
		motoOpts.ServerCPU = m.CPU
		moto = &Target{Name: "moto", URL: m.URL, Addr: m.Addr,
			Root: aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}}
		logf("setting up moto_server at %s", m.URL)
		if err := Setup(ctx, moto, cfg.Roles); err != nil {
			return nil, err
		}
	}

	personaOpts := cfg.Options
	if cfg.Target != "" && cfg.TargetPID != 0 {
		personaOpts.ServerCPU = func() time.Duration { return processCPU(cfg.TargetPID) }
	}
	rep := &Report{Start: time.Now().UTC(), Options: cfg.Options, Rounds: cfg.Rounds, Machine: Machine(), Store: "SQLite"}
	if cfg.Postgres != "" {
		rep.Store = "PostgreSQL"
	}
	if cfg.Target != "" {
		rep.Store = "the running server's store (" + cfg.Target + ")"
	}
	for _, s := range selected {
		row := Row{Scenario: s}
		if s.Temp && persona.Temp.AccessKeyID == "" {
			row.Skipped = "Persona's AssumeRole failed at setup: " + shortError(persona.TempErr)
			rep.Rows = append(rep.Rows, row)
			logf("%s: skipped: %s", s.Name, row.Skipped)
			continue
		}
		reqs, err := s.Build(persona, time.Now())
		if err != nil {
			return nil, fmt.Errorf("%s: sign: %w", s.Name, err)
		}
		status, body, err := Probe(ctx, persona.Addr, reqs[0])
		if err != nil {
			return nil, fmt.Errorf("%s: probe Persona: %w", s.Name, err)
		}
		if status != 200 {
			row.Skipped = fmt.Sprintf("Persona answered HTTP %d: %.300s", status, body)
			rep.Rows = append(rep.Rows, row)
			logf("%s: skipped: %s", s.Name, row.Skipped)
			continue
		}
		row.ResponseBytes = len(body)
		ceiling.SetResponseSize(row.ResponseBytes)

		stop, err := startProfile(cfg.CPUProfileDir, s.Name)
		if err != nil {
			return nil, err
		}
		for round := range cfg.Rounds {
			logf("%s: round %d/%d: Persona…", s.Name, round+1, cfg.Rounds)
			ps, err := Replay(ctx, persona.Addr, reqs, personaOpts)
			if cfg.Target != "" && cfg.TargetPID == 0 {
				ps.CPU = 0 // only the load generator's: unknown
			}
			if err != nil {
				stop()
				return nil, fmt.Errorf("%s: Persona: %w", s.Name, err)
			}
			logf("%s: round %d/%d: ceiling…", s.Name, round+1, cfg.Rounds)
			cs, err := Replay(ctx, cl.Addr, reqs, cfg.Options)
			if err != nil {
				stop()
				return nil, fmt.Errorf("%s: ceiling: %w", s.Name, err)
			}
			row.Persona, row.Ceiling = append(row.Persona, ps), append(row.Ceiling, cs)
		}
		stop()

		if moto != nil && s.Moto && (!s.Temp || moto.Temp.AccessKeyID != "") {
			logf("%s: Moto…", s.Name)
			mreqs, err := s.Build(moto, time.Now())
			if err != nil {
				return nil, fmt.Errorf("%s: sign for Moto: %w", s.Name, err)
			}
			if status, body, err := Probe(ctx, moto.Addr, mreqs[0]); err != nil || status != 200 {
				return nil, fmt.Errorf("%s: Moto answered HTTP %d (%v): %.300s", s.Name, status, err, body)
			}
			ms, err := Replay(ctx, moto.Addr, mreqs, motoOpts)
			if err != nil {
				return nil, fmt.Errorf("%s: Moto: %w", s.Name, err)
			}
			row.Moto = &ms
		}
		rep.Rows = append(rep.Rows, row)
	}
	return rep, nil
}

func startProfile(dir, scenario string) (stop func(), err error) {
	if dir == "" {
		return func() {}, nil
	}
	f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(scenario, "/", "-")+".pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func scenarioNames() string {
	var names []string
	for _, s := range Scenarios {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// Machine describes where the run happened: CPU model and count, memory, Go version.
func Machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
		}
	}
	return fmt.Sprintf("%s, %d cores (GOMAXPROCS %d)%s, %s %s/%s", model, runtime.NumCPU(), runtime.GOMAXPROCS(0), mem,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// shortError is the last part of an SDK error ("api error NotImplemented: …"), which says what went wrong.
func shortError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "api error "); i >= 0 {
		return msg[i+len("api error "):]
	}
	return msg
}
