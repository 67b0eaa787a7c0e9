package store

import "time"

// Kinds for instance profiles, MFA devices, login profiles and account-level settings.
const (
	// KindInstanceProfile records are InstanceProfile values keyed by name; ID is the AIPA… unique id.
	KindInstanceProfile Kind = "instance-profile"
	// KindInstanceProfileByRole records mirror a role's membership of an instance profile, keyed "ROLE/PROFILE"
	// (Data is an InstanceProfileRole), so ListInstanceProfilesForRole and DeleteRole need no scan.
	KindInstanceProfileByRole Kind = "instance-profile-by-role"
	// KindMFADevice records are MFADevice values (virtual MFA devices) keyed by device name; ID is the serial
	// number (its ARN).
	KindMFADevice Kind = "mfa-device"
	// KindMFAByUser records mirror a device's assignment to a user, keyed "USER/DEVICENAME" (Data is an
	// MFAAssignment).
	KindMFAByUser Kind = "mfa-by-user"
	// KindLoginProfile records are LoginProfile values keyed by user name.
	KindLoginProfile Kind = "login-profile"
	// KindPasswordPolicy records are PasswordPolicy values, one per account, keyed "policy".
	KindPasswordPolicy Kind = "password-policy"
	// KindAccountAlias records are AccountAlias values with Account "" keyed by the alias: aliases are unique
	// across every account, as AWS's are (they name the sign-in URL).
	KindAccountAlias Kind = "account-alias"
	// KindCredentialReport records are CredentialReport values, one per account, keyed "report".
	KindCredentialReport Kind = "credential-report"
)

// InstanceProfile is an IAM instance profile: a container for at most one role.
type InstanceProfile struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Path    string    `json:"path"`
	Created time.Time `json:"created"`
	// Roles are the names of the roles in the profile (AWS allows one).
	Roles []string `json:"roles,omitempty"`
	Tags  []Tag    `json:"tags,omitempty"`
}

// InstanceProfileRole records that Role is in Profile.
type InstanceProfileRole struct {
	Role    string `json:"role"`
	Profile string `json:"profile"`
}

// MFADevice is a virtual MFA device (TOTP, RFC 6238).
type MFADevice struct {
	Name    string    `json:"name"`
	Path    string    `json:"path"`
	Serial  string    `json:"serial"`
	Created time.Time `json:"created"`
	// Seed is the base32 TOTP seed sealed under the master key (additional data: the serial number); never
	// stored in plain text.
	Seed []byte `json:"seed"`
	// User is the user the device is enabled for, "" while unassigned; Enabled is when it was enabled.
	User    string    `json:"user,omitempty"`
	Enabled time.Time `json:"enabled,omitempty"`
	// LastStep is the last TOTP time step accepted, so no code is accepted twice (replay).
	LastStep int64 `json:"lastStep,omitempty"`
	// Drift is the device clock's offset in time steps, measured by EnableMFADevice and ResyncMFADevice.
	Drift int64 `json:"drift,omitempty"`
	// FailedAttempts counts wrong codes given to STS in a row; LockedUntil is when the device accepts codes
	// again after too many.
	FailedAttempts int       `json:"failed,omitempty"`
	LockedUntil    time.Time `json:"lockedUntil,omitempty"`
	Tags           []Tag     `json:"tags,omitempty"`
}

// MFAAssignment records that the device Device (name) with serial Serial is enabled for User.
type MFAAssignment struct {
	User    string    `json:"user"`
	Device  string    `json:"device"`
	Serial  string    `json:"serial"`
	Enabled time.Time `json:"enabled"`
}

// LoginProfile is a user's console password.
type LoginProfile struct {
	User    string    `json:"user"`
	Created time.Time `json:"created"`
	// Hash is the argon2id hash of the password in PHC string form ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
	Hash          string    `json:"hash"`
	Changed       time.Time `json:"changed"`
	ResetRequired bool      `json:"reset,omitempty"`
	// History holds the hashes of previous passwords, newest first, for the password policy's
	// PasswordReusePrevention (at most 24).
	History []string `json:"history,omitempty"`
	// FailedChanges counts ChangePassword calls with a wrong old password since the password was last set.
	FailedChanges int `json:"failed,omitempty"`
}

// PasswordPolicy is an account's password policy.
type PasswordPolicy struct {
	MinimumLength      int32 `json:"minLen"`
	RequireSymbols     bool  `json:"symbols,omitempty"`
	RequireNumbers     bool  `json:"numbers,omitempty"`
	RequireUppercase   bool  `json:"upper,omitempty"`
	RequireLowercase   bool  `json:"lower,omitempty"`
	AllowUsersToChange bool  `json:"allowChange,omitempty"`
	// MaxAge is the password lifetime in days, 0 when passwords do not expire.
	MaxAge          int32 `json:"maxAge,omitempty"`
	ReusePrevention int32 `json:"reuse,omitempty"`
	HardExpiry      bool  `json:"hardExpiry,omitempty"`
}

// AccountAlias maps an alias to the account that holds it.
type AccountAlias struct {
	Alias   string `json:"alias"`
	Account string `json:"account"`
}

// CredentialReport is an account's last generated credential report.
type CredentialReport struct {
	Generated time.Time `json:"generated"`
	// CSV is the report as AWS writes it.
	CSV []byte `json:"csv"`
}
