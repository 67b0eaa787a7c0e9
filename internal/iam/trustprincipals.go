package iam

import (
	"context"
	"strings"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/policy"
)

// checkTrustPrincipals refuses a trust policy whose "AWS" principals name an IAM user or role that does not exist, as
// IAM does when it saves the policy: MalformedPolicyDocument, `Invalid principal in policy:
// "AWS":"arn:aws:iam::111122223333:user/ghost"`. (A group is never a principal; the validator refuses it first.)
// Only accounts this server hosts can be checked; an ARN of another account, an account id, "*" or an ARN with a
// wildcard is left as written.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
func (s *Service) checkTrustPrincipals(ctx context.Context, r store.Reader, doc string) error {
	parsed, err := policy.Parse([]byte(doc))
	if err != nil {
		return nil // checkPolicy has answered for the syntax
	}
	for _, st := range parsed.Statements {
		for _, pr := range []*policy.Principal{st.Principal, st.NotPrincipal} {
			if pr == nil {
				continue
			}
			for _, e := range pr.Entries {
				if e.Type.Value != policy.PrincipalAWS {
					continue
				}
				for _, v := range e.Values.Values {
					ok, err := s.principalExists(ctx, r, v.Value)
					if err != nil {
						return err
					}
					if !ok {
						return iamapi.MalformedPolicyDocument(`Invalid principal in policy: "AWS":"%s"`, v.Value)
					}
				}
			}
		}
	}
	return nil
}

// principalExists reports whether an "AWS" principal value can be saved in a trust policy.
func (s *Service) principalExists(ctx context.Context, r store.Reader, value string) (bool, error) {
	a, err := arn.Parse(value)
	if err != nil || a.Service != "iam" || strings.Contains(value, "*") {
		return true, nil
	}
	kind, rest, _ := strings.Cut(a.Resource, "/")
	var entityKind store.Kind
	switch kind {
	case "group":
		return false, nil
	case "user":
		entityKind = store.KindUser
	case "role":
		entityKind = store.KindRole
	default:
		return true, nil
	}
	var acct store.Account
	if _, err := load(ctx, r, store.KindAccount, "", a.AccountID, &acct); isNotFound(err) {
		return true, nil // not an account of this server: nothing to check against
	} else if err != nil {
		return false, err
	}
	name := rest[strings.LastIndex(rest, "/")+1:]
	var v struct{ Name, Path string }
	if _, err := load(ctx, r, entityKind, a.AccountID, name, &v); isNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	// The ARN must be the entity's own: the same path, and the name as it is spelled.
	return arn.IAM(a.Partition, a.AccountID, kind, pathOrRoot(v.Path), v.Name).String() == value, nil
}
