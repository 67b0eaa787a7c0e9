package agent

import (
	"net"
	"strings"
)

// localHost reports whether a request's Host header names the metadata service by address or by a local name
// ("localhost", *.localhost, *.internal), as SDKs and containers reach it.
//
// DNS rebinding: a web page whose name the attacker re-points at 127.0.0.1 (or at the instance) reaches the IMDS
// from a browser on the host as a same-origin request, PUT and custom headers included, so IMDSv2's session token
// does not stop it; only the Host header still carries the attacker's domain. Refusing other names closes that
// path, as local services that hold secrets do (https://en.wikipedia.org/wiki/DNS_rebinding#Protection).
func localHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(host, "]"), "["), ".")
	if net.ParseIP(host) != nil {
		return true
	}
	host = strings.ToLower(host)
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".internal")
}
