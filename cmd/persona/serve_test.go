package main

import (
	"os"
	"path/filepath"
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
