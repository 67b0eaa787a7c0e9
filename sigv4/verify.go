package sigv4

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// DefaultCacheSize is the number of derived signing keys a Verifier keeps when MaxKeys is zero.
const DefaultCacheSize = 4096

// Verifier checks SigV4 signatures. It caches derived signing keys (kSigning, one per secret, day, region
// and service) so that a busy key pays the four-HMAC derivation once a day. The zero value is ready to use
// and safe for concurrent use; a Verifier must not be copied after first use.
type Verifier struct {
	// MaxKeys bounds the signing-key cache: zero means DefaultCacheSize, a negative value disables it.
	MaxKeys int
	// AllowUnsignedPayload lets a request with a non-empty body declare UNSIGNED-PAYLOAD. It is off by
	// default because IAM and STS carry their parameters in the body: accepting an unsigned body there
	// would let anyone who can alter the request in flight change what a signed request does.
	AllowUnsignedPayload bool

	mu       sync.RWMutex
	cur, old map[cacheKey][32]byte // two generations: an LRU approximation with O(1) bookkeeping
}

// cacheKey identifies a derived signing key. The secret appears only as its SHA-256, so the cache holds no
// secret in the clear and two different secrets never share an entry.
type cacheKey struct {
	secret                [sha256.Size]byte
	date, region, service string
}

// Verify checks that req, parsed from r by Parse, carries a valid signature made with secret, the secret
// access key of req.Credential.AccessKeyID. body is the full request payload (nil when empty); the caller
// reads it within its size limit before calling. The signature comparison is constant-time.
//
// On failure the error is an *Error: SignatureDoesNotMatch, or XAmzContentSHA256Mismatch when the body
// does not match a signed X-Amz-Content-Sha256, or NotImplemented for streaming payloads (whose seed
// signature is still checked first) and, unless AllowUnsignedPayload, for an unsigned non-empty body.
func (v *Verifier) Verify(r *http.Request, req *Request, body []byte, secret []byte) error {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)

	// Task 1: the canonical request, and its hash
	// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html).
	cr, err := appendCanonicalRequest(sc.buf[:0], sc, r, req, body)
	if err != nil {
		sc.buf = cr[:0]
		return err
	}
	crHash := sha256.Sum256(cr)

	// Task 2: the string to sign, written after a 64-byte gap that hmacPrefixed fills with the HMAC
	// inner pad, so the MAC needs no second buffer.
	sts := append(cr[:0], make([]byte, sha256.BlockSize)...)
	sts = append(sts, Algorithm+"\n"...)
	sts = req.RequestTime.UTC().AppendFormat(sts, iso8601Basic)
	sts = append(sts, '\n')
	sts = append(sts, req.scope...)
	sts = append(sts, '\n')
	sts = hex.AppendEncode(sts, crHash[:])
	sc.buf = sts[:0]

	// Tasks 3 and 4: the signing key and the signature.
	key := v.signingKey(secret, req.Credential)
	mk := newMACKey(key[:])
	mac := mk.sum(sts)
	var want [2 * sha256.Size]byte
	hex.Encode(want[:], mac[:])
	if !equalHex(req.Signature, &want) {
		return newError(CodeSignatureDoesNotMatch, msgSignatureDoesNotMatch)
	}

	// The signature is good; now hold the client to what it signed about the body.
	switch {
	case req.Streaming():
		return newError(CodeNotImplemented, msgNotImplemented)
	case req.UnsignedPayload():
		if len(body) > 0 && !v.AllowUnsignedPayload {
			return newError(CodeNotImplemented, msgNotImplemented)
		}
	case req.PayloadHash != "":
		sum := sha256.Sum256(body)
		var got [2 * sha256.Size]byte
		hex.Encode(got[:], sum[:])
		if !strings.EqualFold(req.PayloadHash, string(got[:])) {
			return newError(CodeContentSHA256Mismatch, msgContentMismatch)
		}
	}
	return nil
}

// equalHex compares a client-supplied hex signature with the expected one in constant time. Only the
// length, which is public, may end the comparison early.
func equalHex(got string, want *[2 * sha256.Size]byte) bool {
	if len(got) != len(want) {
		return false
	}
	var d byte
	for i := range want {
		d |= got[i] ^ want[i]
	}
	return subtle.ConstantTimeByteEq(d, 0) == 1
}

