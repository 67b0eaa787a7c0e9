package arn

import (
	"errors"
	"strings"
)

// IAM resource types, the first segment of an IAM ARN's resource section.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns
const (
	TypeUser            = "user"
	TypeRole            = "role"
	TypeGroup           = "group"
	TypePolicy          = "policy"
	TypeInstanceProfile = "instance-profile"
	TypeOIDCProvider    = "oidc-provider"
	TypeSAMLProvider    = "saml-provider"
	TypeMFA             = "mfa"
	TypeRoot            = "root"
	TypeAssumedRole     = "assumed-role"   // STS
	TypeFederatedUser   = "federated-user" // STS
)

// DefaultPartition is the partition used when a builder is given none.
const DefaultPartition = "aws"

// IAM returns the ARN of an IAM entity that lives under a path: users, roles,
// groups, customer managed policies, instance profiles and virtual MFA
// devices, e.g. "arn:aws:iam::123456789012:role/service/my-role". An empty
// path means "/", and a path is normalised to begin and end with '/'.
// Example: IAM("", "123456789012", TypeUser, "/division/", "bob").
func IAM(partition, account, typ, path, name string) ARN {
	if partition == "" {
		partition = DefaultPartition
	}
	return ARN{Partition: partition, Service: "iam", AccountID: account,
		Resource: typ + normalizePath(path) + name}
}

// User returns the ARN of an IAM user.
func User(partition, account, path, name string) ARN {
	return IAM(partition, account, TypeUser, path, name)
}

// Role returns the ARN of an IAM role.
func Role(partition, account, path, name string) ARN {
	return IAM(partition, account, TypeRole, path, name)
}

// Group returns the ARN of an IAM group.
func Group(partition, account, path, name string) ARN {
	return IAM(partition, account, TypeGroup, path, name)
}

// Policy returns the ARN of a managed policy. AWS managed policies use the
// account "aws".
func Policy(partition, account, path, name string) ARN {
	return IAM(partition, account, TypePolicy, path, name)
}

// InstanceProfile returns the ARN of an instance profile.
func InstanceProfile(partition, account, path, name string) ARN {
	return IAM(partition, account, TypeInstanceProfile, path, name)
}

// MFA returns the ARN of a virtual MFA device.
func MFA(partition, account, path, name string) ARN {
	return IAM(partition, account, TypeMFA, path, name)
}

// Root returns the ARN of an account's root user, "arn:aws:iam::123456789012:root".
func Root(partition, account string) ARN {
	if partition == "" {
		partition = DefaultPartition
	}
	return ARN{Partition: partition, Service: "iam", AccountID: account, Resource: TypeRoot}
}

// OIDCProvider returns the ARN of an OpenID Connect provider. The provider's
// name is its issuer URL without the scheme, e.g. "token.actions.githubusercontent.com".
func OIDCProvider(partition, account, url string) ARN {
	if partition == "" {
		partition = DefaultPartition
	}
	url = strings.TrimPrefix(strings.TrimPrefix(url, "https://"), "http://")
	return ARN{Partition: partition, Service: "iam", AccountID: account, Resource: TypeOIDCProvider + "/" + url}
}

// SAMLProvider returns the ARN of a SAML provider.
func SAMLProvider(partition, account, name string) ARN {
	if partition == "" {
		partition = DefaultPartition
	}
	return ARN{Partition: partition, Service: "iam", AccountID: account, Resource: TypeSAMLProvider + "/" + name}
}

// AssumedRole returns the ARN of an STS role session,
// "arn:aws:sts::123456789012:assumed-role/role-name/session-name". The role's
// path is not part of it, as AWS documents.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns
func AssumedRole(partition, account, roleName, sessionName string) ARN {
	if partition == "" {
		partition = DefaultPartition
	}
	return ARN{Partition: partition, Service: "sts", AccountID: account,
		Resource: TypeAssumedRole + "/" + roleName + "/" + sessionName}
}

// FederatedUser returns the ARN of an STS federated user session
// (GetFederationToken), "arn:aws:sts::123456789012:federated-user/name".
func FederatedUser(partition, account, name string) ARN {
	if partition == "" {
		partition = DefaultPartition
	}
	return ARN{Partition: partition, Service: "sts", AccountID: account, Resource: TypeFederatedUser + "/" + name}
}

// IAMResource is the resource section of an IAM or STS ARN, split.
type IAMResource struct {
	Type string // TypeUser, TypeRole, ..., TypeAssumedRole
	// Path is the entity's path, beginning and ending with '/'. It is "/" for
	// types without paths (providers, root, STS sessions).
	Path string
	// Name is the entity's name; for an OIDC provider, its URL without scheme.
	// For an assumed-role session it is the role name.
	Name string
	// Session is the session name of an assumed-role ARN, otherwise empty.
	Session string
}

// ErrNotIAM is returned by SplitIAM for an ARN that is not an IAM or STS ARN.
var ErrNotIAM = errors.New("arn: not an IAM or STS ARN")

// SplitIAM splits the resource section of an IAM or STS ARN into its type,
// path and name: "role/service/app/my-role" gives {role, /service/app/, my-role}.
func SplitIAM(a ARN) (IAMResource, error) {
	if a.Service != "iam" && a.Service != "sts" {
		return IAMResource{}, ErrNotIAM
	}
	bad := &Error{Input: a.String(), Code: CodeMalformed}
	typ, rest, ok := strings.Cut(a.Resource, "/")
	switch {
	case typ == TypeRoot && !ok:
		return IAMResource{Type: TypeRoot, Path: "/"}, nil
	case !ok || rest == "":
		bad.Reason = "arn: IAM resource " + quote(a.Resource) + " has no name"
		return IAMResource{}, bad
	}
	switch typ {
	case TypeOIDCProvider, TypeSAMLProvider, TypeFederatedUser:
		// The name is everything after the type; an OIDC provider's URL may
		// itself contain '/'.
		return IAMResource{Type: typ, Path: "/", Name: rest}, nil
	case TypeAssumedRole:
		role, session, ok := strings.Cut(rest, "/")
		if !ok || role == "" || session == "" {
			bad.Reason = "arn: assumed-role resource must be assumed-role/role-name/session-name"
			return IAMResource{}, bad
		}
		return IAMResource{Type: typ, Path: "/", Name: role, Session: session}, nil
	}
	i := strings.LastIndexByte(rest, '/')
	name := rest[i+1:]
	if name == "" {
		bad.Reason = "arn: IAM resource " + quote(a.Resource) + " has no name"
		return IAMResource{}, bad
	}
	return IAMResource{Type: typ, Path: "/" + rest[:i+1], Name: name}, nil
}

func normalizePath(p string) string {
	if p == "" || p == "/" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	if p[len(p)-1] != '/' {
		p += "/"
	}
	return p
}

func quote(s string) string { return `"` + s + `"` }
