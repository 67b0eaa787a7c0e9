package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The user documentation shows `persona` command lines and the configuration table; these tests keep them true to
// the commands as built, so a renamed flag or subcommand fails here instead of in a newcomer's shell.

// docRoot is the command tree main builds.
func docRoot() *cobra.Command {
	root := &cobra.Command{Use: "persona"}
	root.AddCommand(serveCommand(), policyCommand(), keysCommand(), auditCommand(), agentCommand(), credentialProcessCommand(), instanceCommand())
	return root
}

// docFiles are the user-facing documents: the README and docs/*.md.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../../README.md"}, files...)
}

var (
	// personaLine is a `persona` command line up to the end of the shell command.
	personaLine = regexp.MustCompile(`(?:^|[\s$(])persona ([^|;&#)]*)`)
	commandWord = regexp.MustCompile(`^[a-z][a-z-]*$`)
	flagToken   = regexp.MustCompile(`^--([a-z][a-z0-9-]*)`)
)

// TestDocsPersonaCommandsExist finds every `persona SUBCOMMAND … --flag` in the documentation's code and checks that
// the subcommand exists and takes each flag.
func TestDocsPersonaCommandsExist(t *testing.T) {
	root := docRoot()
	seen := 0
	for _, file := range docFiles(t) {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		inCode, n := false, 0
		for sc.Scan() {
			n++
			line := sc.Text()
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				inCode = !inCode
				continue
			}
			var spans []string
			if inCode {
				spans = []string{line}
			} else {
				// Inline code in prose: `persona …`.
				parts := strings.Split(line, "`")
				for i := 1; i < len(parts); i += 2 {
					spans = append(spans, parts[i])
				}
			}
			for _, span := range spans {
				for _, m := range personaLine.FindAllStringSubmatch(span, -1) {
					fields := strings.Fields(m[1])
					var words []string
					for _, f := range fields {
						if !commandWord.MatchString(f) {
							break
						}
						words = append(words, f)
					}
					cmd, rest, err := root.Find(words)
					if err != nil || cmd == root {
						// Prose such as "persona is …": only lines naming a command count.
						continue
					}
					if len(rest) > 0 && len(cmd.Commands()) > 0 {
						t.Errorf("%s:%d: `persona %s`: %q is no subcommand of %q", file, n, m[1], rest[0], cmd.CommandPath())
						continue
					}
					seen++
					for _, f := range fields {
						if fm := flagToken.FindStringSubmatch(f); fm != nil && cmd.Flags().Lookup(fm[1]) == nil {
							t.Errorf("%s:%d: `%s` has no flag --%s", file, n, cmd.CommandPath(), fm[1])
						}
					}
				}
			}
		}
		f.Close()
	}
	if seen < 10 {
		t.Errorf("found only %d persona command lines in the documentation; is the pattern broken?", seen)
	}
}

// TestReadmeConfigurationTable checks the README's table against `persona serve`'s flags: every flag is listed
// with the environment variable its help names, and every flag listed exists.
func TestReadmeConfigurationTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "## Configuration")
	if !ok {
		t.Fatal("README has no Configuration section")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	rows := map[string]string{} // flag → its row
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| `--") {
			continue
		}
		cells := strings.Split(line, "|")
		for _, fm := range regexp.MustCompile("`--([a-z-]+)`").FindAllStringSubmatch(cells[1], -1) {
			rows[fm[1]] = line
		}
	}
	serve := serveCommand()
	envVar := regexp.MustCompile(`PERSONA_[A-Z_]+`)
	serve.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" {
			return
		}
		row, ok := rows[f.Name]
		if !ok {
			t.Errorf("README's configuration table lacks --%s", f.Name)
			return
		}
		for _, v := range envVar.FindAllString(f.Usage, -1) {
			if !strings.Contains(row, v) {
				t.Errorf("README's row for --%s lacks %s (named in its help)", f.Name, v)
			}
		}
		delete(rows, f.Name)
	})
	for name := range rows {
		t.Errorf("README's configuration table lists --%s, which persona serve does not take", name)
	}
}