// signingKey returns kSigning for secret and the credential scope, from the cache when possible.
func (v *Verifier) signingKey(secret []byte, c Credential) [32]byte {
	if v.MaxKeys < 0 {
		return deriveKey(secret, c.Date, c.Region, c.Service)
	}
	k := cacheKey{secret: sha256.Sum256(secret), date: c.Date, region: c.Region, service: c.Service}
	v.mu.RLock()
	sk, ok := v.cur[k]
	v.mu.RUnlock()
	if ok {
		return sk
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if sk, ok = v.cur[k]; ok {
		return sk
	}
	if sk, ok = v.old[k]; !ok {
		sk = deriveKey(secret, c.Date, c.Region, c.Service)
	}
	// Keep no reference into the request's header strings.
	k.date, k.region, k.service = strings.Clone(k.date), strings.Clone(k.region), strings.Clone(k.service)
	half := v.MaxKeys / 2
	if v.MaxKeys == 0 {
		half = DefaultCacheSize / 2
	}
	if half < 1 {
		half = 1
	}
	if v.cur == nil || len(v.cur) >= half {
		v.old, v.cur = v.cur, make(map[cacheKey][32]byte, half)
	}
	v.cur[k] = sk
	return sk
}

// deriveKey computes kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html#derive-signing-key).
func deriveKey(secret []byte, date, region, service string) [32]byte {
	var buf [sha256.BlockSize + 128]byte
	k := newMACKey(append(append(buf[:0:len(buf)], "AWS4"...), secret...))
	for _, msg := range [...]string{date, region, service} {
		next := k.sumString(buf[:0], msg)
		k = newMACKey(next[:])
	}
	return k.sumString(buf[:0], terminator)
}

// macKey is an HMAC-SHA256 key padded to the block size (RFC 2104).
type macKey [sha256.BlockSize]byte

func newMACKey(key []byte) macKey {
	var k macKey
	if len(key) > sha256.BlockSize {
		s := sha256.Sum256(key)
		copy(k[:], s[:])
	} else {
		copy(k[:], key)
	}
	return k
}

// sumString returns HMAC-SHA256(k, msg), using buf as scratch.
func (k *macKey) sumString(buf []byte, msg string) [32]byte {
	buf = append(buf, make([]byte, sha256.BlockSize)...)
	buf = append(buf, msg...)
	return k.sum(buf)
}

// sum computes HMAC-SHA256 over prefixed[64:], overwriting prefixed[:64] with the inner pad. It allocates
// nothing, unlike crypto/hmac, which matters on the per-request path.
func (k *macKey) sum(prefixed []byte) [32]byte {
	for i := range sha256.BlockSize {
		prefixed[i] = k[i] ^ 0x36
	}
	inner := sha256.Sum256(prefixed)
	var outer [sha256.BlockSize + sha256.Size]byte
	for i := range sha256.BlockSize {
		outer[i] = k[i] ^ 0x5c
	}
	copy(outer[sha256.BlockSize:], inner[:])
	return sha256.Sum256(outer[:])
}

// scratch holds the per-call buffers, pooled so that verification does not allocate.
type scratch struct {
	buf   []byte
	query []byte
	pairs []pairSpan
}

var scratchPool = sync.Pool{New: func() any { return &scratch{buf: make([]byte, 0, 1024)} }}

// pairSpan locates one canonical query pair in scratch.query: key is [k, v), value is [v, end).
type pairSpan struct{ k, v, end int }

// appendCanonicalRequest appends the canonical request of r to dst:
//
//	Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n HashedPayload
func appendCanonicalRequest(dst []byte, sc *scratch, r *http.Request, req *Request, body []byte) ([]byte, error) {
	dst = append(dst, r.Method...)
	dst = append(dst, '\n')
	dst = appendCanonicalURI(dst, r.URL, req.Credential.Service == "s3")
	dst = append(dst, '\n')
	dst, ok := appendCanonicalQuery(dst, sc, r.URL.RawQuery, req.Presigned)
	if !ok {
		return dst, newError(CodeMalformedQueryString, msgMalformedQuery)
	}
	dst = append(dst, '\n')
	dst, ok = appendCanonicalHeaders(dst, r, req.SignedHeaders)
	if !ok {
		// A signed header that is absent cannot be what the client signed.
		return dst, newError(CodeSignatureDoesNotMatch, msgSignatureDoesNotMatch)
	}
	dst = append(dst, '\n')
	dst = append(dst, req.SignedHeaders...)
	dst = append(dst, '\n')
	if req.PayloadHash != "" {
		dst = append(dst, req.PayloadHash...)
	} else {
		sum := sha256.Sum256(body)
		dst = hex.AppendEncode(dst, sum[:])
	}
	return dst, nil
}

// appendCanonicalURI appends the URI-encoded path. For every service but S3 the path as sent (already
// encoded once) is encoded again, byte by byte, leaving only unreserved characters and '/': this is what
// "each path segment URI-encoded twice" means in the SigV4 reference, and what aws-sdk-go-v2 signs. Like
// the SDK, and unlike the reference's advice, the path is not normalized ("." and ".." segments, double
// slashes): the verifier must reproduce what real signers sign, and IAM and STS only use "/".
func appendCanonicalURI(dst []byte, u *url.URL, s3 bool) []byte {
	p := uriPath(u)
	if p == "" {
		return append(dst, '/')
	}
	if s3 {
		return append(dst, p...)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; unreserved(c) || c == '/' {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
}

// uriPath returns the escaped path of u as the client sent it (see aws-sdk-go-v2's GetURIPath).
func uriPath(u *url.URL) string {
	if u.Opaque == "" {
		return u.EscapedPath()
	}
	o, _, _ := strings.Cut(u.Opaque, "?")
	o = strings.TrimPrefix(o, "//")
	if i := strings.IndexByte(o, '/'); i >= 0 {
		return o[i:]
	}
	return ""
}

const upperHex = "0123456789ABCDEF"

// unreserved reports whether c is an RFC 3986 unreserved character, which SigV4 never encodes.
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// appendCanonicalQuery appends the canonical query string: every name and value decoded as
// application/x-www-form-urlencoded, re-encoded per RFC 3986 (space is %20), sorted by name then value,
// and, for presigned requests, without X-Amz-Signature. It reports false for a query that cannot be
// decoded unambiguously.
func appendCanonicalQuery(dst []byte, sc *scratch, raw string, presigned bool) ([]byte, bool) {
	if raw == "" {
		return dst, true
	}
	q := sc.query[:0]
	pairs := sc.pairs[:0]
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		if strings.IndexByte(pair, ';') >= 0 {
			return dst, false
		}
		k, v, _ := strings.Cut(pair, "=")
		start := len(q)
		var ok bool
		if q, ok = appendCanonicalComponent(q, k); !ok {
			return dst, false
		}
		mid := len(q)
		if presigned && string(q[start:mid]) == "X-Amz-Signature" {
			q = q[:start]
			continue
		}
		if q, ok = appendCanonicalComponent(q, v); !ok {
			return dst, false
		}
		pairs = append(pairs, pairSpan{start, mid, len(q)})
	}
	slices.SortFunc(pairs, func(a, b pairSpan) int {
		if c := bytes.Compare(q[a.k:a.v], q[b.k:b.v]); c != 0 {
			return c
		}
		return bytes.Compare(q[a.v:a.end], q[b.v:b.end])
	})
	for i, p := range pairs {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, q[p.k:p.v]...)
		dst = append(dst, '=')
		dst = append(dst, q[p.v:p.end]...)
	}
	sc.query, sc.pairs = q, pairs
	return dst, true
}

// appendCanonicalComponent decodes one form-encoded query component and appends its RFC 3986 encoding.
func appendCanonicalComponent(dst []byte, raw string) ([]byte, bool) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			if i+2 >= len(raw) || unhex(raw[i+1]) < 0 || unhex(raw[i+2]) < 0 {
				return dst, false
			}
			c = byte(unhex(raw[i+1])<<4 | unhex(raw[i+2]))
			i += 2
		}
		if unreserved(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst, true
}

