package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// IMDS header names (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html).
const (
	TokenHeader    = "X-aws-ec2-metadata-token"
	TokenTTLHeader = "X-aws-ec2-metadata-token-ttl-seconds"
	tokenPath      = "/latest/api/token"
)

// IMDSHandler serves the EC2 instance metadata service: IMDSv2 session tokens and the metadata tree an SDK's
// credential chain reads. Errors answer as IMDS does: 400 for a token request without a valid TTL, 401 for a
// missing (when IMDSv1 is off), invalid or expired token, 403 for a token request or a token-bearing read carrying
// X-Forwarded-For (IMDS refuses its tokens to anything that came through a proxy), 404 for unknown paths, 405 for
// other methods.
func (a *Agent) IMDSHandler() http.Handler { return http.HandlerFunc(a.serveIMDS) }

func (a *Agent) serveIMDS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Server", "EC2ws")
	if !localHost(r.Host) { // DNS rebinding (rebinding.go)
		imdsError(w, http.StatusForbidden)
		return
	}
	if r.URL.Path == tokenPath {
		a.serveToken(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "OPTIONS, GET, HEAD")
		imdsError(w, http.StatusMethodNotAllowed)
		return
	}
	now := a.cfg.Now()
	tok, present := r.Header[http.CanonicalHeaderKey(TokenHeader)]
	switch {
	case present:
		// A session token is not accepted through a proxy either: IMDS answers 403 to a token-bearing request
		// that carries X-Forwarded-For (https://github.com/jtblin/kube2iam/pull/279 describes meeting it).
		if _, proxied := r.Header["X-Forwarded-For"]; proxied {
			imdsError(w, http.StatusForbidden)
			return
		}
		// A token that is sent must be valid, even where IMDSv1 is allowed.
		if len(tok) != 1 || !a.tokens.valid(tok[0], now) {
			imdsError(w, http.StatusUnauthorized)
			return
		}
	case !a.cfg.AllowIMDSv1:
		imdsError(w, http.StatusUnauthorized)
		return
	}
	body, ok := a.metadata(r.URL.Path)
	if !ok {
		imdsError(w, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write([]byte(body))
	}
}

func (a *Agent) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", "OPTIONS, PUT")
		imdsError(w, http.StatusMethodNotAllowed)
		return
	}
	// IMDSv2 never issues a token to a request relayed by a proxy: an SSRF through an open reverse proxy would
	// otherwise obtain one. https://aws.amazon.com/blogs/security/defense-in-depth-open-firewalls-reverse-proxies-ssrf-vulnerabilities-ec2-instance-metadata-service/
	if _, ok := r.Header["X-Forwarded-For"]; ok {
		imdsError(w, http.StatusForbidden)
		return
	}
	ttl, ok := parseTTL(r.Header[http.CanonicalHeaderKey(TokenTTLHeader)])
	if !ok {
		imdsError(w, http.StatusBadRequest)
		return
	}
	tok := a.tokens.issue(a.cfg.Now().Add(time.Duration(ttl) * time.Second))
	w.Header().Set(TokenTTLHeader, strconv.Itoa(ttl))
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(tok)))
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(tok))
}

// parseTTL accepts exactly one header value of decimal digits between MinTokenTTL and MaxTokenTTL.
func parseTTL(v []string) (int, bool) {
	if len(v) != 1 || v[0] == "" {
		return 0, false
	}
	for _, c := range v[0] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < MinTokenTTL || n > MaxTokenTTL {
		return 0, false
	}
	return n, true
}

var statusText = map[int]string{
	http.StatusBadRequest:       "Bad Request",
	http.StatusUnauthorized:     "Unauthorized",
	http.StatusForbidden:        "Forbidden",
	http.StatusNotFound:         "Not Found",
	http.StatusMethodNotAllowed: "Method Not Allowed",
}

// imdsError writes IMDS's XHTML error page, which is what a client printing the body (curl) shows.
func imdsError(w http.ResponseWriter, status int) {
	title := fmt.Sprintf("%d - %s", status, statusText[status])
	body := `<?xml version="1.0" encoding="iso-8859-1"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
	"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>` + title + `</title>
 </head>
 <body>
  <h1>` + title + `</h1>
 </body>
</html>
`
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write([]byte(body))
}

// node is an entry of the metadata tree: a directory (children) or a leaf (value).
type node struct {
	children map[string]*node
	value    func() (string, bool)
}

func dir(children map[string]*node) *node { return &node{children: children} }
func leaf(v string) *node                 { return &node{value: func() (string, bool) { return v, true }} }

