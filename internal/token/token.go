// Package token seals temporary-credential sessions into self-contained session tokens.
//
// A session token is an XChaCha20-Poly1305 envelope (https://datatracker.ietf.org/doc/html/draft-irtf-cfrg-xchacha)
// whose header names the ring key that sealed it, so keys can rotate while older tokens still open. The
// temporary secret access key is not stored anywhere: it is HMAC-SHA256 under the same ring key of the access key
// id and the sealed envelope, so any node holding the ring verifies a request signed with the credentials without
// a store read.
//
// Envelope (then standard base64, as AWS's tokens are):
//
//	version(1) | key id(4, big endian) | access key id(20) | nonce(24) | ciphertext+tag
//
// The header is the AEAD's additional data: changing the key id or the access key id fails to open.
package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// Sentinel errors of Open. The server answers ErrInvalid with InvalidClientTokenId and ErrExpired with
// ExpiredToken (https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html).
var (
	ErrInvalid = errors.New("token: invalid session token")
	ErrExpired = errors.New("token: session token expired")
)

const (
	envVersion = 1
	akidLen    = 20
	headerLen  = 1 + 4 + akidLen
	nonceLen   = chacha20poly1305.NonceSizeX
	// SecretLen is the length of a temporary secret access key: 40 base64 characters, like AWS's.
	SecretLen = 40
	// MaxTokenLifetime is the longest a session can last (GetSessionToken and GetFederationToken allow 36
	// hours: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html). A key retired
	// this long after it stopped sealing can no longer open a live token.
	MaxTokenLifetime = 36 * time.Hour
)

// KeySize is the size of a ring key's material.
const KeySize = 32

// Key is one ring key. Its material is secret: String, GoString and LogValue never show it.
type Key struct {
	// ID names the key in the tokens it seals.
	ID uint32
	// Created is when the key was generated.
	Created time.Time
	// Deactivated is when another key became active; zero while the key is active or never was.
	Deactivated time.Time

	material [KeySize]byte
	aead     aeadCipher
	macKey   []byte
}

type aeadCipher interface {
	Seal(dst, nonce, plaintext, additionalData []byte) []byte
	Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error)
}

// String describes the key without its material.
func (k Key) String() string {
	return fmt.Sprintf("token.Key{ID: %d, Created: %s, material: [REDACTED]}", k.ID, k.Created.Format(time.RFC3339))
}

// GoString is String, so %#v does not print the material either.
func (k Key) GoString() string { return k.String() }

// LogValue logs the key id and creation time only.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("id", k.ID), slog.Time("created", k.Created), slog.String("material", "[REDACTED]"))
}

// newKey builds a key from its material, deriving separate sealing and secret-derivation subkeys so that
// neither use can leak information about the other.
func newKey(id uint32, created time.Time, material [KeySize]byte) (*Key, error) {
	k := &Key{ID: id, Created: created.UTC().Truncate(time.Second), material: material}
	sealKey := subkey(material, "persona session token seal v1")
	aead, err := chacha20poly1305.NewX(sealKey[:])
	if err != nil {
		return nil, err
	}
	k.aead = aead
	mk := subkey(material, "persona session token secret v1")
	k.macKey = mk[:]
	return k, nil
}

