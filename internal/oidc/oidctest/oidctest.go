// Package oidctest is an OpenID Connect issuer for tests: an httptest server publishing a discovery document and a
// JSON Web Key Set, with its own RSA and EC keys, key rotation, and a signer of ID tokens.
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Key is one of the issuer's signing keys.
type Key struct {
	ID   string
	Alg  jose.SignatureAlgorithm
	Priv crypto.Signer
}

// Issuer is a test OIDC issuer.
type Issuer struct {
	Server *httptest.Server
	// URL is the issuer URL (the server's URL), the iss of its tokens.
	URL string

	mu        sync.Mutex
	published []*Key
	n         int
	// JWKSFetches counts GETs of the key set, Requests every request.
	JWKSFetches atomic.Int64
	Requests    atomic.Int64
	// Fail makes every request fail with HTTP 500 while set.
	Fail atomic.Bool
}

// New starts an issuer over TLS (tls true) or plain HTTP, publishing an RSA key (RS256) and an EC P-256 key
// (ES256). Close it with Close.
func New(tls bool) (*Issuer, error) {
	iss := &Issuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if iss.Fail.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]any{
			"issuer":                                iss.URL,
			"jwks_uri":                              iss.URL + "/keys",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		if iss.Fail.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		iss.JWKSFetches.Add(1)
		iss.mu.Lock()
		set := jose.JSONWebKeySet{}
		for _, k := range iss.published {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Priv.Public(), KeyID: k.ID, Algorithm: string(k.Alg), Use: "sig"})
		}
		iss.mu.Unlock()
		writeJSON(w, set)
	})
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iss.Requests.Add(1)
		mux.ServeHTTP(w, r)
	})
	if tls {
		iss.Server = httptest.NewTLSServer(counted)
	} else {
		iss.Server = httptest.NewServer(counted)
	}
	iss.URL = iss.Server.URL
	if _, err := iss.AddKey(jose.RS256); err != nil {
		return nil, err
	}
	if _, err := iss.AddKey(jose.ES256); err != nil {
		return nil, err
	}
	return iss, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Close stops the server.
func (iss *Issuer) Close() { iss.Server.Close() }

// NewKey returns a fresh key for alg (RS256/384/512 or ES256/384/512) that the issuer does not publish.
func (iss *Issuer) NewKey(alg jose.SignatureAlgorithm) (*Key, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.ES384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jose.ES512:
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	default:
		return nil, fmt.Errorf("oidctest: unsupported algorithm %s", alg)
	}
	if err != nil {
		return nil, err
	}
	iss.mu.Lock()
	iss.n++
	id := fmt.Sprintf("key-%d", iss.n)
	iss.mu.Unlock()
	return &Key{ID: id, Alg: alg, Priv: priv}, nil
}

// AddKey creates a key and publishes it.
func (iss *Issuer) AddKey(alg jose.SignatureAlgorithm) (*Key, error) {
	k, err := iss.NewKey(alg)
	if err != nil {
		return nil, err
	}
	iss.mu.Lock()
	iss.published = append(iss.published, k)
	iss.mu.Unlock()
	return k, nil
}

// Keys returns the published keys.
func (iss *Issuer) Keys() []*Key {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return append([]*Key(nil), iss.published...)
}

// Rotate replaces every published key by one new key of alg, and returns it.
func (iss *Issuer) Rotate(alg jose.SignatureAlgorithm) (*Key, error) {
	k, err := iss.NewKey(alg)
	if err != nil {
		return nil, err
	}
	iss.mu.Lock()
	iss.published = []*Key{k}
	iss.mu.Unlock()
	return k, nil
}

// Claims returns standard claims for a token of this issuer: iss, sub, aud, iat now, exp in an hour.
func (iss *Issuer) Claims(sub, aud string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": iss.URL, "sub": sub, "aud": aud, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

// Sign returns a compact JWS of claims signed with key (its id in the kid header).
func Sign(key *Key, claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.Alg, Key: jose.JSONWebKey{Key: key.Priv, KeyID: key.ID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}
