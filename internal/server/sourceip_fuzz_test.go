package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// FuzzSourceIP checks the X-Forwarded-For reader behind aws:SourceIp and the audit sourceIPAddress. A peer that is
// not a trusted proxy is the source, whatever it sends; otherwise the source is the peer or one of the addresses
// forwarded, and every hop to its right is a well-formed address of a trusted proxy: a client can prepend
// addresses but never make the server look past the first hop it does not trust.
func FuzzSourceIP(f *testing.F) {
	f.Add("10.0.0.5:443", "203.0.113.9, 10.1.2.3", "")
	f.Add("10.0.0.5:443", "198.51.100.1, 203.0.113.9", "10.9.9.9")
	f.Add("203.0.113.9:1234", "10.0.0.1", "")
	f.Add("[2001:db8::1]:80", "::ffff:192.0.2.1,2001:db8::2", "")
	f.Add("10.0.0.5:443", "garbage, 10.0.0.7", " ")
	f.Add("10.0.0.5", "", "")
	s := &Server{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}}}
	f.Fuzz(func(t *testing.T, remote, xff1, xff2 string) {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
		var hops []string
		for _, v := range []string{xff1, xff2} {
			if v != "" {
				r.Header.Add("X-Forwarded-For", v)
				hops = append(hops, strings.Split(v, ",")...)
			}
		}
		got := s.sourceIP(r)
		peer, _, err := net.SplitHostPort(remote)
		if err != nil {
			peer = remote
		}
		if !s.trustedProxy(peer) {
			if got != peer {
				t.Fatalf("untrusted peer %q with X-Forwarded-For %q, %q: source %q", remote, xff1, xff2, got)
			}
			return
		}
		if got == peer {
			return
		}
		// got came from hop i, and every hop after i is a trusted proxy's address.
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			if a.Unmap().String() == got {
				return
			}
			if !s.trustedProxy(a.Unmap().String()) {
				break
			}
		}
		t.Fatalf("peer %q, X-Forwarded-For %q, %q: source %q is not the first untrusted hop from the right", remote, xff1, xff2, got)
	})
}
