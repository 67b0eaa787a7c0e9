package store

import "time"

// The kinds of record AWS Organizations' subset stores (see internal/orgs).
const (
	// KindOrganization records are Organization values; Account is the management account and Key "organization"
	// (an account manages one organization at most); ID is the organization id ("o-…").
	KindOrganization Kind = "organization"
	// KindOrgAccount records are OrgAccount values, an account's membership of an organization: Account "", Key
	// "ORGID/ACCOUNTID" (so an organization's accounts list under its id), ID the account id (so an account belongs
	// to one organization at most, and its organization is found by GetByID).
	KindOrgAccount Kind = "org-account"
	// KindCreateAccountStatus records are CreateAccountStatus values; Account is the management account that asked,
	// Key the request id ("car-…").
	KindCreateAccountStatus Kind = "create-account-status"
	// KindAccountEmail records reserve an account's root email address, which AWS keeps unique across accounts:
	// Account "", Key the address (compared without regard to case), Data the account id.
	KindAccountEmail Kind = "account-email"
)

// Organization is an AWS organization.
type Organization struct {
	ID                string    `json:"id"`
	ManagementAccount string    `json:"mgmt"`
	ManagementEmail   string    `json:"mgmtEmail,omitempty"`
	FeatureSet        string    `json:"featureSet"`
	Created           time.Time `json:"created"`
}

// OrgAccount is an account's membership of an organization.
type OrgAccount struct {
	OrgID        string    `json:"org"`
	AccountID    string    `json:"account"`
	Name         string    `json:"name"`
	Email        string    `json:"email,omitempty"`
	State        string    `json:"state"`  // ACTIVE, SUSPENDED, …
	JoinedMethod string    `json:"joined"` // CREATED or INVITED
	Joined       time.Time `json:"joinedAt"`
	Tags         []Tag     `json:"tags,omitempty"`
}

// CreateAccountStatus is the status of a CreateAccount request.
type CreateAccountStatus struct {
	ID            string    `json:"id"`
	AccountName   string    `json:"name"`
	State         string    `json:"state"` // IN_PROGRESS, SUCCEEDED or FAILED
	AccountID     string    `json:"account,omitempty"`
	FailureReason string    `json:"failure,omitempty"`
	Requested     time.Time `json:"requested"`
	Completed     time.Time `json:"completed,omitzero"`
}
