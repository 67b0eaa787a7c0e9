package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/store/sqlite"
	"github.com/persona-iam/persona/internal/sts"
)

// TestKeysRotate: `persona keys rotate` rotates the ring in the store; the older key stays to verify its tokens.
func TestKeysRotate(t *testing.T) {
	t.Setenv("PERSONA_MASTER_KEY", "")
	dir := t.TempDir()
	c := serveConfig{dataDir: dir}
	ctx := context.Background()

	// Without a master key nothing is created.
	var out bytes.Buffer
	if err := keysRotate(ctx, c, &out); err == nil {
		t.Fatal("rotate without a master key succeeded")
	}
	key, err := secrets.LoadMasterKey("", "", dir, true)
	if err != nil {
		t.Fatal(err)
	}
	box, err := secrets.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "persona.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k, err := sts.OpenKeyring(ctx, st, box) // what a server does on its first start
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, first := k.Ring().Keys()

	if err := keysRotate(ctx, c, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "now seals new session tokens") || !strings.Contains(out.String(), "verifies the tokens it sealed") {
		t.Errorf("output:\n%s", out.String())
	}
	st, err = sqlite.Open(ctx, filepath.Join(dir, "persona.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, err = sts.OpenKeyring(ctx, st, box)
	if err != nil {
		t.Fatal(err)
	}
	keys, active := k.Ring().Keys()
	if active == first || len(keys) != 2 {
		t.Errorf("after rotate: active %d (was %d), %d keys", active, first, len(keys))
	}
}
