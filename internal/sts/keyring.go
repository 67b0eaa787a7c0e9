package sts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/token"
)

// KeyringKey names the server-state record (Account "") that holds the session-token key ring, sealed under the
// master key.
const KeyringKey = "keyring"

// keyringAD binds the sealed ring to its purpose: a sealed value of another kind cannot be swapped in for it.
var keyringAD = []byte("persona session-token keyring v1")

// Keyring is the node's copy of the session-token key ring kept in the store. Every node of a deployment loads the
// same ring from the shared store, so a token sealed by one node opens on any other; Refresh (or Watch) picks up a
// rotation made elsewhere.
type Keyring struct {
	st   store.Store
	box  *secrets.Box
	ring *token.Ring

	mu      sync.Mutex
	seq     int64 // change sequence seen at the last refresh
	version int64 // version of the record loaded
	forced  time.Time
}

// minForcedRefresh spaces on-demand refreshes, so that requests with made-up tokens cannot turn into a store query
// each.
const minForcedRefresh = 200 * time.Millisecond

// RefreshNow refreshes the ring on demand, when a token names a key this node does not have (another node may
// have rotated the ring a moment ago); it does nothing if it ran less than 200ms ago. It reports whether it
// refreshed.
func (k *Keyring) RefreshNow(ctx context.Context) bool {
	k.mu.Lock()
	if time.Since(k.forced) < minForcedRefresh {
		k.mu.Unlock()
		return false
	}
	k.forced = time.Now()
	k.mu.Unlock()
	return k.Refresh(ctx) == nil
}

// OpenKeyring loads the ring from st, creating and storing a ring with one fresh key on the first start. It is safe
// to call on several nodes at once: exactly one ring is stored and all of them load it.
func OpenKeyring(ctx context.Context, st store.Store, box *secrets.Box) (*Keyring, error) {
	if st == nil || box == nil {
		return nil, errors.New("sts: keyring needs a store and a master key box")
	}
	k := &Keyring{st: st, box: box, ring: &token.Ring{}}
	seq, err := st.ChangeSeq(ctx)
	if err != nil {
		return nil, err
	}
	rec, err := st.Get(ctx, store.KindServerState, "", KeyringKey)
	if errors.Is(err, store.ErrNotFound) {
		err = st.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
			if _, err := tx.Get(ctx, store.KindServerState, "", KeyringKey); err == nil {
				return nil // another node created it first
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			r, err := token.NewRing()
			if err != nil {
				return err
			}
			data, err := sealRing(box, r)
			if err != nil {
				return err
			}
			return tx.Create(ctx, store.Record{Kind: store.KindServerState, Key: KeyringKey, Data: data})
		})
		if err != nil && !errors.Is(err, store.ErrAlreadyExists) {
			return nil, fmt.Errorf("sts: creating the token keyring: %w", err)
		}
		rec, err = st.Get(ctx, store.KindServerState, "", KeyringKey)
	}
	if err != nil {
		return nil, fmt.Errorf("sts: loading the token keyring: %w", err)
	}
	if err := k.install(rec); err != nil {
		return nil, err
	}
	k.seq = seq
	return k, nil
}

// Ring returns the ring. It is the same *token.Ring for the Keyring's whole life; refreshes replace its keys in
// place, so callers may keep it.
func (k *Keyring) Ring() *token.Ring { return k.ring }

func (k *Keyring) install(rec store.Record) error {
	plain, err := k.box.Open(rec.Data, keyringAD)
	if err != nil {
		// Fail closed: a ring that does not open under this master key is a misconfiguration (wrong key), and
		// starting with a fresh ring would silently invalidate every live session.
		return fmt.Errorf("sts: the token keyring does not open with this master key: %w", err)
	}
	if err := k.ring.UnmarshalBinary(plain); err != nil {
		return fmt.Errorf("sts: token keyring: %w", err)
	}
	k.version = rec.Version
	return nil
}

// Refresh reloads the ring when the store's change sequence has moved since the last refresh and the stored ring
// changed (another node or `persona keys rotate` rotated it). It costs one ChangeSeq call when nothing changed.
func (k *Keyring) Refresh(ctx context.Context) error {
	seq, err := k.st.ChangeSeq(ctx)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if seq == k.seq {
		return nil
	}
	rec, err := k.st.Get(ctx, store.KindServerState, "", KeyringKey)
	if err != nil {
		return err
	}
	if rec.Version != k.version {
		if err := k.install(rec); err != nil {
			return err
		}
	}
	k.seq = seq
	return nil
}

// Watch refreshes the ring every interval until ctx is done.
func (k *Keyring) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_ = k.Refresh(ctx) // a store hiccup keeps the current ring; the next tick retries
	}
}

// RotateResult says what RotateKeyring did.
type RotateResult struct {
	// Active is the id of the new active key.
	Active uint32
	// Pruned are the ids of keys dropped because no token they sealed can still be live.
	Pruned []uint32
	// Keys are the ring's keys after the rotation.
	Keys []token.Key
}

// RotateKeyring makes a new key the active one in the stored ring (creating the ring if there is none). Keys that
// stopped sealing more than token.MaxTokenLifetime ago are pruned; younger ones keep opening the tokens they sealed
// until those expire. Running nodes pick the new ring up on their next refresh.
func RotateKeyring(ctx context.Context, st store.Store, box *secrets.Box) (*RotateResult, error) {
	var res *RotateResult
	err := st.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		res = &RotateResult{}
		r := &token.Ring{}
		rec, err := tx.Get(ctx, store.KindServerState, "", KeyringKey)
		exists := err == nil
		switch {
		case exists:
			plain, err := box.Open(rec.Data, keyringAD)
			if err != nil {
				return fmt.Errorf("sts: the token keyring does not open with this master key: %w", err)
			}
			if err := r.UnmarshalBinary(plain); err != nil {
				return err
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if res.Active, err = r.Rotate(); err != nil {
			return err
		}
		res.Pruned = r.Prune()
		res.Keys, _ = r.Keys()
		data, err := sealRing(box, r)
		if err != nil {
			return err
		}
		if exists {
			rec.Data = data
			return tx.Update(ctx, rec)
		}
		return tx.Create(ctx, store.Record{Kind: store.KindServerState, Key: KeyringKey, Data: data})
	})
	return res, err
}

func sealRing(box *secrets.Box, r *token.Ring) ([]byte, error) {
	plain, err := r.MarshalBinary()
	if err != nil {
		return nil, err
	}
	sealed := box.Seal(plain, keyringAD)
	clear(plain)
	return sealed, nil
}
