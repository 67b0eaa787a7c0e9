package iam

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/hotp"

	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery"
	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/sqlite"
)

func TestHashPasswordRoundTrip(t *testing.T) {
	h := hashPassword("Correct-Horse-1")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash = %s", h)
	}
	if h2 := hashPassword("Correct-Horse-1"); h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, c := range []struct {
		pw   string
		want bool
	}{{"Correct-Horse-1", true}, {"correct-horse-1", false}, {"Correct-Horse-1 ", false}, {"", false}} {
		got, err := checkPassword(h, c.pw)
		if err != nil || got != c.want {
			t.Errorf("checkPassword(%q) = %v, %v; want %v", c.pw, got, err, c.want)
		}
	}
	// A tampered hash does not verify, and absurd parameters are refused before any work.
	for _, bad := range []string{
		strings.Replace(h, "m=19456", "m=4194304", 1),
		strings.Replace(h, "argon2id", "argon2i", 1),
		h[:strings.LastIndex(h, "$")] + "$not*base64",
		h + "\n",
		"",
	} {
		if ok, err := checkPassword(bad, "Correct-Horse-1"); ok || err == nil {
			t.Errorf("checkPassword(%q) = %v, %v; want an error", bad, ok, err)
		}
	}
	// A shortened hash still parses (a shorter key) but does not verify.
	if ok, _ := checkPassword(h[:len(h)-4], "Correct-Horse-1"); ok {
		t.Error("a truncated hash verified")
	}
}

func TestCheckPasswordPolicy(t *testing.T) {
	strict := &store.PasswordPolicy{MinimumLength: 10, RequireSymbols: true, RequireNumbers: true, RequireUppercase: true, RequireLowercase: true, ReusePrevention: 1}
	old := hashPassword("Old-Password-1")
	tests := []struct {
		name    string
		policy  *store.PasswordPolicy
		pw      string
		history []string
		want    string // "" when allowed
	}{
		{name: "default ok", pw: "Abcdefg1"},
		{name: "default three classes with symbol", pw: "abcdefg1!"},
		{name: "default too short", pw: "Abcde1", want: "Password should have a minimum length of 8"},
		{name: "default two classes", pw: "abcdefgh1", want: "Password should have at least three of the following character types: uppercase letters, lowercase letters, numbers and symbols"},
		{name: "strict ok", policy: strict, pw: "Strong-Pass-9"},
		{name: "strict short", policy: strict, pw: "Sh-1a", want: "Password should have a minimum length of 10"},
		{name: "strict upper", policy: strict, pw: "lower-case-9", want: "Password should have at least one uppercase letter"},
		{name: "strict lower", policy: strict, pw: "UPPER-CASE-9", want: "Password should have at least one lowercase letter"},
		{name: "strict number", policy: strict, pw: "No-Numbers-Here", want: "Password should have at least one number"},
		{name: "strict symbol", policy: strict, pw: "NoSymbols123", want: "Password should have at least one symbol"},
		{name: "strict apostrophe is a symbol", policy: strict, pw: "Quote'Mark99"},
		{name: "strict reuse", policy: strict, pw: "Old-Password-1", history: []string{old}, want: "Password should not be one of your last 1 passwords"},
		{name: "length counts characters, not bytes", policy: &store.PasswordPolicy{MinimumLength: 6}, pw: "ééééé", want: "Password should have a minimum length of 6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPasswordPolicy(tt.policy, tt.pw, "someone", tt.history)
			got := ""
			if err != nil {
				ae, ok := err.(*awsquery.Error)
				if !ok || ae.Code != "PasswordPolicyViolation" {
					t.Fatalf("err = %v, want PasswordPolicyViolation", err)
				}
				got = ae.Message
			}
			if got != tt.want {
				t.Errorf("violation = %q, want %q", got, tt.want)
			}
		})
	}
}

const testSeed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

