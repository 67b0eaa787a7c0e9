package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// GetJSON reads the record of kind, account and key and decodes its JSON Data into v. It returns the record, so
// a caller can Update it, and ErrNotFound unchanged.
func GetJSON(ctx context.Context, r Reader, kind Kind, account, key string, v any) (Record, error) {
	rec, err := r.Get(ctx, kind, account, key)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(rec.Data, v); err != nil {
		return rec, fmt.Errorf("store: corrupt %s record %q: %w", kind, key, err)
	}
	return rec, nil
}

// ListJSON returns every record of kind and account under prefix, decoded from JSON, in key order. Use it for
// lists that quotas keep small (a principal's policies, a group's members).
func ListJSON[T any](ctx context.Context, r Reader, kind Kind, account, prefix string) ([]T, error) {
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
				return nil, fmt.Errorf("store: corrupt %s record %q: %w", kind, rec.Key, err)
			}
			out = append(out, v)
		}
		if page.Next == "" {
			return out, nil
		}
		marker = page.Next
	}
}
