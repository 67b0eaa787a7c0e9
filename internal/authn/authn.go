// Package authn turns a SigV4-signed request into a principal: it finds the access key, opens its sealed secret,
// verifies the signature and names who signed.
package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/token"
	"github.com/persona-iam/persona/sigv4"
)

// Config holds the authenticator's dependencies.
type Config struct {
	Store store.Store
	Box   *secrets.Box
	// Generation reports a number that changes whenever stored identities may have changed (the authorizer's);
	// cached keys are dropped when it moves.
	Generation func() int64
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Partition is the ARN partition; "aws" when empty.
	Partition string
	// Tokens is the session-token key ring that opens temporary credentials; without it every request carrying
	// X-Amz-Security-Token is refused.
	Tokens *token.Ring
	// RefreshTokens, when set, reloads the ring on demand when a token does not open (the key that sealed it may
	// be newer than this node's copy); it reports whether it reloaded.
	RefreshTokens func(ctx context.Context) bool
}

// Authenticator verifies requests. It caches each access key's opened secret and principal until the store
// changes, so a verified request costs no store read.
type Authenticator struct {
	cfg      Config
	verifier sigv4.Verifier

	mu    sync.Mutex
	gen   int64
	cache map[string]*cachedKey
}

type cachedKey struct {
	secret    []byte
	principal authz.Principal
	active    bool
}

// maxCachedKeys bounds the key cache; past it, the cache starts again.
const maxCachedKeys = 50000

// New returns an Authenticator.
func New(cfg Config) *Authenticator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Partition == "" {
		cfg.Partition = "aws"
	}
	if cfg.Generation == nil {
		cfg.Generation = func() int64 { return 0 }
	}
	return &Authenticator{cfg: cfg, cache: map[string]*cachedKey{}}
}

// Authenticate verifies r's SigV4 signature and returns who signed it and the service its credential scope names.
// Errors are *sigv4.Error values with AWS's codes (MissingAuthenticationToken, InvalidClientTokenId,
// SignatureDoesNotMatch, …); an unknown and an inactive key are answered alike.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request, body []byte) (*authz.Principal, string, error) {
	req, err := sigv4.Parse(r, a.cfg.Now())
	if err != nil {
		return nil, "", err
	}
	if req.SecurityToken != "" {
		return a.authenticateSession(ctx, r, req, body)
	}
	k, err := a.key(ctx, req.Credential.AccessKeyID)
	if err != nil {
		return nil, "", err
	}
	if k == nil || !k.active {
		return nil, "", sigv4.InvalidClientTokenID()
	}
	if err := a.verifier.Verify(r, req, body, k.secret); err != nil {
		return nil, "", err
	}
	p := k.principal
	p.AccessKeyID = req.Credential.AccessKeyID
	return &p, req.Credential.Service, nil
}

// key returns the cached key, loading it on a miss; nil when no such key exists.
func (a *Authenticator) key(ctx context.Context, id string) (*cachedKey, error) {
	gen := a.cfg.Generation()
	a.mu.Lock()
	if gen != a.gen || len(a.cache) >= maxCachedKeys {
		a.cache, a.gen = map[string]*cachedKey{}, gen
	}
	k, ok := a.cache[id]
	a.mu.Unlock()
	if ok {
		return k, nil
	}
	k, err := a.load(ctx, id)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	if a.gen == gen {
		a.cache[id] = k
	}
	a.mu.Unlock()
	return k, nil
}

func (a *Authenticator) load(ctx context.Context, id string) (*cachedKey, error) {
	rec, err := a.cfg.Store.GetByID(ctx, store.KindAccessKey, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ak store.AccessKey
	if err := json.Unmarshal(rec.Data, &ak); err != nil {
		return nil, fmt.Errorf("authn: corrupt access key %s: %w", id, err)
	}
	secret, err := a.cfg.Box.Open(ak.Secret, []byte(ak.ID))
	if err != nil {
		return nil, fmt.Errorf("authn: access key %s: %w", id, err)
	}
	k := &cachedKey{secret: secret, active: ak.Status == "Active"}
	if ak.UserName == "" {
		k.principal = authz.Principal{
			Type:    authz.Root,
			Account: rec.Account,
			ARN:     arn.Root(a.cfg.Partition, rec.Account).String(),
			UserID:  rec.Account,
		}
		return k, nil
	}
	var u store.User
	if _, err := store.GetJSON(ctx, a.cfg.Store, store.KindUser, rec.Account, ak.UserName, &u); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil // a key whose user is gone authenticates nobody
		}
		return nil, err
	}
	k.principal = authz.Principal{
		Type:    authz.IAMUser,
		Account: rec.Account,
		ARN:     arn.User(a.cfg.Partition, rec.Account, u.Path, u.Name).String(),
		UserID:  u.ID,
		Name:    u.Name,
	}
	return k, nil
}
