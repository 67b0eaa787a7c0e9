package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRootCredentialsFileIsOwnerOnlyEvenIfStale: a root-credentials file left world-readable (by an older run or
// an operator's copy) is replaced by an owner-only one, not rewritten with its old mode.
func TestRootCredentialsFileIsOwnerOnlyEvenIfStale(t *testing.T) {
	path := filepath.Join(t.TempDir(), "root-credentials")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeOwnerOnly(path, []byte("AWS_SECRET_ACCESS_KEY=secret\n")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(path); string(b) != "AWS_SECRET_ACCESS_KEY=secret\n" {
		t.Errorf("content = %q", b)
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := parsePrefixes(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,")
	if err != nil {
		t.Fatal(err)
	}
	want := "[10.0.0.0/8 192.0.2.7/32 2001:db8::/32]"
	if fmt.Sprint(got) != want {
		t.Errorf("parsePrefixes = %v, want %v", got, want)
	}
	if _, err := parsePrefixes("10.0.0.0/8,proxy.internal"); err == nil || !strings.Contains(err.Error(), `"proxy.internal"`) {
		t.Errorf("a host name: err = %v, want one that names it", err)
	}
}