func subkey(material [KeySize]byte, label string) [32]byte {
	m := hmac.New(sha256.New, material[:])
	m.Write([]byte(label))
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// Ring holds the token keys: one active key that seals, and older keys that still open the tokens they
// sealed. It is safe for concurrent use.
type Ring struct {
	mu     sync.RWMutex
	keys   map[uint32]*Key
	active uint32
	// Now is the clock used by Rotate and Prune; time.Now when nil.
	Now func() time.Time
}

// NewRing returns a ring with one fresh active key.
func NewRing() (*Ring, error) {
	r := &Ring{keys: map[uint32]*Key{}}
	if _, err := r.Rotate(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Ring) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Rotate generates a new key and makes it the active one; the previous key keeps opening its tokens. It
// returns the new key's id.
func (r *Ring) Rotate() (uint32, error) {
	var m [KeySize]byte
	if _, err := rand.Read(m[:]); err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.keys == nil {
		r.keys = map[uint32]*Key{}
	}
	now := r.now()
	id := uint32(1)
	for kid := range r.keys {
		id = max(id, kid+1)
	}
	k, err := newKey(id, now, m)
	if err != nil {
		return 0, err
	}
	if old, ok := r.keys[r.active]; ok {
		old.Deactivated = now.UTC().Truncate(time.Second)
	}
	r.keys[id] = k
	r.active = id
	return id, nil
}

// Retire removes a key: tokens it sealed no longer open. The active key cannot be retired.
func (r *Ring) Retire(id uint32) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id == r.active {
		return fmt.Errorf("token: key %d is active; rotate first", id)
	}
	if _, ok := r.keys[id]; !ok {
		return fmt.Errorf("token: no key %d", id)
	}
	delete(r.keys, id)
	return nil
}

// Prune retires every key that stopped sealing more than MaxTokenLifetime ago, when no token it sealed
// can still be live, and returns their ids.
func (r *Ring) Prune() []uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var gone []uint32
	for id, k := range r.keys {
		if id != r.active && !k.Deactivated.IsZero() && now.Sub(k.Deactivated) > MaxTokenLifetime {
			delete(r.keys, id)
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	return gone
}

// Keys returns the ring's keys (without material access) in id order, and the active key's id.
func (r *Ring) Keys() (keys []Key, active uint32) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range r.keys {
		keys = append(keys, Key{ID: k.ID, Created: k.Created, Deactivated: k.Deactivated})
	}
	slices.SortFunc(keys, func(a, b Key) int { return int(int64(a.ID) - int64(b.ID)) })
	return keys, r.active
}

func (r *Ring) key(id uint32) *Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.keys[id]
}

func (r *Ring) activeKey() *Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.keys[r.active]
}

// akidEncoding is RFC 4648 base32 without padding: A-Z and 2-7, the alphabet of AWS access key ids.
var akidEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newAccessKeyID returns "ASIA" and 16 base32 characters (80 bits): 40 bits naming the account and 40 random
// bits, the form of AWS's temporary access key ids, which also encode their account so that GetAccessKeyInfo can
// answer without the token (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-prefixes).
// The id is not a secret and not an authenticator: the sealed token is, and it names the id it was issued with.
func newAccessKeyID(account string) (string, error) {
	var b [10]byte
	if _, err := rand.Read(b[5:]); err != nil {
		return "", err
	}
	if n, err := strconv.ParseUint(account, 10, 64); err == nil && len(account) == 12 {
		b[0], b[1], b[2], b[3], b[4] = byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	}
	return "ASIA" + akidEncoding.EncodeToString(b[:]), nil
}

// AccountOfAccessKeyID returns the account a temporary access key id was issued in, and false when id is not a
// temporary access key id of this form.
func AccountOfAccessKeyID(id string) (string, bool) {
	if !validAccessKeyID(id) {
		return "", false
	}
	b, err := akidEncoding.DecodeString(id[4:])
	if err != nil || len(b) != 10 {
		return "", false
	}
	n := uint64(b[0])<<32 | uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4])
	if n == 0 || n >= 1e12 {
		return "", false
	}
	acct := strconv.FormatUint(n, 10)
	return strings.Repeat("0", 12-len(acct)) + acct, true
}