func codeAt(t testing.TB, st int64) string {
	c, err := hotp.GenerateCodeCustom(testSeed, uint64(st), hotpOpts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFindConsecutive(t *testing.T) {
	now := step(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	tests := []struct {
		name         string
		c1, c2       int64 // steps the codes come from, relative to now
		window, last int64
		want         int64
		ok           bool
	}{
		{name: "previous and current", c1: -1, c2: 0, window: enableWindow, last: 0, want: now - 1, ok: true},
		{name: "drifted ahead", c1: 3, c2: 4, window: enableWindow, last: 0, want: now + 3, ok: true},
		{name: "outside the window", c1: 6, c2: 7, window: enableWindow, last: 0},
		{name: "not consecutive", c1: -1, c2: 1, window: enableWindow, last: 0},
		{name: "reversed", c1: 0, c2: -1, window: enableWindow, last: 0},
		{name: "replayed", c1: -1, c2: 0, window: enableWindow, last: now - 1},
		{name: "after the last step", c1: -1, c2: 0, window: enableWindow, last: now - 2, want: now - 1, ok: true},
		{name: "resync finds a big drift", c1: 30, c2: 31, window: resyncWindow, last: 0, want: now + 30, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := findConsecutive(testSeed, codeAt(t, now+tt.c1), codeAt(t, now+tt.c2), now, tt.window, tt.last)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("findConsecutive = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	if matchCode(testSeed, "12345", now) || matchCode(testSeed, codeAt(t, now), -1) {
		t.Error("matchCode accepted a short code or a negative step")
	}
}

func TestDeviceNameFromSerial(t *testing.T) {
	tests := []struct {
		serial, want string
		ok           bool
	}{
		{"arn:aws:iam::111122223333:mfa/phone", "phone", true},
		{"arn:aws:iam::111122223333:mfa/team/a/phone", "phone", true},
		{"arn:aws:iam::999988887777:mfa/phone", "", false},
		{"arn:aws:iam::111122223333:user/phone", "", false},
		{"arn:aws:iam::111122223333:mfa/", "", false},
		{"GAHT12345678", "", false},
		{"arn:aws:sts::111122223333:mfa/phone", "", false},
	}
	for _, tt := range tests {
		got, ok := deviceNameFromSerial("111122223333", tt.serial)
		if got != tt.want || ok != tt.ok {
			t.Errorf("deviceNameFromSerial(%q) = %q, %v; want %q, %v", tt.serial, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPageTags(t *testing.T) {
	var tags []store.Tag
	for i := 0; i < 5; i++ {
		tags = append(tags, store.Tag{Key: "k" + strconv.Itoa(i), Value: "v"})
	}
	two := int32(2)
	var keys []string
	marker := ""
	for pages := 0; ; pages++ {
		page, trunc, next, err := pageTags(tags, marker, &two)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range page {
			keys = append(keys, tg.Key)
		}
		if !*trunc {
			break
		}
		marker = next
	}
	if strings.Join(keys, ",") != "k0,k1,k2,k3,k4" {
		t.Errorf("keys = %v", keys)
	}
	for _, bad := range []string{"x", "-1", "6"} {
		if _, _, _, err := pageTags(tags, bad, nil); err == nil {
			t.Errorf("marker %q accepted", bad)
		}
	}
}

// FuzzParsePHC checks that any accepted hash string is canonical (it re-serializes to itself) and within the
// parameter bounds, and that nothing panics.
func FuzzParsePHC(f *testing.F) {
	f.Add(hashPassword("seed"))
	f.Add("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2id$v=19$m=0,t=3,p=4$c2FsdHNhbHQ$aGFzaA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			return
		}
		if h.memoryKiB == 0 || h.memoryKiB > maxArgonMemoryKiB || h.time == 0 || h.time > maxArgonTime || h.threads == 0 || h.threads > maxArgonThreads {
			t.Fatalf("parameters out of bounds accepted: %+v", h)
		}
		b64 := base64.RawStdEncoding
		again := "$argon2id$v=19$m=" + strconv.Itoa(int(h.memoryKiB)) + ",t=" + strconv.Itoa(int(h.time)) + ",p=" + strconv.Itoa(int(h.threads)) + "$" + b64.EncodeToString(h.salt) + "$" + b64.EncodeToString(h.key)
		if again != s {
			t.Fatalf("accepted a non-canonical hash %q (canonical %q)", s, again)
		}
	})
}

// FuzzAuthMarker checks that GetAccountAuthorizationDetails markers round-trip and that any marker decodes to a
// valid section or an InvalidInput error.
func FuzzAuthMarker(f *testing.F) {
	f.Add(encodeAuthMarker(2, "role-a"), 1, "x")
	f.Add("bogus", 0, "")
	f.Fuzz(func(t *testing.T, m string, sec int, inner string) {
		if s, _, err := decodeAuthMarker(m); err == nil && (s < 0 || s >= len(authDetailsSections)) {
			t.Fatalf("decoded section %d out of range", s)
		}
		if sec < 0 || sec >= len(authDetailsSections) {
			return
		}
		s, in, err := decodeAuthMarker(encodeAuthMarker(sec, inner))
		if err != nil || s != sec || in != inner {
			t.Fatalf("round trip of (%d, %q) = (%d, %q, %v)", sec, inner, s, in, err)
		}
	})
}

// FuzzDeviceNameFromSerial checks that a serial is only ever resolved to a device of the caller's account whose
// name ends the serial.
func FuzzDeviceNameFromSerial(f *testing.F) {
	f.Add("arn:aws:iam::111122223333:mfa/phone")
	f.Add("arn:aws:iam::111122223333:mfa/a/b/")
	f.Fuzz(func(t *testing.T, serial string) {
		name, ok := deviceNameFromSerial("111122223333", serial)
		if !ok {
			return
		}
		if name == "" || strings.Contains(name, "/") || !strings.HasSuffix(serial, "/"+name) || !strings.Contains(serial, ":111122223333:mfa/") {
			t.Fatalf("deviceNameFromSerial(%q) = %q", serial, name)
		}
	})
}

func BenchmarkCheckPassword(b *testing.B) {
	h := hashPassword("Correct-Horse-1")
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := checkPassword(h, "Correct-Horse-1"); !ok {
			b.Fatal("no match")
		}
	}
}

func BenchmarkVerifyWindow(b *testing.B) {
	now := step(time.Now())
	code := codeAt(b, now)
	b.ReportAllocs()
	for b.Loop() {
		found := false
		for st := now - verifyWindow; st <= now+verifyWindow; st++ {
			if matchCode(testSeed, code, st) {
				found = true
			}
		}
		if !found {
			b.Fatal("no match")
		}
	}
}

// TestVerifyMFAThrottle pins the brute-force guard: after five wrong codes even the right one is refused until
// the lockout passes, and a success clears the count.
func TestVerifyMFAThrottle(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/p.db", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secrets.NewBox(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s := New(Config{Store: st, Box: box, Authz: authz.New(st), Now: func() time.Time { return clock }})
	const account, serial = "111122223333", "arn:aws:iam::111122223333:mfa/phone"
	d := store.MFADevice{Name: "phone", Path: "/", Serial: serial, Seed: box.Seal([]byte(testSeed), []byte(serial)), User: "alice", Enabled: clock}
	if err := st.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		return create(ctx, tx, store.KindMFADevice, account, d.Name, d.Serial, &d)
	}); err != nil {
		t.Fatal(err)
	}
	codeNow := func() string { return codeAt(t, step(clock)) }
	wrong := func() string {
		c := []byte(codeNow())
		c[0] = '0' + (c[0]-'0'+1)%10
		return string(c)
	}
	if err := s.VerifyMFA(ctx, account, "alice", serial, codeNow()); err != nil {
		t.Fatalf("right code: %v", err)
	}
	clock = clock.Add(totpPeriod * time.Second)
	for i := 0; i < mfaFreeFailures+1; i++ {
		if err := s.VerifyMFA(ctx, account, "alice", serial, wrong()); err != ErrMFAFailed {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	if err := s.VerifyMFA(ctx, account, "alice", serial, codeNow()); err != ErrMFAFailed {
		t.Fatalf("the right code during the lockout: %v, want ErrMFAFailed", err)
	}
	clock = clock.Add(mfaLockoutStep + time.Second)
	if err := s.VerifyMFA(ctx, account, "alice", serial, codeNow()); err != nil {
		t.Fatalf("the right code after the lockout: %v", err)
	}
	var after store.MFADevice
	if _, err := load(ctx, st, store.KindMFADevice, account, "phone", &after); err != nil || after.FailedAttempts != 0 {
		t.Errorf("after a success: %+v, %v; want the count cleared", after, err)
	}
	if bytes.Contains(mustJSON(t, after), []byte(testSeed)) {
		t.Error("the seed is stored in plain text")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzPageTagsMarker checks that any marker either is refused or yields a page within the tags, no larger than
// asked, whose next marker continues right after it.
func FuzzPageTagsMarker(f *testing.F) {
	f.Add("2", int32(2), 5)
	f.Add("-1", int32(0), 0)
	f.Add("99999999999999999999", int32(1), 50)
	f.Fuzz(func(t *testing.T, marker string, max int32, n int) {
		if n < 0 || n > 50 {
			return
		}
		tags := make([]store.Tag, n)
		for i := range tags {
			tags[i] = store.Tag{Key: strconv.Itoa(i)}
		}
		page, trunc, next, err := pageTags(tags, marker, &max)
		if err != nil {
			return
		}
		if len(page) > maxItems(&max) {
			t.Fatalf("page of %d, max %d", len(page), maxItems(&max))
		}
		if *trunc != (next != "") {
			t.Fatalf("IsTruncated %v with marker %q", *trunc, next)
		}
		if len(page) > 0 && next != "" {
			last, _ := strconv.Atoi(page[len(page)-1].Key)
			if next != strconv.Itoa(last+1) {
				t.Fatalf("next marker %q after key %d", next, last)
			}
		}
	})
}