// tree builds the metadata tree of the current state. Entries whose value is unknown are left out, as IMDS leaves
// out what an instance does not have (no iam/ without an instance profile).
func (a *Agent) tree() *node {
	s := a.snapshot()
	id := s.identity
	md := map[string]*node{}
	add := func(m map[string]*node, name, v string) {
		if v != "" {
			m[name] = leaf(v)
		}
	}
	add(md, "instance-id", id.InstanceID)
	add(md, "ami-id", id.ImageID)
	add(md, "instance-type", id.InstanceType)
	add(md, "local-ipv4", id.PrivateIP)
	placement := map[string]*node{}
	add(placement, "region", id.Region)
	add(placement, "availability-zone", id.AvailabilityZone)
	if len(placement) > 0 {
		md["placement"] = dir(placement)
	}
	if id.InstanceProfileARN != "" {
		creds := map[string]*node{}
		if s.hasRole {
			creds[id.RoleName] = &node{value: func() (string, bool) { return credentialsDocument(s) }}
		}
		md["iam"] = dir(map[string]*node{
			"info":                 leaf(infoDocument(s)),
			"security-credentials": dir(creds),
		})
	}
	latest := map[string]*node{"meta-data": dir(md)}
	if id.InstanceID != "" && id.AccountID != "" {
		latest["dynamic"] = dir(map[string]*node{
			"instance-identity": dir(map[string]*node{"document": leaf(identityDocument(id))}),
		})
	}
	return dir(map[string]*node{"latest": dir(latest)})
}

// metadata resolves path in the tree: a directory lists its entries (subdirectories with a trailing slash), with
// or without a trailing slash on the path, as IMDS answers both; a leaf answers its value.
func (a *Agent) metadata(path string) (string, bool) {
	n := a.tree()
	trimmed := strings.Trim(path, "/")
	if trimmed != "" {
		for _, part := range strings.Split(trimmed, "/") {
			if n.children == nil {
				return "", false
			}
			next, ok := n.children[part]
			if !ok {
				return "", false
			}
			n = next
		}
	}
	if n.value != nil {
		if strings.HasSuffix(path, "/") {
			return "", false
		}
		return n.value()
	}
	names := make([]string, 0, len(n.children))
	for name, c := range n.children {
		if c.children != nil {
			name += "/"
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, "\n"), true
}

// imdsTime is the timestamp format of IMDS documents.
func imdsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// document renders pairs as IMDS does: two-space indent and " : " between key and value.
func document(pairs ...[2]string) string {
	var b strings.Builder
	b.WriteString("{\n")
	for i, p := range pairs {
		k, _ := json.Marshal(p[0])
		b.WriteString("  ")
		b.Write(k)
		b.WriteString(" : ")
		b.WriteString(p[1])
		if i < len(pairs)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}")
	return b.String()
}

func jstr(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// credentialsDocument is iam/security-credentials/ROLE
// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-categories.html#instancedata-data-categories).
// Without valid credentials the path does not exist (404); iam/info says why.
func credentialsDocument(s snapshot) (string, bool) {
	if s.creds == nil {
		return "", false
	}
	return document(
		[2]string{"Code", jstr("Success")},
		[2]string{"LastUpdated", jstr(imdsTime(s.lastUpdated))},
		[2]string{"Type", jstr("AWS-HMAC")},
		[2]string{"AccessKeyId", jstr(s.creds.AccessKeyID)},
		[2]string{"SecretAccessKey", jstr(s.creds.SecretAccessKey)},
		[2]string{"Token", jstr(s.creds.SessionToken)},
		[2]string{"Expiration", jstr(imdsTime(s.creds.Expiration))},
	), true
}

// infoDocument is iam/info: Success with the instance profile, or the code that says why there are no credentials.
func infoDocument(s snapshot) string {
	code, msg := "Success", ""
	switch {
	case s.code != "" && s.code != "Success":
		code, msg = s.code, s.message
	case s.hasRole && s.creds == nil:
		code, msg = "CredentialsUnavailable", "Persona agent holds no valid credentials; see its health endpoint."
	}
	pairs := [][2]string{{"Code", jstr(code)}, {"LastUpdated", jstr(imdsTime(s.lastUpdated))}}
	if msg != "" {
		pairs = append(pairs, [2]string{"Message", jstr(msg)})
	}
	pairs = append(pairs,
		[2]string{"InstanceProfileArn", jstr(s.identity.InstanceProfileARN)},
		[2]string{"InstanceProfileId", jstr(s.identity.InstanceProfileID)})
	return document(pairs...)
}

// identityDocument is dynamic/instance-identity/document
// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-identity-documents.html).
func identityDocument(id Identity) string {
	null := "null"
	opt := func(v string) string {
		if v == "" {
			return null
		}
		return jstr(v)
	}
	arch := id.Architecture
	if arch == "" {
		arch = "x86_64"
	}
	pending := null
	if !id.PendingTime.IsZero() {
		pending = jstr(imdsTime(id.PendingTime))
	}
	return document(
		[2]string{"accountId", jstr(id.AccountID)},
		[2]string{"architecture", jstr(arch)},
		[2]string{"availabilityZone", opt(id.AvailabilityZone)},
		[2]string{"billingProducts", null},
		[2]string{"devpayProductCodes", null},
		[2]string{"marketplaceProductCodes", null},
		[2]string{"imageId", opt(id.ImageID)},
		[2]string{"instanceId", jstr(id.InstanceID)},
		[2]string{"instanceType", opt(id.InstanceType)},
		[2]string{"kernelId", null},
		[2]string{"pendingTime", pending},
		[2]string{"privateIp", opt(id.PrivateIP)},
		[2]string{"ramdiskId", null},
		[2]string{"region", opt(id.Region)},
		[2]string{"version", jstr("2017-09-30")},
	)
}
