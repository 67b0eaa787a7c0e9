package sts

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/postgres"
	"github.com/persona-iam/persona/internal/store/postgres/pgtest"
	"github.com/persona-iam/persona/internal/store/sqlite"
	"github.com/persona-iam/persona/internal/token"
)

var backends = map[string]func(t *testing.T) store.Store{
	"sqlite": func(t *testing.T) store.Store {
		st, err := sqlite.Open(context.Background(), t.TempDir()+"/p.db", sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	},
	"postgres": func(t *testing.T) store.Store {
		st, err := postgres.Open(context.Background(), pgtest.FreshSchema(t), postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	},
}

func testBox(t testing.TB, b byte) *secrets.Box {
	box, err := secrets.NewBox(bytes.Repeat([]byte{b}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func testSession(now time.Time) RoleSession {
	return RoleSession{
		RoleARN: "arn:aws:iam::111122223333:role/app/Deployer", RoleID: "AROAEXAMPLEEXAMPLE12",
		SessionName: "s1", Duration: time.Hour, Tags: []token.Tag{{Key: "team", Value: "blue"}},
	}
}

// TestKeyringSharedByNodes: two nodes on one store load one ring; a rotation made through the store reaches both,
// and tokens sealed before it still open until they expire.
func TestKeyringSharedByNodes(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			box := testBox(t, 7)
			n1, err := OpenKeyring(ctx, st, box)
			if err != nil {
				t.Fatal(err)
			}
			n2, err := OpenKeyring(ctx, st, box)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			creds, user, err := MintRoleSession(n1.Ring(), testSession(now), now)
			if err != nil {
				t.Fatal(err)
			}
			if user.Arn != "arn:aws:sts::111122223333:assumed-role/Deployer/s1" || user.AssumedRoleId != "AROAEXAMPLEEXAMPLE12:s1" {
				t.Errorf("AssumedRoleUser = %+v", user)
			}
			sess, secret, err := n2.Ring().Credentials(creds.SessionToken, creds.AccessKeyId, now)
			if err != nil {
				t.Fatalf("node 2 cannot open node 1's token: %v", err)
			}
			if string(secret) != creds.SecretAccessKey || sess.PrincipalARN != "arn:aws:iam::111122223333:role/app/Deployer" || sess.Tags[0].Value != "blue" {
				t.Errorf("opened session %+v, secret match %v", sess, string(secret) == creds.SecretAccessKey)
			}
			if !creds.Expiration.Equal(now.UTC().Truncate(time.Second).Add(time.Hour)) {
				t.Errorf("Expiration = %s", creds.Expiration)
			}

			_, before := n1.Ring().Keys()
			res, err := RotateKeyring(ctx, st, box)
			if err != nil {
				t.Fatal(err)
			}
			if res.Active == before || len(res.Keys) != 2 {
				t.Fatalf("rotate: active %d (was %d), keys %v", res.Active, before, res.Keys)
			}
			for i, n := range []*Keyring{n1, n2} {
				if err := n.Refresh(ctx); err != nil {
					t.Fatal(err)
				}
				if _, active := n.Ring().Keys(); active != res.Active {
					t.Errorf("node %d active key %d after refresh, want %d", i+1, active, res.Active)
				}
				if _, err := n.Ring().Open(creds.SessionToken, now); err != nil {
					t.Errorf("node %d: token sealed before the rotation no longer opens: %v", i+1, err)
				}
			}
			if _, err := n1.Ring().Open(creds.SessionToken, now.Add(2*time.Hour)); !errors.Is(err, token.ErrExpired) {
				t.Errorf("open after expiry: %v, want ErrExpired", err)
			}
			// A third node starting now gets the rotated ring, not a new one.
			n3, err := OpenKeyring(ctx, st, box)
			if err != nil {
				t.Fatal(err)
			}
			if _, active := n3.Ring().Keys(); active != res.Active {
				t.Errorf("new node active key %d, want %d", active, res.Active)
			}
		})
	}
}

// TestKeyringWrongMasterKey: a ring sealed under another master key is an error, never silently replaced.
func TestKeyringWrongMasterKey(t *testing.T) {
	ctx := context.Background()
	st := backends["sqlite"](t)
	k, err := OpenKeyring(ctx, st, testBox(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenKeyring(ctx, st, testBox(t, 2))
	if err == nil || !strings.Contains(err.Error(), "master key") {
		t.Fatalf("OpenKeyring with another master key: %v, want an error", err)
	}
	if _, err := RotateKeyring(ctx, st, testBox(t, 2)); err == nil {
		t.Fatal("RotateKeyring with another master key succeeded")
	}
	rec, err := st.Get(ctx, store.KindServerState, "", KeyringKey)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := k.Ring().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if material := plain[len(plain)-token.KeySize:]; bytes.Contains(rec.Data, material) {
		t.Errorf("the stored ring holds the key material in plain text")
	}
}

func TestMintRoleSessionRejects(t *testing.T) {
	r, err := token.NewRing()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		name string
		edit func(*RoleSession)
	}{
		{"user ARN", func(s *RoleSession) { s.RoleARN = "arn:aws:iam::111122223333:user/bob" }},
		{"not an ARN", func(s *RoleSession) { s.RoleARN = "Deployer" }},
		{"no role id", func(s *RoleSession) { s.RoleID = "" }},
		{"no duration", func(s *RoleSession) { s.Duration = 0 }},
		{"federation kind", func(s *RoleSession) { s.Kind = token.KindFederation }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSession(now)
			tc.edit(&s)
			if _, _, err := MintRoleSession(r, s, now); !errors.Is(err, ErrBadSession) {
				t.Errorf("err = %v, want ErrBadSession", err)
			}
		})
	}
}
