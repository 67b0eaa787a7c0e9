package iam

import (
	"context"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store"
)

// keyOwner resolves the user an access-key call is about: the named user, or the caller when no name is given
// (a user's own keys; for root, the root's keys).
func (s *Service) keyOwner(ctx context.Context, r store.Reader, action, name string) (string, error) {
	p, err := caller(ctx)
	if err != nil {
		return "", err
	}
	if name == "" {
		switch p.Type {
		case authz.IAMUser:
			name = p.Name
		case authz.Root:
			return "", s.authorize(ctx, action, p.ARN, nil)
		default:
			return "", iamapi.ValidationError("Must specify userName when calling with non-User credentials")
		}
	}
	u, _, err := s.loadUser(ctx, r, action, name)
	if err != nil {
		return "", err
	}
	return u.Name, nil
}

// CreateAccessKey creates an access key (AKIA…) for a user, two at most. The secret is returned once and stored
// only sealed under the master key.
func (s *Service) CreateAccessKey(ctx context.Context, in *iamapi.CreateAccessKeyInput) (*iamapi.CreateAccessKeyOutput, error) {
	var out *iamapi.AccessKey
	respondWith(ctx, func() any { return &iamapi.CreateAccessKeyOutput{AccessKey: out} })
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		user, err := s.keyOwner(ctx, tx, "CreateAccessKey", in.UserName)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		prefix := user + "/"
		if user == "" {
			prefix = rootKeyPrefix
		}
		if n, err := tx.Count(ctx, store.KindAccessKey, p.Account, prefix); err != nil {
			return err
		} else if n >= quotaAccessKeysPerUser {
			return limitExceeded("AccessKeysPerUser", quotaAccessKeysPerUser)
		}
		id, secret := randomID(prefixAccessKey, accessKeyRandom), newSecretAccessKey()
		if err := createAccessKey(ctx, tx, s.box, p.Account, user, id, secret); err != nil {
			return err
		}
		out = &iamapi.AccessKey{UserName: user, AccessKeyId: id, Status: statusActive, SecretAccessKey: secret, CreateDate: ptr(tx.Now())}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateAccessKeyOutput{AccessKey: out}, nil
}

// ListAccessKeys lists a user's access keys (never their secrets).
func (s *Service) ListAccessKeys(ctx context.Context, in *iamapi.ListAccessKeysInput) (*iamapi.ListAccessKeysOutput, error) {
	user, err := s.keyOwner(ctx, s.store, "ListAccessKeys", in.UserName)
	if err != nil {
		return nil, err
	}
	p, _ := caller(ctx)
	prefix := user + "/"
	if user == "" {
		prefix = rootKeyPrefix
	}
	keys, next, err := pageOf[store.AccessKey](ctx, s.store, store.KindAccessKey, p.Account, prefix, in.Marker, maxItems(in.MaxItems), nil)
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListAccessKeysOutput{AccessKeyMetadata: []iamapi.AccessKeyMetadata{}, IsTruncated: ptr(next != ""), Marker: next}
	for _, k := range keys {
		out.AccessKeyMetadata = append(out.AccessKeyMetadata, iamapi.AccessKeyMetadata{UserName: k.UserName, AccessKeyId: k.ID, Status: iamapi.StatusType(k.Status), CreateDate: ptr(k.Created)})
	}
	return out, nil
}

// loadKey loads one of the owner's access keys, or NoSuchEntity.
func (s *Service) loadKey(ctx context.Context, tx store.Reader, account, user, id string) (*store.AccessKey, store.Record, error) {
	var k store.AccessKey
	rec, err := load(ctx, tx, store.KindAccessKey, account, accessKeyRecordKey(user, id), &k)
	if isNotFound(err) {
		return nil, rec, iamapi.NoSuchEntity("The Access Key with id %s cannot be found.", id)
	}
	return &k, rec, err
}

// UpdateAccessKey makes an access key Active or Inactive.
func (s *Service) UpdateAccessKey(ctx context.Context, in *iamapi.UpdateAccessKeyInput) (*iamapi.UpdateAccessKeyOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		user, err := s.keyOwner(ctx, tx, "UpdateAccessKey", in.UserName)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		k, rec, err := s.loadKey(ctx, tx, p.Account, user, in.AccessKeyId)
		if err != nil {
			return err
		}
		k.Status = string(in.Status)
		return update(ctx, tx, rec, k)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateAccessKeyOutput{}, nil
}

// DeleteAccessKey deletes an access key.
func (s *Service) DeleteAccessKey(ctx context.Context, in *iamapi.DeleteAccessKeyInput) (*iamapi.DeleteAccessKeyOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		user, err := s.keyOwner(ctx, tx, "DeleteAccessKey", in.UserName)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		if _, _, err := s.loadKey(ctx, tx, p.Account, user, in.AccessKeyId); err != nil {
			return err
		}
		return tx.Delete(ctx, store.KindAccessKey, p.Account, accessKeyRecordKey(user, in.AccessKeyId))
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteAccessKeyOutput{}, nil
}

// GetAccessKeyLastUsed reports when and where an access key was last used. Any principal of the account may ask
// about its keys; AWS authorizes it on the key's user.
func (s *Service) GetAccessKeyLastUsed(ctx context.Context, in *iamapi.GetAccessKeyLastUsedInput) (*iamapi.GetAccessKeyLastUsedOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	rec, err := s.store.GetByID(ctx, store.KindAccessKey, in.AccessKeyId)
	if isNotFound(err) || (err == nil && rec.Account != p.Account) {
		// Another account's key is reported exactly like a missing one.
		if err := s.authorize(ctx, "GetAccessKeyLastUsed", "*", nil); err != nil {
			return nil, err
		}
		return nil, iamapi.NoSuchEntity("The Access Key with id %s cannot be found.", in.AccessKeyId)
	}
	if err != nil {
		return nil, err
	}
	var k store.AccessKey
	if _, err := load(ctx, s.store, store.KindAccessKey, rec.Account, rec.Key, &k); err != nil {
		return nil, err
	}
	// A root key is the root user's: authorized on the root's ARN, not the caller's, so a self-service policy
	// ("your own user") does not reveal the root key's use.
	resource := arn.Root(s.partition, p.Account).String()
	if k.UserName != "" {
		var u store.User
		if _, err := load(ctx, s.store, store.KindUser, p.Account, k.UserName, &u); err != nil {
			return nil, err
		}
		resource = s.userARN(p.Account, u.Path, u.Name)
	}
	if err := s.authorize(ctx, "GetAccessKeyLastUsed", resource, nil); err != nil {
		return nil, err
	}
	last := &iamapi.AccessKeyLastUsed{ServiceName: "N/A", Region: "N/A"}
	if !k.LastUsed.IsZero() {
		last = &iamapi.AccessKeyLastUsed{LastUsedDate: ptr(k.LastUsed), ServiceName: k.LastUsedService, Region: k.LastUsedRegion}
	}
	return &iamapi.GetAccessKeyLastUsedOutput{UserName: k.UserName, AccessKeyLastUsed: last}, nil
}
