package authz

import (
	"context"
	"fmt"

	"github.com/persona-iam/persona/policy"
)

// EntityPolicies are the identity-side policies of one IAM user, group or role, compiled by the same cache that
// enforces requests. Each policy's ID says where it came from: "user/NAME/POLICY", "group/NAME/POLICY" or
// "role/NAME/POLICY" for an inline policy, the policy's ARN for a managed policy and for the boundary.
type EntityPolicies struct {
	Identity []*policy.Policy
	// Boundary is the entity's permissions boundary, or nil (groups have none).
	Boundary *policy.Policy
}

// EntityPolicies gathers every identity-based policy that applies to the user, group or role (kind "user", "group"
// or "role") named name in account: its inline and attached managed policies, for a user those of its groups too,
// and its permissions boundary. The policy simulator uses it so that it decides with exactly what enforcement uses.
func (a *Authorizer) EntityPolicies(ctx context.Context, account, kind, name string) (*EntityPolicies, error) {
	var s *identitySet
	var err error
	switch kind {
	case "user":
		s, err = a.gather(ctx, &Principal{Type: IAMUser, Account: account, Name: name})
	case "role":
		s, err = a.gather(ctx, &Principal{Type: AssumedRole, Account: account, Name: name})
	case "group":
		s = &identitySet{}
		err = a.addPrincipalPolicies(ctx, s, account, "group", name)
	default:
		return nil, fmt.Errorf("authz: no policies for entity kind %q", kind)
	}
	if err != nil {
		return nil, err
	}
	return &EntityPolicies{Identity: s.identity, Boundary: s.boundary}, nil
}