func validAccessKeyID(s string) bool {
	if len(s) != akidLen || s[:4] != "ASIA" {
		return false
	}
	for i := 4; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

// Seal seals s under the active key and returns the session token, the new temporary access key id (which
// overrides s.AccessKeyID) and the temporary secret access key. s must have IssuedAt before Expiration.
func (r *Ring) Seal(s *Session) (token, accessKeyID, secret string, err error) {
	k := r.activeKey()
	if k == nil {
		return "", "", "", errors.New("token: ring has no active key")
	}
	if !s.Expiration.After(s.IssuedAt) || s.IssuedAt.IsZero() {
		return "", "", "", errors.New("token: session needs IssuedAt before Expiration")
	}
	if s.ChainDepth < 0 || s.ChainDepth > MaxChainDepth || s.Kind < KindAssumeRole || s.Kind > KindInstanceProfile {
		return "", "", "", errors.New("token: session kind or chain depth out of range")
	}
	if len(s.Tags) > maxItems || len(s.TransitiveTagKeys) > maxItems || len(s.PolicyARNs) > maxItems {
		return "", "", "", errors.New("token: too many tags or policy ARNs")
	}
	akid, err := newAccessKeyID(s.Account)
	if err != nil {
		return "", "", "", err
	}
	sess := *s
	sess.AccessKeyID = akid

	env := make([]byte, headerLen+nonceLen, headerLen+nonceLen+256)
	env[0] = envVersion
	binary.BigEndian.PutUint32(env[1:5], k.ID)
	copy(env[5:headerLen], akid)
	nonce := env[headerLen : headerLen+nonceLen]
	if _, err := rand.Read(nonce); err != nil {
		return "", "", "", err
	}
	plain := appendSession(nil, &sess)
	env = k.aead.Seal(env, nonce, plain, env[:headerLen])
	return base64.StdEncoding.EncodeToString(env), akid, deriveSecret(k, env), nil
}

// deriveSecret is base64(HMAC-SHA256(secret subkey, access key id || envelope))[:40]. The access key id is
// part of the envelope header; the whole envelope is hashed so that each token has its own secret.
func deriveSecret(k *Key, env []byte) string {
	m := hmac.New(sha256.New, k.macKey)
	m.Write(env)
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	// 30 bytes encode to exactly 40 base64 characters, with no padding.
	return base64.StdEncoding.EncodeToString(sum[:SecretLen/4*3])
}

// envelope decodes a token's base64 text and finds its key. It checks only the form, not the seal.
func (r *Ring) envelope(token string) ([]byte, *Key, error) {
	if len(token) > base64.StdEncoding.EncodedLen(maxEnvelope) {
		return nil, nil, ErrInvalid
	}
	env, err := base64.StdEncoding.DecodeString(token)
	if err != nil || len(env) < headerLen+nonceLen+chacha20poly1305.Overhead || env[0] != envVersion {
		return nil, nil, ErrInvalid
	}
	k := r.key(binary.BigEndian.Uint32(env[1:5]))
	if k == nil || !validAccessKeyID(string(env[5:headerLen])) {
		return nil, nil, ErrInvalid
	}
	return env, k, nil
}

// maxEnvelope bounds the size of a token Open will decode (64 KiB), so a huge header is cheap to refuse.
const maxEnvelope = 64 << 10

// Open authenticates and decrypts token and returns its session. It returns ErrInvalid for anything that
// was not sealed by a key of this ring (tampered, truncated, retired key) and ErrExpired, only after the
// token has been authenticated, when now is at or past its expiration.
func (r *Ring) Open(token string, now time.Time) (*Session, error) {
	env, k, err := r.envelope(token)
	if err != nil {
		return nil, err
	}
	return openEnvelope(env, k, now)
}

func openEnvelope(env []byte, k *Key, now time.Time) (*Session, error) {
	nonce := env[headerLen : headerLen+nonceLen]
	// Decrypt a copy: the envelope itself is still needed to derive the secret.
	ct := env[headerLen+nonceLen:]
	plain, err := k.aead.Open(make([]byte, 0, len(ct)), nonce, ct, env[:headerLen])
	if err != nil {
		return nil, ErrInvalid
	}
	s, err := decodeSession(plain)
	if err != nil {
		// Sealed by us but undecodable: a bug or a format change, never a client's doing. Fail closed.
		return nil, ErrInvalid
	}
	s.AccessKeyID = string(env[5:headerLen])
	if !now.Before(s.Expiration) {
		return nil, ErrExpired
	}
	return s, nil
}

// Secret returns the temporary secret access key of token, or ErrInvalid if no key of the ring can have
// sealed it. It does not authenticate the token: call Open for that (Credentials does both).
func (r *Ring) Secret(token string) (string, error) {
	env, k, err := r.envelope(token)
	if err != nil {
		return "", err
	}
	return deriveSecret(k, env), nil
}

// Credentials opens token for a request whose credential scope names accessKeyID and returns the session
// and the secret to verify the request's signature with. A token presented with another access key id is
// ErrInvalid, as AWS answers a mismatched pair.
func (r *Ring) Credentials(token, accessKeyID string, now time.Time) (*Session, []byte, error) {
	env, k, err := r.envelope(token)
	if err != nil {
		return nil, nil, err
	}
	s, err := openEnvelope(env, k, now)
	if err != nil {
		return nil, nil, err
	}
	if subtle.ConstantTimeCompare([]byte(s.AccessKeyID), []byte(accessKeyID)) != 1 {
		return nil, nil, ErrInvalid
	}
	return s, []byte(deriveSecret(k, env)), nil
}

// ringVersion is the first byte of MarshalBinary's output.
const ringVersion = 1

// MarshalBinary serializes the ring, key material included: the caller must encrypt the result (under
// the master key) before storing it.
//
//	version(1) | active id(4) | count(uvarint) | per key: id(4) created(varint) deactivated(varint) material(32)
func (r *Ring) MarshalBinary() ([]byte, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	b := []byte{ringVersion}
	b = binary.BigEndian.AppendUint32(b, r.active)
	b = binary.AppendUvarint(b, uint64(len(r.keys)))
	ids := make([]uint32, 0, len(r.keys))
	for id := range r.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		k := r.keys[id]
		b = binary.BigEndian.AppendUint32(b, id)
		b = binary.AppendVarint(b, k.Created.Unix())
		var d int64
		if !k.Deactivated.IsZero() {
			d = k.Deactivated.Unix()
		}
		b = binary.AppendVarint(b, d)
		b = append(b, k.material[:]...)
	}
	return b, nil
}

