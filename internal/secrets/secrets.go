// Package secrets keeps secret material safe: the master key that encrypts secrets at rest, a Box that seals and
// opens them, and a Secret string type that never prints itself.
package secrets

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// Secret is a string that must not be shown: its String, GoString and LogValue redact it, so printing a config or
// logging a struct that holds one is safe.
type Secret string

// Redacted is what a Secret prints as.
const Redacted = "[REDACTED]"

// String returns Redacted.
func (Secret) String() string { return Redacted }

// GoString returns Redacted.
func (Secret) GoString() string { return Redacted }

// LogValue returns Redacted, for log/slog.
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalText returns Redacted, so JSON and other encoders never write the secret.
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// Reveal returns the secret itself; call it only where the value is used, never to print it.
func (s Secret) Reveal() string { return string(s) }

// Equal reports whether s equals other, in constant time.
func (s Secret) Equal(other string) bool {
	return subtle.ConstantTimeCompare([]byte(s), []byte(other)) == 1
}

// KeySize is the size of a master key in bytes.
const KeySize = chacha20poly1305.KeySize

// Box seals and opens secrets with a master key (XChaCha20-Poly1305). The additional data binds a sealed value to
// its place (for example the access key id), so a ciphertext copied onto another record does not open.
type Box struct {
	aead interface {
		Seal(dst, nonce, plaintext, additionalData []byte) []byte
		Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error)
		NonceSize() int
	}
}

// ErrOpen means a sealed value did not open: wrong key, wrong additional data, or tampered.
var ErrOpen = errors.New("secrets: sealed value does not open with this master key")

// NewBox returns a Box for a 32-byte master key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secrets: master key must be %d bytes, got %d", KeySize, len(key))
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext bound to ad; the result holds a random nonce.
func (b *Box) Seal(plaintext, ad []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+chacha20poly1305.Overhead)
	if _, err := rand.Read(nonce); err != nil {
		panic("secrets: no randomness: " + err.Error())
	}
	return b.aead.Seal(nonce, nonce, plaintext, ad)
}

// Open decrypts what Seal produced with the same ad, or returns ErrOpen.
func (b *Box) Open(sealed, ad []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// MasterKeyFile is the name of the master key file in the data directory.
const MasterKeyFile = "master.key"

// LoadMasterKey returns the master key. In order: value (base64, e.g. from PERSONA_MASTER_KEY), the file at path
// (e.g. from PERSONA_MASTER_KEY_FILE), or dataDir/master.key, which is created with owner-only permissions when
// create is true and it does not exist.
func LoadMasterKey(value Secret, path, dataDir string, create bool) ([]byte, error) {
	if value != "" {
		return decodeKey(value.Reveal(), "PERSONA_MASTER_KEY")
	}
	if path == "" {
		path = filepath.Join(dataDir, MasterKeyFile)
	}
	b, err := os.ReadFile(path)
	if err == nil {
		return decodeKey(strings.TrimSpace(string(b)), path)
	}
	if !errors.Is(err, os.ErrNotExist) || !create {
		return nil, fmt.Errorf("secrets: reading master key: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	// O_EXCL: two processes starting at once must not each write a different key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadMasterKey("", path, dataDir, false)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return key, nil
}

func decodeKey(s, where string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("secrets: master key in %s must be %d bytes, base64-encoded", where, KeySize)
	}
	return key, nil
}
