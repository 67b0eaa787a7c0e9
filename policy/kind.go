package policy

// PolicyKind says where a policy is attached, which decides some of its rules
// (a trust policy needs a Principal, an identity policy must not have one).
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#access_policy-types
type PolicyKind uint8

// The kinds of policy.
const (
	// KindIdentity is an inline or managed policy attached to a user, group
	// or role.
	KindIdentity PolicyKind = iota + 1
	// KindResource is a resource-based policy (bucket policy, key policy...).
	KindResource
	// KindTrust is a role's trust policy (AssumeRolePolicyDocument), a
	// resource-based policy whose resource is the role.
	KindTrust
	// KindBoundary is a permissions boundary.
	KindBoundary
	// KindSession is a session policy passed to AssumeRole or
	// GetFederationToken.
	KindSession
	// KindSCP is an AWS Organizations service control policy.
	KindSCP
	// KindRCP is an AWS Organizations resource control policy.
	KindRCP
)

// String returns the kind's name as Access Analyzer's ValidatePolicy
// PolicyType spells it where one exists.
func (k PolicyKind) String() string {
	switch k {
	case KindIdentity:
		return "IDENTITY_POLICY"
	case KindResource:
		return "RESOURCE_POLICY"
	case KindTrust:
		return "TRUST_POLICY"
	case KindBoundary:
		return "PERMISSIONS_BOUNDARY"
	case KindSession:
		return "SESSION_POLICY"
	case KindSCP:
		return "SERVICE_CONTROL_POLICY"
	case KindRCP:
		return "RESOURCE_CONTROL_POLICY"
	}
	return "UNKNOWN"
}

// principalRule says whether statements of kind k need a Principal or
// NotPrincipal (resource-based and trust policies name who they grant to),
// must not have one (identity-side policies apply to the entity they are
// attached to), or — for RCPs — must use "*".
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
func (k PolicyKind) needsPrincipal() bool { return k == KindResource || k == KindTrust || k == KindRCP }

func (k PolicyKind) forbidsPrincipal() bool {
	return k == KindIdentity || k == KindBoundary || k == KindSession || k == KindSCP
}
