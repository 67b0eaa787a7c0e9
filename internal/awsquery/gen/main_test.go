package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTranslatePattern(t *testing.T) {
	tests := []struct {
		name, java, want string
		match, nomatch   string
	}{
		{name: "class", java: `[\w+=,.@-]+`, want: `^(?:[\w+=,.@-]+)$`, match: "a.b@c", nomatch: "bad name!"},
		{name: "java unicode escapes", java: `[\u0009\u000A\u000D\u0020-\u00FF]+`, want: `^(?:[\x{0009}\x{000A}\x{000D}\x{0020}-\x{00FF}]+)$`, match: "{\"a\": 1}\té", nomatch: "€"},
		{name: "alternation is anchored as a whole", java: `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`, want: `^(?:(\x{002F})|(\x{002F}[\x{0021}-\x{007E}]+\x{002F}))$`, match: "/a/b/", nomatch: "/a"},
		{name: "supplementary planes", java: `[\u0020-\u007E\u10000-\u10FFFF]+`, want: `^(?:[\x{0020}-\x{007E}\x{10000}-\x{10FFFF}]+)$`, match: "a😀", nomatch: "\u0100"},
		{name: "escaped punctuation kept", java: `[\w+=,.@\:-]*`, want: `^(?:[\w+=,.@\:-]*)$`, match: "a:b", nomatch: "a/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := translatePattern(tt.java)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("translation mismatch (-want +got):\n%s", diff)
			}
			re := regexp.MustCompile(got)
			if !re.MatchString(tt.match) || re.MatchString(tt.nomatch) {
				t.Errorf("%s: match(%q)=%v match(%q)=%v", got, tt.match, re.MatchString(tt.match), tt.nomatch, re.MatchString(tt.nomatch))
			}
		})
	}
}

func TestSentenceAndNames(t *testing.T) {
	tests := []struct{ name, got, want string }{
		{"html stripped, first sentence", sentence("<p>Contains information about an IAM role. This structure is returned.</p>"), "Contains information about an IAM role."},
		{"entities", sentence("<p>Use <code>a&amp;b</code> here</p>"), "Use a&b here"},
		{"enum constant from upper snake", enumConst("JobStatusType", "IN_PROGRESS"), "JobStatusTypeInProgress"},
		{"enum constant from mime type", enumConst("ReportFormatType", "text/csv"), "ReportFormatTypeTextCsv"},
		{"error constructor", errorFunc("ExpiredTokenException"), "ExpiredToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGeneratedUpToDate regenerates every committed package from its model and fails when the committed code
// differs: a change to the generator or a model must come with `go generate`.
func TestGeneratedUpToDate(t *testing.T) {
	tests := []struct{ model, pkg, dir string }{
		{"../models/iam-2010-05-08.json.gz", "iamapi", "../iamapi"},
		{"../models/sts-2011-06-15.json.gz", "stsapi", "../stsapi"},
		{"../../awsjson/models/organizations-2016-11-28.json.gz", "orgsapi", "../../awsjson/orgsapi"},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			out := t.TempDir()
			if err := generate(tt.model, tt.pkg, out); err != nil {
				t.Fatal(err)
			}
			files, err := filepath.Glob(filepath.Join(out, "*.go"))
			if err != nil || len(files) == 0 {
				t.Fatalf("nothing generated: %v", err)
			}
			for _, f := range files {
				got, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				want, err := os.ReadFile(filepath.Join(tt.dir, filepath.Base(f)))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s/%s is stale: run go generate in its parent package", tt.pkg, filepath.Base(f))
				}
			}
		})
	}
}
