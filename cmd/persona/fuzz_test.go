package main

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseDuration checks the --since/--until duration flag: "Nd" is accepted exactly for a decimal N in
// [0, 36500] and means N days; anything else is accepted exactly when time.ParseDuration accepts it as a
// non-negative duration, and means the same; an accepted value is never negative.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"0s", "90m", "24h", "30d", "36500d", "36501d", "-1d", "+3d", "d", "1.5d", "-5m", "9223372036854775807ns", "1e3d", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s)
		if err != nil {
			if d != 0 {
				t.Fatalf("parseDuration(%q) = %v with error %v", s, d, err)
			}
			if !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("parseDuration(%q) error %q does not quote the flag", s, err)
			}
		}
		if days, ok := strings.CutSuffix(s, "d"); ok {
			n, aerr := strconv.Atoi(days)
			want := aerr == nil && n >= 0 && n <= 36500
			if (err == nil) != want || (want && d != time.Duration(n)*24*time.Hour) {
				t.Fatalf("parseDuration(%q) = %v, %v; want %d days (%v)", s, d, err, n, want)
			}
			return
		}
		g, gerr := time.ParseDuration(s)
		want := gerr == nil && g >= 0
		if (err == nil) != want || (want && d != g) {
			t.Fatalf("parseDuration(%q) = %v, %v; time.ParseDuration = %v, %v", s, d, err, g, gerr)
		}
	})
}

// FuzzParseWhen checks the --since/--until time flag: an RFC 3339 time is taken as is; otherwise the value is a
// duration back from now (so never after now); anything else is an error that quotes the value.
func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"2026-11-22T10:30:00Z", "2026-11-22T10:30:00+02:00", "2026-11-22", "5m", "30d", "-5m", "now", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseWhen(s, now)
		if rt, rerr := time.Parse(time.RFC3339, s); rerr == nil {
			if err != nil || !got.Equal(rt) {
				t.Fatalf("parseWhen(%q) = %v, %v; want the RFC 3339 time %v", s, got, err, rt)
			}
			return
		}
		d, derr := parseDuration(s)
		if (err == nil) != (derr == nil) {
			t.Fatalf("parseWhen(%q) error %v, parseDuration error %v", s, err, derr)
		}
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("parseWhen(%q) error %q does not quote the flag", s, err)
			}
			return
		}
		if !got.Equal(now.Add(-d)) || got.After(now) {
			t.Fatalf("parseWhen(%q) = %v; want %v before %v", s, got, d, now)
		}
	})
}