// UnmarshalBinary replaces the ring's keys with those serialized by MarshalBinary. The active key must be
// among them.
func (r *Ring) UnmarshalBinary(b []byte) error {
	bad := errors.New("token: malformed key ring")
	if len(b) < 5 || b[0] != ringVersion {
		return bad
	}
	active := binary.BigEndian.Uint32(b[1:5])
	b = b[5:]
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b))/(4+1+1+KeySize) {
		return bad
	}
	b = b[w:]
	keys := make(map[uint32]*Key, n)
	for range n {
		if len(b) < 4 {
			return bad
		}
		id := binary.BigEndian.Uint32(b)
		b = b[4:]
		created, w1 := binary.Varint(b)
		if w1 <= 0 {
			return bad
		}
		b = b[w1:]
		deact, w2 := binary.Varint(b)
		if w2 <= 0 || len(b[w2:]) < KeySize {
			return bad
		}
		b = b[w2:]
		var m [KeySize]byte
		copy(m[:], b)
		b = b[KeySize:]
		if _, dup := keys[id]; dup {
			return bad
		}
		k, err := newKey(id, time.Unix(created, 0), m)
		if err != nil {
			return err
		}
		if deact != 0 {
			k.Deactivated = time.Unix(deact, 0).UTC()
		}
		keys[id] = k
	}
	if len(b) != 0 || keys[active] == nil {
		return bad
	}
	r.mu.Lock()
	r.keys, r.active = keys, active
	r.mu.Unlock()
	return nil
}
