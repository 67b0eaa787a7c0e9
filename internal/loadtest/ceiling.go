package loadtest

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/persona-iam/persona/sigv4"
)

// Ceiling is the bare net/http handler Persona is measured against: it reads the request, verifies its SigV4
// signature with the sigv4 package (the same parser, verifier and signing-key cache as Persona) for a known key,
// and answers with an XML body as large as Persona's answer to the same request. It is the crypto and the bytes
// of a request without any of Persona's logic, so its rate is the most this machine serves.
type Ceiling struct {
	// Now is the clock for the skew check; time.Now when nil.
	Now func() time.Time

	mu       sync.RWMutex
	secrets  map[string][]byte
	verifier sigv4.Verifier
	body     atomic.Pointer[[]byte]
}

// NewCeiling returns a Ceiling that answers with bodies of size bytes.
func NewCeiling(size int) *Ceiling {
	c := &Ceiling{secrets: map[string][]byte{}}
	c.SetResponseSize(size)
	return c
}

// AddKey makes the ceiling accept requests signed with the access key id and secret.
func (c *Ceiling) AddKey(accessKeyID, secret string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.secrets[accessKeyID] = []byte(secret)
}

// SetResponseSize sets the size of the XML body of every later answer.
func (c *Ceiling) SetResponseSize(size int) {
	b := ceilingBody(size)
	c.body.Store(&b)
}

// ceilingBody is a well-formed Query-protocol style XML response of exactly size bytes (or its minimal form when
// size is smaller).
func ceilingBody(size int) []byte {
	const head = `<CeilingResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CeilingResult><Padding>`
	const tail = `</Padding></CeilingResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></CeilingResponse>` + "\n"
	pad := max(size-len(head)-len(tail), 0)
	return []byte(head + strings.Repeat("x", pad) + tail)
}

// ServeHTTP implements http.Handler.
func (c *Ceiling) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	req, err := sigv4.Parse(r, now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	c.mu.RLock()
	secret, ok := c.secrets[req.Credential.AccessKeyID]
	c.mu.RUnlock()
	if !ok {
		http.Error(w, "unknown access key", http.StatusForbidden)
		return
	}
	if err := c.verifier.Verify(r, req, body, secret); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	out := *c.body.Load()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.Write(out)
}
