package agent

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// IMDSv2 session tokens are stateless: base64url(expiry in Unix ms(8) | nonce(16) | HMAC-SHA256(key, expiry|nonce)[:16])
// under a key drawn when the agent starts. Holding no table of issued tokens means a flood of PUTs costs no
// memory; a restart invalidates every token, as an instance stop does on EC2, and clients (SDKs included)
// answer the 401 by fetching a new one.
type tokenSigner struct{ key [32]byte }

const (
	tokenNonceLen = 16
	tokenMACLen   = 16
	tokenRawLen   = 8 + tokenNonceLen + tokenMACLen
	// MaxTokenTTL and MinTokenTTL bound X-aws-ec2-metadata-token-ttl-seconds, as IMDS does (1 second to 6 hours).
	MaxTokenTTL = 21600
	MinTokenTTL = 1
)

func newTokenSigner() (*tokenSigner, error) {
	t := &tokenSigner{}
	if _, err := rand.Read(t.key[:]); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *tokenSigner) mac(b []byte) []byte {
	m := hmac.New(sha256.New, t.key[:])
	m.Write(b)
	return m.Sum(nil)[:tokenMACLen]
}

// issue returns a token valid until expires.
func (t *tokenSigner) issue(expires time.Time) string {
	b := make([]byte, 8+tokenNonceLen, tokenRawLen)
	binary.BigEndian.PutUint64(b, uint64(expires.UnixMilli()))
	rand.Read(b[8:])
	b = append(b, t.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// valid reports whether tok was issued by t and is unexpired at now. The MAC is checked in constant time
// before the expiry is trusted.
func (t *tokenSigner) valid(tok string, now time.Time) bool {
	if len(tok) != base64.RawURLEncoding.EncodedLen(tokenRawLen) {
		return false
	}
	// Strict: the last digit carries 4 unused bits, which the lenient decoder ignores, so 16 spellings of a
	// token would all be valid.
	b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(b) != tokenRawLen {
		return false
	}
	if !hmac.Equal(t.mac(b[:8+tokenNonceLen]), b[8+tokenNonceLen:]) {
		return false
	}
	return now.UnixMilli() < int64(binary.BigEndian.Uint64(b))
}
