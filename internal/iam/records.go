package iam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/persona-iam/persona/internal/store"
)

// load reads the record of kind, account and key into v. It returns the record (for Update) and store.ErrNotFound
// unchanged, so callers turn it into the operation's NoSuchEntity message.
func load(ctx context.Context, r store.Reader, kind store.Kind, account, key string, v any) (store.Record, error) {
	rec, err := r.Get(ctx, kind, account, key)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(rec.Data, v); err != nil {
		return rec, fmt.Errorf("iam: corrupt %s record %q: %w", kind, key, err)
	}
	return rec, nil
}

// create stores v as a new record.
func create(ctx context.Context, tx store.Tx, kind store.Kind, account, key, id string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Create(ctx, store.Record{Kind: kind, Account: account, Key: key, ID: id, Data: data})
}

// update replaces the record's data with v.
func update(ctx context.Context, tx store.Tx, rec store.Record, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	rec.Data = data
	return tx.Update(ctx, rec)
}

// listAll returns every record of kind and account under prefix, decoded. IAM's quotas bound these lists (5,000
// users, 1,000 roles by default, 10 attachments per principal), so reading them whole is fine.
func listAll[T any](ctx context.Context, r store.Reader, kind store.Kind, account, prefix string) ([]T, error) {
	var out []T
	marker := ""
	for {
		page, err := r.List(ctx, kind, account, prefix, marker, 1000)
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Records {
			var v T
			if err := json.Unmarshal(rec.Data, &v); err != nil {
				return nil, fmt.Errorf("iam: corrupt %s record %q: %w", kind, rec.Key, err)
			}
			out = append(out, v)
		}
		if page.Next == "" {
			return out, nil
		}
		marker = page.Next
	}
}

// pageOf lists up to maxItems records of kind after marker whose decoded value passes keep, as IAM's
// Marker/MaxItems pagination does. The returned marker is "" when nothing is left.
func pageOf[T any](ctx context.Context, r store.Reader, kind store.Kind, account, prefix, marker string, maxItems int, keep func(*T) bool) ([]T, string, error) {
	var out []T
	lastKept := ""
	for {
		page, err := r.List(ctx, kind, account, prefix, marker, maxItems+1)
		if err != nil {
			return nil, "", err
		}
		for _, rec := range page.Records {
			var v T
			if err := json.Unmarshal(rec.Data, &v); err != nil {
				return nil, "", fmt.Errorf("iam: corrupt %s record %q: %w", kind, rec.Key, err)
			}
			if keep != nil && !keep(&v) {
				continue
			}
			if len(out) == maxItems {
				// One more exists: the page ends at the last record kept.
				return out, lastKept, nil
			}
			out = append(out, v)
			lastKept = strings.ToLower(rec.Key)
		}
		if page.Next == "" {
			return out, "", nil
		}
		marker = page.Next
	}
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
func isExists(err error) bool   { return errors.Is(err, store.ErrAlreadyExists) }
