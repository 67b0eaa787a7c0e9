package store

import "time"

// The kinds of record Persona stores, with the key each uses. Keys compare without regard to case.
const (
	// KindAccount records are Account values; Account "" and Key the 12-digit account id.
	KindAccount Kind = "account"
	// KindUser records are User values keyed by user name; ID is the AIDA… unique id.
	KindUser Kind = "user"
	// KindGroup records are Group values keyed by group name; ID is the AGPA… unique id.
	KindGroup Kind = "group"
	// KindRole records are Role values keyed by role name; ID is the AROA… unique id.
	KindRole Kind = "role"
	// KindPolicy records are ManagedPolicy values keyed by policy name; ID is the ANPA… unique id.
	KindPolicy Kind = "policy"
	// KindAccessKey records are AccessKey values keyed by "userName/accessKeyID"; ID is the access key id.
	KindAccessKey Kind = "accesskey"
	// KindInlinePolicy records are InlinePolicy values keyed by "user/NAME/POLICY", "group/NAME/POLICY" or
	// "role/NAME/POLICY".
	KindInlinePolicy Kind = "inline"
	// KindAttachment records are Attachment values keyed by "user/NAME/POLICYARN" (and group/, role/): a managed
	// policy attached to a principal, listed by principal.
	KindAttachment Kind = "attachment"
	// KindAttachmentByPolicy records mirror KindAttachment keyed by "POLICYARN|user/NAME", listed by policy.
	KindAttachmentByPolicy Kind = "attachment-by-policy"
	// KindMembership records are Membership values keyed by "GROUP/USER", listed by group.
	KindMembership Kind = "membership"
	// KindMembershipByUser records mirror KindMembership keyed by "USER/GROUP", listed by user.
	KindMembershipByUser Kind = "membership-by-user"
	// KindServerState records hold server-wide state (Account "", keys such as "keyring").
	KindServerState Kind = "server"
)

// Tag is a key-value tag on an IAM entity.
type Tag struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// Account is an AWS-style account.
type Account struct {
	ID      string    `json:"id"`
	Name    string    `json:"name,omitempty"`
	Email   string    `json:"email,omitempty"`
	Aliases []string  `json:"aliases,omitempty"`
	Created time.Time `json:"created"`
}

// User is an IAM user.
type User struct {
	Name                string    `json:"name"`
	ID                  string    `json:"id"`
	Path                string    `json:"path"`
	Created             time.Time `json:"created"`
	PermissionsBoundary string    `json:"boundary,omitempty"`
	Tags                []Tag     `json:"tags,omitempty"`
	PasswordLastUsed    time.Time `json:"pwdUsed,omitempty"`
}

// Group is an IAM group.
type Group struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Path    string    `json:"path"`
	Created time.Time `json:"created"`
}

// Role is an IAM role.
type Role struct {
	Name                string    `json:"name"`
	ID                  string    `json:"id"`
	Path                string    `json:"path"`
	Created             time.Time `json:"created"`
	TrustPolicy         string    `json:"trust"`
	Description         string    `json:"desc,omitempty"`
	MaxSessionDuration  int32     `json:"maxSession"`
	PermissionsBoundary string    `json:"boundary,omitempty"`
	Tags                []Tag     `json:"tags,omitempty"`
	LastUsed            time.Time `json:"lastUsed,omitempty"`
	LastUsedRegion      string    `json:"lastUsedRegion,omitempty"`
}

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	ID       string    `json:"id"` // "v1", "v2", …
	Document string    `json:"doc"`
	Default  bool      `json:"default"`
	Created  time.Time `json:"created"`
}

// ManagedPolicy is a customer-managed policy with its versions.
type ManagedPolicy struct {
	Name        string          `json:"name"`
	ID          string          `json:"id"`
	Path        string          `json:"path"`
	Description string          `json:"desc,omitempty"`
	Created     time.Time       `json:"created"`
	Updated     time.Time       `json:"updated"`
	Versions    []PolicyVersion `json:"versions"`
	NextVersion int             `json:"next"`
	Tags        []Tag           `json:"tags,omitempty"`
}

// AccessKey is a long-term access key of a user (or of an account's root, with UserName "").
type AccessKey struct {
	ID       string    `json:"id"`
	UserName string    `json:"user"`
	Status   string    `json:"status"` // Active or Inactive
	Secret   []byte    `json:"secret"` // sealed under the master key, never plain text
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"lastUsed,omitempty"`
	// LastUsedService and LastUsedRegion describe the last use, as GetAccessKeyLastUsed reports.
	LastUsedService string `json:"lastUsedService,omitempty"`
	LastUsedRegion  string `json:"lastUsedRegion,omitempty"`
}

// InlinePolicy is a policy embedded in a user, group or role.
type InlinePolicy struct {
	Name     string `json:"name"`
	Document string `json:"doc"`
}

// Attachment is a managed policy attached to a user, group or role.
type Attachment struct {
	PolicyARN     string `json:"policy"`
	PrincipalType string `json:"type"` // user, group or role
	PrincipalName string `json:"name"`
	PrincipalID   string `json:"id"`
}

// Membership is a user's membership of a group.
type Membership struct {
	Group string `json:"group"`
	User  string `json:"user"`
}
