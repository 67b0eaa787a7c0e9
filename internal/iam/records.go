package iam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/persona-iam/persona/internal/store"
)

// load reads the record into v; see store.GetJSON.
func load(ctx context.Context, r store.Reader, kind store.Kind, account, key string, v any) (store.Record, error) {
	return store.GetJSON(ctx, r, kind, account, key, v)
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

func marshal(v any) ([]byte, error) { return json.Marshal(v) }
