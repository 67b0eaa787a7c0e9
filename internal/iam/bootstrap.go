package iam

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"

	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/store"
)

// BootstrapOptions are the optional fixed identities of the first account, for automation (PERSONA_ACCOUNT_ID,
// PERSONA_ROOT_ACCESS_KEY_ID, PERSONA_ROOT_SECRET_ACCESS_KEY).
type BootstrapOptions struct {
	AccountID       string
	RootAccessKeyID string
	RootSecret      secrets.Secret
}

// RootCredentials are the first account's root access key. Secret is shown once, on the start that created it.
type RootCredentials struct {
	AccountID   string
	AccessKeyID string
	Secret      secrets.Secret
	// Created reports whether this start created the key (and so the secret may be shown).
	Created bool
}

// defaultAccountKey names the server-state record that holds the first account's id.
const defaultAccountKey = "default-account"

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	accessKeyPattern = regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`)
)

// Bootstrap makes sure the store has its first account and that account's root access key, creating them on the
// first start. It is safe to run on every start and on several nodes at once.
func Bootstrap(ctx context.Context, st store.Store, box *secrets.Box, opts BootstrapOptions) (*RootCredentials, error) {
	if opts.AccountID != "" && !accountIDPattern.MatchString(opts.AccountID) {
		return nil, fmt.Errorf("PERSONA_ACCOUNT_ID %q must be 12 digits", opts.AccountID)
	}
	if (opts.RootAccessKeyID == "") != (opts.RootSecret == "") {
		return nil, errors.New("PERSONA_ROOT_ACCESS_KEY_ID and PERSONA_ROOT_SECRET_ACCESS_KEY must be given together")
	}
	if opts.RootAccessKeyID != "" && !accessKeyPattern.MatchString(opts.RootAccessKeyID) {
		return nil, fmt.Errorf("PERSONA_ROOT_ACCESS_KEY_ID %q must be AKIA followed by 16 characters A-Z or 2-7", opts.RootAccessKeyID)
	}
	if opts.RootSecret != "" && len(opts.RootSecret.Reveal()) < 16 {
		return nil, errors.New("PERSONA_ROOT_SECRET_ACCESS_KEY must be at least 16 characters")
	}
	var creds *RootCredentials
	err := st.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		creds = nil
		account, err := ensureAccount(ctx, tx, opts.AccountID)
		if err != nil {
			return err
		}
		if opts.RootAccessKeyID != "" {
			creds, err = ensureGivenRootKey(ctx, tx, box, account, opts)
			return err
		}
		page, err := tx.List(ctx, store.KindAccessKey, account, rootKeyPrefix, "", 1)
		if err != nil {
			return err
		}
		if len(page.Records) > 0 {
			var k store.AccessKey
			if err := json.Unmarshal(page.Records[0].Data, &k); err != nil {
				return err
			}
			creds = &RootCredentials{AccountID: account, AccessKeyID: k.ID}
			return nil
		}
		id, secret := randomID(prefixAccessKey, accessKeyRandom), newSecretAccessKey()
		if err := createAccessKey(ctx, tx, box, account, "", id, secret); err != nil {
			return err
		}
		creds = &RootCredentials{AccountID: account, AccessKeyID: id, Secret: secrets.Secret(secret), Created: true}
		return nil
	})
	return creds, err
}

// rootKeyPrefix starts the keys of root access key records ("/" + id): user names cannot start with "/".
const rootKeyPrefix = "/"

func accessKeyRecordKey(userName, id string) string { return userName + "/" + id }

func ensureAccount(ctx context.Context, tx store.Tx, want string) (string, error) {
	rec, err := tx.Get(ctx, store.KindServerState, "", defaultAccountKey)
	switch {
	case err == nil:
		id := string(rec.Data)
		if want != "" && want != id {
			return "", fmt.Errorf("the store already belongs to account %s, not PERSONA_ACCOUNT_ID %s", id, want)
		}
		return id, nil
	case !errors.Is(err, store.ErrNotFound):
		return "", err
	}
	id := want
	if id == "" {
		id = randomAccountID()
	}
	if err := createAccount(ctx, tx, id, "persona"); err != nil {
		return "", err
	}
	return id, tx.Create(ctx, store.Record{Kind: store.KindServerState, Key: defaultAccountKey, Data: []byte(id)})
}

func createAccount(ctx context.Context, tx store.Tx, id, name string) error {
	data, err := json.Marshal(store.Account{ID: id, Name: name, Created: tx.Now()})
	if err != nil {
		return err
	}
	return tx.Create(ctx, store.Record{Kind: store.KindAccount, Key: id, Data: data})
}

func ensureGivenRootKey(ctx context.Context, tx store.Tx, box *secrets.Box, account string, opts BootstrapOptions) (*RootCredentials, error) {
	creds := &RootCredentials{AccountID: account, AccessKeyID: opts.RootAccessKeyID}
	rec, err := tx.GetByID(ctx, store.KindAccessKey, opts.RootAccessKeyID)
	if errors.Is(err, store.ErrNotFound) {
		return creds, createAccessKey(ctx, tx, box, account, "", opts.RootAccessKeyID, opts.RootSecret.Reveal())
	}
	if err != nil {
		return nil, err
	}
	if rec.Account != account || rec.Key != accessKeyRecordKey("", opts.RootAccessKeyID) {
		return nil, fmt.Errorf("access key %s already belongs to another identity", opts.RootAccessKeyID)
	}
	var k store.AccessKey
	if err := json.Unmarshal(rec.Data, &k); err != nil {
		return nil, err
	}
	// The environment is authoritative for the root secret, as MinIO treats its root user: a changed secret
	// replaces the stored one.
	k.Secret = box.Seal([]byte(opts.RootSecret.Reveal()), []byte(k.ID))
	k.Status = statusActive
	data, err := json.Marshal(k)
	if err != nil {
		return nil, err
	}
	rec.Data = data
	return creds, tx.Update(ctx, rec)
}

const (
	statusActive   = "Active"
	statusInactive = "Inactive"
)

func createAccessKey(ctx context.Context, tx store.Tx, box *secrets.Box, account, userName, id, secret string) error {
	k := store.AccessKey{
		ID:       id,
		UserName: userName,
		Status:   statusActive,
		Secret:   box.Seal([]byte(secret), []byte(id)),
		Created:  tx.Now(),
	}
	data, err := json.Marshal(k)
	if err != nil {
		return err
	}
	return tx.Create(ctx, store.Record{Kind: store.KindAccessKey, Account: account, Key: accessKeyRecordKey(userName, id), ID: id, Data: data})
}

// randomAccountID returns 12 random digits not starting with 0.
func randomAccountID() string {
	n, err := rand.Int(rand.Reader, big.NewInt(9e11))
	if err != nil {
		panic("iam: no randomness: " + err.Error())
	}
	return fmt.Sprintf("%012d", n.Int64()+1e11)
}
