package iam

import (
	"context"

	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/policy"
)

// ProvisionedRole describes a role an AWS service creates in an account on its own authority, such as
// Organizations' OrganizationAccountAccessRole in a new member account.
type ProvisionedRole struct {
	Name        string
	Description string
	// TrustPolicy is the role's trust policy (JSON); it must be a valid trust policy.
	TrustPolicy string
	// PolicyARNs are managed policies attached to the role (AWS-managed or of the same account).
	PolicyARNs []string
}

// ProvisionRole creates r in account within tx, with IAM's records and rules (a unique AROA id, path "/", the
// default session duration, attachments listed by role and by policy), and returns the role's unique id. It does
// not authorize: the calling service decided the account may have the role. A role of that name already in the
// account is store.ErrAlreadyExists.
func ProvisionRole(ctx context.Context, tx store.Tx, account string, r ProvisionedRole) (string, error) {
	if err := checkPolicy(r.TrustPolicy, policy.KindTrust); err != nil {
		return "", err
	}
	role := store.Role{
		Name:               r.Name,
		ID:                 randomID(prefixRole, uniqueIDRandomChars),
		Path:               "/",
		TrustPolicy:        r.TrustPolicy,
		Description:        r.Description,
		MaxSessionDuration: defaultMaxSessionDuration,
		Created:            tx.Now(),
	}
	if err := create(ctx, tx, store.KindRole, account, role.Name, role.ID, &role); err != nil {
		return "", err
	}
	for _, policyARN := range r.PolicyARNs {
		at := store.Attachment{PolicyARN: policyARN, PrincipalType: "role", PrincipalName: role.Name, PrincipalID: role.ID}
		if err := create(ctx, tx, store.KindAttachment, account, attachmentKey("role", role.Name, policyARN), "", &at); err != nil {
			return "", err
		}
		if err := create(ctx, tx, store.KindAttachmentByPolicy, account, attachmentByPolicyKey(policyARN, "role", role.Name), "", &at); err != nil {
			return "", err
		}
	}
	return role.ID, nil
}
