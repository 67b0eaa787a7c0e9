package main

import (
	"net/netip"
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

// FuzzParsePrefixes checks the --trusted-proxies flag: an accepted list gives one valid, masked network per
// non-blank comma-separated item, in order, containing the address the item names (a bare address is a network of
// one); a refused list names, quoted, an item that is neither a network nor an address.
func FuzzParsePrefixes(f *testing.F) {
	for _, s := range []string{" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,", "10.0.0.1/8", "::ffff:10.0.0.1", "fe80::1%eth0",
		"10.0.0.0/33", "proxy.internal", ",,", "", "1.2.3.4/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parsePrefixes(s)
		var items []string
		for _, it := range strings.Split(s, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		if err != nil {
			for _, it := range items {
				if strings.Contains(err.Error(), strconv.Quote(it)) {
					return
				}
			}
			t.Fatalf("parsePrefixes(%q) error %q names no item", s, err)
		}
		if len(got) != len(items) {
			t.Fatalf("parsePrefixes(%q) = %v for items %q", s, got, items)
		}
		for i, p := range got {
			if !p.IsValid() || p != p.Masked() {
				t.Fatalf("parsePrefixes(%q)[%d] = %v, not a valid masked network", s, i, p)
			}
			addr := items[i]
			if pp, err := netip.ParsePrefix(addr); err == nil {
				if pp.Masked() != p {
					t.Fatalf("item %q gave %v", addr, p)
				}
				continue
			}
			a, err := netip.ParseAddr(addr)
			if err != nil || !p.Contains(a.Unmap().WithZone("")) || p.Bits() != a.Unmap().BitLen() {
				t.Fatalf("item %q gave %v", addr, p)
			}
		}
	})
}