// appendCanonicalHeaders appends "name:value\n" for each signed header, in the signed order. Values are
// trimmed, runs of spaces collapse to one, and repeated headers join with ','. It reports false if a
// signed header is absent.
func appendCanonicalHeaders(dst []byte, r *http.Request, signed string) ([]byte, bool) {
	for rest := signed; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		dst = append(dst, name...)
		dst = append(dst, ':')
		switch name {
		case "host":
			// Go moves Host out of the header map; SigV4 signs it as sent.
			h := r.Host
			if h == "" {
				h = r.URL.Host
			}
			dst = appendHeaderValue(dst, h)
		default:
			vals := lookupHeader(r.Header, name)
			if vals == nil {
				if name != "content-length" || r.ContentLength < 0 {
					return dst, false
				}
				// An outgoing *http.Request keeps its length out of the header map.
				dst = strconv.AppendInt(dst, r.ContentLength, 10)
				break
			}
			for i, v := range vals {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendHeaderValue(dst, v)
			}
		}
		dst = append(dst, '\n')
	}
	return dst, true
}

// appendHeaderValue appends v trimmed, with each run of spaces collapsed to one (as aws-sdk-go-v2 does:
// StripExcessSpaces, then TrimSpace).
func appendHeaderValue(dst []byte, v string) []byte {
	v = strings.TrimSpace(v)
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
			continue
		}
		dst = append(dst, v[i])
	}
	return dst
}

// lookupHeader returns the values of the header with the given lowercase name without allocating: the
// canonical form is built on the stack, and the map index with string(bytes) does not copy.
func lookupHeader(h http.Header, name string) []string {
	var b [64]byte
	if len(name) <= len(b) {
		upper := true
		for i := 0; i < len(name); i++ {
			c := name[i]
			if upper && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			b[i] = c
			upper = c == '-'
		}
		if v, ok := h[string(b[:len(name)])]; ok {
			return v
		}
	}
	// Keys Go did not canonicalize (built by hand, or not valid tokens).
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}
