package audit

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/policy"
)

// Unused returns the actions of catalog that the user or role principal's current identity policies grant on any
// resource ("*") and that it was not seen using (used, from Generate), sorted: permissions it holds and does not
// need, as far as the trail shows. Grants limited to named resources or to conditions are not judged (they are
// not granted on "*"), so the list errs towards leaving a permission out, never towards calling a used one unused.
func Unused(ctx context.Context, a *authz.Authorizer, principalARN string, used, catalog []string) ([]string, error) {
	who, err := arn.Parse(principalARN)
	if err != nil {
		return nil, fmt.Errorf("--principal %q is not an ARN: %w", principalARN, err)
	}
	kind, name, ok := strings.Cut(who.Resource, "/")
	if who.Service != "iam" || !ok || (kind != "user" && kind != "role") {
		return nil, fmt.Errorf("granted-but-unused permissions are reported for IAM users and roles, not %s", principalARN)
	}
	name = name[strings.LastIndexByte(name, '/')+1:]
	ep, err := a.EntityPolicies(ctx, who.AccountID, kind, name)
	if err != nil {
		return nil, err
	}
	set := &policy.Set{Identity: ep.Identity, Boundary: ep.Boundary}
	caller := policy.Caller{Type: policy.CallerUser, ARN: principalARN, Account: who.AccountID}
	if kind == "role" {
		caller = policy.Caller{Type: policy.CallerAssumedRole, ARN: "arn:" + who.Partition + ":sts::" + who.AccountID + ":assumed-role/" + name + "/unused-report",
			Account: who.AccountID, SourceARN: principalARN}
	}
	seen := map[string]bool{}
	for _, u := range used {
		seen[strings.ToLower(u)] = true
	}
	var out []string
	for _, action := range catalog {
		if seen[strings.ToLower(action)] || noPermission[action] {
			continue // a call that needs no permission is never a granted-but-unused one
		}
		if policy.Evaluate(set, &policy.Request{Principal: caller, Action: action, Resource: "*"}).Decision == policy.Allow {
			out = append(out, action)
		}
	}
	slices.Sort(out)
	return out, nil
}
