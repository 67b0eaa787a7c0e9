// Command persona-load measures a Persona server under concurrent load beside the bare net/http ceiling of the
// machine and moto_server; see docs/performance.md and internal/loadtest.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"

	"github.com/persona-iam/persona/internal/loadtest"
)

func main() {
	var cfg loadtest.Config
	var scenarios string
	var noMoto bool
	flag.IntVar(&cfg.Conns, "c", 32, "concurrent connections")
	flag.DurationVar(&cfg.Duration, "d", loadtest.DefaultDuration, "measured duration per scenario and target")
	flag.DurationVar(&cfg.Warmup, "warmup", loadtest.DefaultWarmup, "unmeasured warm-up before each measurement")
	flag.StringVar(&scenarios, "scenarios", "", "comma-separated scenario names (default all)")
	flag.IntVar(&cfg.Roles, "roles", 100, "roles to create")
	flag.IntVar(&cfg.Rounds, "rounds", 3, "rounds of Persona and ceiling measurements, alternately, per scenario")
	flag.StringVar(&cfg.Target, "target", "", "URL of a running Persona (default: start one in this process); its root key from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	flag.IntVar(&cfg.TargetPID, "target-pid", 0, "process id of the -target server, to count its CPU time")
	flag.BoolVar(&noMoto, "no-moto", false, "leave moto_server out")
	flag.StringVar(&cfg.Postgres, "postgres", "", "keep the in-process Persona's data in a fresh schema of this PostgreSQL database (postgres://…) instead of SQLite")
	flag.StringVar(&cfg.CPUProfileDir, "cpuprofile-dir", "", "write a CPU profile of each scenario's Persona replay into this directory")
	blockProfile := flag.String("blockprofile", "", "write a profile of where goroutines waited (whole run) to this file")
	flag.Parse()
	if *blockProfile != "" {
		runtime.SetBlockProfileRate(10000) // a sample per 10 µs waited
		runtime.SetMutexProfileFraction(10)
		defer writeProfile("block", *blockProfile)
		defer writeProfile("mutex", *blockProfile+".mutex")
	}

	if scenarios != "" {
		cfg.Scenarios = strings.Split(scenarios, ",")
	}
	if cfg.Target != "" {
		cfg.AccessKeyID, cfg.SecretAccessKey = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	}
	if !noMoto {
		bin, err := exec.LookPath("moto_server")
		if err != nil {
			fmt.Fprintln(os.Stderr, "persona-load: moto_server not found (install moto[server], or pass -no-moto)")
			os.Exit(2)
		}
		cfg.Moto = bin
	}
	cfg.Log = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := loadtest.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "persona-load:", err)
		os.Exit(1)
	}
	rep.WriteMarkdown(os.Stdout)
}

func writeProfile(name, path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "persona-load:", err)
		return
	}
	defer f.Close()
	pprof.Lookup(name).WriteTo(f, 0)
}
