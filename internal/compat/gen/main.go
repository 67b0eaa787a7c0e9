// Command gen writes docs/compatibility.md (go generate ./internal/compat). With -refresh it first re-extracts
// the CloudTrail operation list from botocore's service model into internal/compat/models.json (IAM, STS and
// Organizations come from the models the wire codecs are generated from).
package main

import (
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/persona-iam/persona/internal/compat"
)

func main() {
	out := flag.String("out", "../../docs/compatibility.md", "where to write the document")
	refresh := flag.Bool("refresh", false, "re-extract models.json from botocore first")
	botocore := flag.String("botocore", "", "botocore's package directory (default: asked of python3)")
	flag.Parse()
	if *refresh {
		if err := refreshModels(*botocore, "models.json"); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		// The document embeds models.json: render it from a fresh build.
		cmd := exec.Command("go", "run", "./gen", "-out", *out)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			os.Exit(1)
		}
		return
	}
	doc, err := compat.Render()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, doc, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// refreshModels writes the operation lists of the services whose models the codec does not carry.
func refreshModels(dir, path string) error {
	if dir == "" {
		b, err := exec.Command("python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))").Output()
		if err != nil {
			return fmt.Errorf("finding botocore (pass -botocore DIR): %w", err)
		}
		dir = strings.TrimSpace(string(b))
	}
	out := map[string]compat.Model{}
	for _, svc := range []string{"cloudtrail"} {
		versions, err := filepath.Glob(filepath.Join(dir, "data", svc, "*", "service-2.json*"))
		if err != nil || len(versions) == 0 {
			return fmt.Errorf("no botocore model for %s under %s", svc, dir)
		}
		sort.Strings(versions)
		m, err := readModel(versions[len(versions)-1])
		if err != nil {
			return err
		}
		out[svc] = m
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func readModel(path string) (compat.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return compat.Model{}, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return compat.Model{}, err
		}
		r = gz
	}
	var raw struct {
		Metadata struct {
			APIVersion      string `json:"apiVersion"`
			Protocol        string `json:"protocol"`
			ServiceFullName string `json:"serviceFullName"`
			ServiceAbbrev   string `json:"serviceAbbreviation"`
		} `json:"metadata"`
		Operations map[string]json.RawMessage `json:"operations"`
	}
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return compat.Model{}, fmt.Errorf("%s: %w", path, err)
	}
	m := compat.Model{Title: raw.Metadata.ServiceFullName, Version: raw.Metadata.APIVersion, Protocol: raw.Metadata.Protocol}
	for op := range raw.Operations {
		m.Operations = append(m.Operations, op)
	}
	sort.Strings(m.Operations)
	return m, nil
}
