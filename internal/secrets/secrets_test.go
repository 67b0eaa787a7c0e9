package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "secret", s, "struct", struct{ S Secret }{s})
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), buf.String()} {
		if strings.Contains(out, "EXAMPLEKEY") {
			t.Errorf("secret printed: %s", out)
		}
	}
	if !s.Equal("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") || s.Equal("other") {
		t.Error("Equal is wrong")
	}
}

func TestBoxRoundTripAndTamper(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	box, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed := box.Seal([]byte("secret"), []byte("AKIAEXAMPLE"))
	got, err := box.Open(sealed, []byte("AKIAEXAMPLE"))
	if err != nil || string(got) != "secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := box.Open(sealed, []byte("AKIAOTHER")); !errors.Is(err, ErrOpen) {
		t.Errorf("Open with other ad: err = %v, want ErrOpen", err)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 1
		if _, err := box.Open(bad, []byte("AKIAEXAMPLE")); !errors.Is(err, ErrOpen) {
			t.Fatalf("byte %d flipped: err = %v, want ErrOpen", i, err)
		}
	}
	other, _ := NewBox(bytes.Repeat([]byte{8}, KeySize))
	if _, err := other.Open(sealed, []byte("AKIAEXAMPLE")); !errors.Is(err, ErrOpen) {
		t.Errorf("Open with other key: err = %v, want ErrOpen", err)
	}
}

func TestLoadMasterKeyCreatesOwnerOnlyFileOnce(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadMasterKey("", "", dir, true)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadMasterKey("", "", dir, true)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load = %x, %v; want the same key", k2, err)
	}
	if _, err := LoadMasterKey("", "", t.TempDir(), false); err == nil {
		t.Error("missing key with create=false did not fail")
	}
	if _, err := LoadMasterKey("bm90IGEga2V5", "", dir, false); err == nil {
		t.Error("short key from env accepted")
	}
}
