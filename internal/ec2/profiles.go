package ec2

import (
	"context"
	"errors"
	"fmt"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/store"
)

// kindInstanceProfile is IAM's instance-profile record kind (store.KindInstanceProfile, keyed by name, Data
// {"name","id","path","roles":[role names]}).
const kindInstanceProfile store.Kind = "instance-profile"

// storedProfile is the part of IAM's instance-profile record the exchange reads.
type storedProfile struct {
	Name  string   `json:"name"`
	ID    string   `json:"id"`
	Path  string   `json:"path"`
	Roles []string `json:"roles"`
}

type profile struct {
	Name, ARN, ID string
	role          *role // nil when the profile holds no role
}

type role struct {
	Name, ARN, ID, TrustPolicy string
}

// loadProfile reads an instance profile and its role (an instance profile holds at most one).
func loadProfile(ctx context.Context, r store.Reader, partition, account, name string) (*profile, error) {
	var sp storedProfile
	if _, err := store.GetJSON(ctx, r, kindInstanceProfile, account, name, &sp); err != nil {
		return nil, err
	}
	path := sp.Path
	if path == "" {
		path = "/"
	}
	p := &profile{Name: sp.Name, ID: sp.ID, ARN: arn.InstanceProfile(partition, account, path, sp.Name).String()}
	if len(sp.Roles) == 0 {
		return p, nil
	}
	var ro store.Role
	if _, err := store.GetJSON(ctx, r, store.KindRole, account, sp.Roles[0], &ro); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return p, nil
		}
		return nil, fmt.Errorf("ec2: role %s of instance profile %s: %w", sp.Roles[0], sp.Name, err)
	}
	rpath := ro.Path
	if rpath == "" {
		rpath = "/"
	}
	p.role = &role{Name: ro.Name, ID: ro.ID, TrustPolicy: ro.TrustPolicy, ARN: arn.Role(partition, account, rpath, ro.Name).String()}
	return p, nil
}
