package iam

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/policy"
)

// Passwords are hashed with argon2id (RFC 9106) with OWASP's recommended minimum parameters for argon2id:
// m = 19 MiB of memory, t = 2 passes, p = 1 lane, a 16-byte random salt and a 32-byte hash. They are stored in
// the PHC string format, so parameters can be raised later and old hashes still verify.
// https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonSaltLen   = 16
	argonKeyLen    = 32
	// maxPasswordHistory is the largest PasswordReusePrevention AWS allows.
	maxPasswordHistory = 24
	// maxFailedChanges is how many wrong old passwords ChangePassword takes before it answers LimitExceeded
	// until the password is reset by an administrator (UpdateLoginProfile): a guard against guessing.
	maxFailedChanges = 10
)

// hashPassword returns the argon2id PHC string of password under a fresh random salt.
func hashPassword(password string) string {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		panic("iam: no randomness: " + err.Error())
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// errBadHash means a stored hash is not an argon2id PHC string Persona wrote.
var errBadHash = errors.New("iam: stored password hash is malformed")

// phc is a parsed argon2id PHC string.
type phc struct {
	memoryKiB, time uint32
	threads         uint8
	salt, key       []byte
}

// Bounds on the parameters checkPassword accepts from a stored hash, so a tampered record cannot make a
// verification allocate without limit.
const (
	maxArgonMemoryKiB = 256 * 1024
	maxArgonTime      = 16
	maxArgonThreads   = 16
	maxArgonKeyLen    = 64
)

// parsePHC parses "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH" (base64 without padding).
func parsePHC(hash string) (*phc, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, errBadHash
	}
	var h phc
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return nil, errBadHash
	}
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if !ok {
			return nil, errBadHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 || strconv.FormatUint(n, 10) != v {
			return nil, errBadHash
		}
		switch i {
		case 0:
			if n > maxArgonMemoryKiB {
				return nil, errBadHash
			}
			h.memoryKiB = uint32(n)
		case 1:
			if n > maxArgonTime {
				return nil, errBadHash
			}
			h.time = uint32(n)
		case 2:
			if n > maxArgonThreads {
				return nil, errBadHash
			}
			h.threads = uint8(n)
		}
	}
	// The decoder skips line breaks; requiring the canonical encoding refuses them and any other slack.
	b64 := base64.RawStdEncoding.Strict()
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 || b64.EncodeToString(h.salt) != parts[4] {
		return nil, errBadHash
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > maxArgonKeyLen || b64.EncodeToString(h.key) != parts[5] {
		return nil, errBadHash
	}
	return &h, nil
}

// checkPassword reports whether password matches the PHC hash, comparing in constant time.
func checkPassword(hash, password string) (bool, error) {
	h, err := parsePHC(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), h.salt, h.time, h.memoryKiB, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// passwordSymbols are the characters AWS counts as symbols in a password policy.
const passwordSymbols = "!@#$%^&*()_+-=[]{}|'"

// checkPasswordPolicy applies the account's password policy, or AWS's default policy when the account has none
// (at least 8 characters and three of the four character classes), and answers PasswordPolicyViolation.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html
func checkPasswordPolicy(pp *store.PasswordPolicy, password, userName string, history []string) error {
	var upper, lower, digit, symbol bool
	for _, r := range password {
		switch {
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		case strings.ContainsRune(passwordSymbols, r):
			symbol = true
		}
	}
	n := len([]rune(password))
	if pp == nil {
		classes := 0
		for _, b := range []bool{upper, lower, digit, symbol} {
			if b {
				classes++
			}
		}
		if n < 8 {
			return iamapi.PasswordPolicyViolation("Password should have a minimum length of 8")
		}
		if classes < 3 {
			return iamapi.PasswordPolicyViolation("Password should have at least three of the following character types: uppercase letters, lowercase letters, numbers and symbols")
		}
		if strings.EqualFold(password, userName) {
			return iamapi.PasswordPolicyViolation("Password should not be the same as the user name")
		}
		return nil
	}
	switch {
	case n < int(pp.MinimumLength):
		return iamapi.PasswordPolicyViolation("Password should have a minimum length of %d", pp.MinimumLength)
	case pp.RequireUppercase && !upper:
		return iamapi.PasswordPolicyViolation("Password should have at least one uppercase letter")
	case pp.RequireLowercase && !lower:
		return iamapi.PasswordPolicyViolation("Password should have at least one lowercase letter")
	case pp.RequireNumbers && !digit:
		return iamapi.PasswordPolicyViolation("Password should have at least one number")
	case pp.RequireSymbols && !symbol:
		return iamapi.PasswordPolicyViolation("Password should have at least one symbol")
	}
	if pp.ReusePrevention > 0 {
		for i, h := range history {
			if i >= int(pp.ReusePrevention) {
				break
			}
			ok, err := checkPassword(h, password)
			if err != nil {
				return err
			}
			if ok {
				return iamapi.PasswordPolicyViolation("Password should not be one of your last %d passwords", pp.ReusePrevention)
			}
		}
	}
	return nil
}

// passwordPolicy returns the account's password policy, or nil when it has none.
func passwordPolicy(ctx context.Context, r store.Reader, account string) (*store.PasswordPolicy, error) {
	var pp store.PasswordPolicy
	_, err := load(ctx, r, store.KindPasswordPolicy, account, passwordPolicyKey, &pp)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &pp, nil
}

const passwordPolicyKey = "policy"

func loginProfileNotFound(user string) error {
	return iamapi.NoSuchEntity("Login Profile for User %s cannot be found.", user)
}

// setPassword hashes password into lp, keeping the previous hash in the history.
func setPassword(lp *store.LoginProfile, password string, now time.Time) {
	if lp.Hash != "" {
		lp.History = append([]string{lp.Hash}, lp.History...)
		if len(lp.History) > maxPasswordHistory {
			lp.History = lp.History[:maxPasswordHistory]
		}
	}
	lp.Hash = hashPassword(password)
	lp.Changed = now
	lp.FailedChanges = 0
}

// CreateLoginProfile gives a user a console password.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateLoginProfile.html
func (s *Service) CreateLoginProfile(ctx context.Context, in *iamapi.CreateLoginProfileInput) (*iamapi.CreateLoginProfileOutput, error) {
	var lp store.LoginProfile
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		user, err := s.loginUser(ctx, tx, "CreateLoginProfile", in.UserName)
		if err != nil {
			return err
		}
		if in.Password == "" {
			return iamapi.ValidationError("1 validation error detected: Value null at 'password' failed to satisfy constraint: Member must not be null")
		}
		p, _ := caller(ctx)
		if _, err := tx.Get(ctx, store.KindLoginProfile, p.Account, user); err == nil {
			return iamapi.EntityAlreadyExists("Login Profile for user %s already exists.", user)
		} else if !isNotFound(err) {
			return err
		}
		pp, err := passwordPolicy(ctx, tx, p.Account)
		if err != nil {
			return err
		}
		if err := checkPasswordPolicy(pp, in.Password, user, nil); err != nil {
			return err
		}
		lp = store.LoginProfile{User: user, Created: tx.Now()}
		setPassword(&lp, in.Password, tx.Now())
		lp.ResetRequired = in.PasswordResetRequired != nil && *in.PasswordResetRequired
		return create(ctx, tx, store.KindLoginProfile, p.Account, user, "", &lp)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateLoginProfileOutput{LoginProfile: &iamapi.LoginProfile{UserName: lp.User, CreateDate: lp.Created, PasswordResetRequired: ptr(lp.ResetRequired)}}, nil
}

// loginUser resolves the user a login-profile call is about (the caller's own when no name is given) and
// authorizes action on it. The root user's console password is not managed through IAM.
func (s *Service) loginUser(ctx context.Context, r store.Reader, action, name string) (string, error) {
	user, err := s.keyOwner(ctx, r, action, name)
	if err != nil {
		return "", err
	}
	if user == "" {
		return "", iamapi.ValidationError("Must specify userName when calling with non-User credentials")
	}
	return user, nil
}

// GetLoginProfile reports whether a user has a console password (never the password).
func (s *Service) GetLoginProfile(ctx context.Context, in *iamapi.GetLoginProfileInput) (*iamapi.GetLoginProfileOutput, error) {
	user, err := s.loginUser(ctx, s.store, "GetLoginProfile", in.UserName)
	if err != nil {
		return nil, err
	}
	p, _ := caller(ctx)
	var lp store.LoginProfile
	if _, err := load(ctx, s.store, store.KindLoginProfile, p.Account, user, &lp); err != nil {
		if isNotFound(err) {
			return nil, loginProfileNotFound(user)
		}
		return nil, err
	}
	return &iamapi.GetLoginProfileOutput{LoginProfile: &iamapi.LoginProfile{UserName: lp.User, CreateDate: lp.Created, PasswordResetRequired: ptr(lp.ResetRequired)}}, nil
}

// UpdateLoginProfile sets a user's password or its reset-required flag, as an administrator.
func (s *Service) UpdateLoginProfile(ctx context.Context, in *iamapi.UpdateLoginProfileInput) (*iamapi.UpdateLoginProfileOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		user, err := s.loginUser(ctx, tx, "UpdateLoginProfile", in.UserName)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		var lp store.LoginProfile
		rec, err := load(ctx, tx, store.KindLoginProfile, p.Account, user, &lp)
		if isNotFound(err) {
			return loginProfileNotFound(user)
		}
		if err != nil {
			return err
		}
		if in.Password != "" {
			pp, err := passwordPolicy(ctx, tx, p.Account)
			if err != nil {
				return err
			}
			if err := checkPasswordPolicy(pp, in.Password, user, append([]string{lp.Hash}, lp.History...)); err != nil {
				return err
			}
			setPassword(&lp, in.Password, tx.Now())
		}
		if in.PasswordResetRequired != nil {
			lp.ResetRequired = *in.PasswordResetRequired
		}
		return update(ctx, tx, rec, &lp)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateLoginProfileOutput{}, nil
}

// DeleteLoginProfile removes a user's console password.
func (s *Service) DeleteLoginProfile(ctx context.Context, in *iamapi.DeleteLoginProfileInput) (*iamapi.DeleteLoginProfileOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		user, err := s.loginUser(ctx, tx, "DeleteLoginProfile", in.UserName)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		err = tx.Delete(ctx, store.KindLoginProfile, p.Account, user)
		if isNotFound(err) {
			return loginProfileNotFound(user)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteLoginProfileOutput{}, nil
}

// errOldPassword is ChangePassword's answer to a wrong current password.
var errOldPassword = awsquery.NewError("InvalidUserType", http.StatusBadRequest, "The old password was incorrect.")

// ChangePassword changes the calling IAM user's own password. The user needs iam:ChangePassword on itself, or
// an account password policy with AllowUsersToChangePassword, which AWS documents as granting it to every user
// (an explicit deny still wins). https://docs.aws.amazon.com/IAM/latest/APIReference/API_ChangePassword.html
func (s *Service) ChangePassword(ctx context.Context, in *iamapi.ChangePasswordInput) (*iamapi.ChangePasswordOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if p.Type != authz.IAMUser {
		return nil, iamapi.InvalidUserType("Only IAM Users can change their own password.")
	}
	wrong := false
	err = s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		wrong = false
		var u store.User
		if _, err := load(ctx, tx, store.KindUser, p.Account, p.Name, &u); err != nil {
			return err
		}
		pp, err := passwordPolicy(ctx, tx, p.Account)
		if err != nil {
			return err
		}
		if err := s.authorize(ctx, "ChangePassword", s.userARN(p.Account, u.Path, u.Name), resourceTagKeys(u.Tags)); err != nil {
			var denied *authz.DeniedError
			if !(pp != nil && pp.AllowUsersToChange && errors.As(err, &denied) && denied.Reason == policy.ReasonNoIdentityAllow) {
				return err
			}
		}
		var lp store.LoginProfile
		rec, err := load(ctx, tx, store.KindLoginProfile, p.Account, u.Name, &lp)
		if isNotFound(err) {
			return loginProfileNotFound(u.Name)
		}
		if err != nil {
			return err
		}
		if lp.FailedChanges >= maxFailedChanges {
			return iamapi.LimitExceeded("Too many failed attempts to change the password. An administrator must reset it.")
		}
		ok, err := checkPassword(lp.Hash, in.OldPassword)
		if err != nil {
			return err
		}
		if !ok {
			// Commit the failure count, then answer the error outside the transaction. The request's audit record
			// commits with the count, so it must say the call failed: a guess is not a password change.
			wrong = true
			lp.FailedChanges++
			audit.PendingFrom(ctx).Update(func(ev *audit.Event) {
				ev.ErrorCode, ev.ErrorMessage = errOldPassword.Code, errOldPassword.Message
			})
			return update(ctx, tx, rec, &lp)
		}
		if err := checkPasswordPolicy(pp, in.NewPassword, u.Name, append([]string{lp.Hash}, lp.History...)); err != nil {
			return err
		}
		setPassword(&lp, in.NewPassword, tx.Now())
		lp.ResetRequired = false
		return update(ctx, tx, rec, &lp)
	})
	if err != nil {
		return nil, err
	}
	if wrong {
		return nil, errOldPassword
	}
	return &iamapi.ChangePasswordOutput{}, nil
}

// GetAccountPasswordPolicy returns the account's password policy, or NoSuchEntity when it has none.
func (s *Service) GetAccountPasswordPolicy(ctx context.Context, in *iamapi.GetAccountPasswordPolicyInput) (*iamapi.GetAccountPasswordPolicyOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "GetAccountPasswordPolicy", "*", nil); err != nil {
		return nil, err
	}
	pp, err := passwordPolicy(ctx, s.store, p.Account)
	if err != nil {
		return nil, err
	}
	if pp == nil {
		return nil, iamapi.NoSuchEntity("The Password Policy with domain name %s cannot be found.", p.Account)
	}
	return &iamapi.GetAccountPasswordPolicyOutput{PasswordPolicy: passwordPolicyOut(pp)}, nil
}

func passwordPolicyOut(pp *store.PasswordPolicy) *iamapi.PasswordPolicy {
	out := &iamapi.PasswordPolicy{
		MinimumPasswordLength:      ptr(pp.MinimumLength),
		RequireSymbols:             ptr(pp.RequireSymbols),
		RequireNumbers:             ptr(pp.RequireNumbers),
		RequireUppercaseCharacters: ptr(pp.RequireUppercase),
		RequireLowercaseCharacters: ptr(pp.RequireLowercase),
		AllowUsersToChangePassword: ptr(pp.AllowUsersToChange),
		ExpirePasswords:            ptr(pp.MaxAge > 0),
		HardExpiry:                 ptr(pp.HardExpiry),
	}
	if pp.MaxAge > 0 {
		out.MaxPasswordAge = ptr(pp.MaxAge)
	}
	if pp.ReusePrevention > 0 {
		out.PasswordReusePrevention = ptr(pp.ReusePrevention)
	}
	return out
}

// defaultMinimumPasswordLength is what UpdateAccountPasswordPolicy uses when MinimumPasswordLength is omitted.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccountPasswordPolicy.html
const defaultMinimumPasswordLength = 6

// UpdateAccountPasswordPolicy sets the account's password policy. As on AWS, every parameter omitted takes its
// default value (it is not left as it was).
func (s *Service) UpdateAccountPasswordPolicy(ctx context.Context, in *iamapi.UpdateAccountPasswordPolicyInput) (*iamapi.UpdateAccountPasswordPolicyOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "UpdateAccountPasswordPolicy", "*", nil); err != nil {
		return nil, err
	}
	b := func(v *bool) bool { return v != nil && *v }
	pp := store.PasswordPolicy{
		MinimumLength:      defaultMinimumPasswordLength,
		RequireSymbols:     b(in.RequireSymbols),
		RequireNumbers:     b(in.RequireNumbers),
		RequireUppercase:   b(in.RequireUppercaseCharacters),
		RequireLowercase:   b(in.RequireLowercaseCharacters),
		AllowUsersToChange: b(in.AllowUsersToChangePassword),
		HardExpiry:         b(in.HardExpiry),
	}
	if in.MinimumPasswordLength != nil {
		pp.MinimumLength = *in.MinimumPasswordLength
	}
	if in.MaxPasswordAge != nil {
		pp.MaxAge = *in.MaxPasswordAge
	}
	if in.PasswordReusePrevention != nil {
		pp.ReusePrevention = *in.PasswordReusePrevention
	}
	err = s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		rec, err := tx.Get(ctx, store.KindPasswordPolicy, p.Account, passwordPolicyKey)
		if isNotFound(err) {
			return create(ctx, tx, store.KindPasswordPolicy, p.Account, passwordPolicyKey, "", &pp)
		}
		if err != nil {
			return err
		}
		return update(ctx, tx, rec, &pp)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateAccountPasswordPolicyOutput{}, nil
}

// DeleteAccountPasswordPolicy removes the account's password policy (AWS's default applies again).
func (s *Service) DeleteAccountPasswordPolicy(ctx context.Context, in *iamapi.DeleteAccountPasswordPolicyInput) (*iamapi.DeleteAccountPasswordPolicyOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DeleteAccountPasswordPolicy", "*", nil); err != nil {
		return nil, err
	}
	err = s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		err := tx.Delete(ctx, store.KindPasswordPolicy, p.Account, passwordPolicyKey)
		if isNotFound(err) {
			return iamapi.NoSuchEntity("The account policy with name PasswordPolicy cannot be found.")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteAccountPasswordPolicyOutput{}, nil
}

// checkUserCredentialsGone is DeleteUser's DeleteConflict while the user still has a console password or an MFA
// device, as AWS requires them removed first.
func checkUserCredentialsGone(ctx context.Context, tx store.Tx, account, user string) error {
	if _, err := tx.Get(ctx, store.KindLoginProfile, account, user); err == nil {
		return iamapi.DeleteConflict("Cannot delete entity, must delete login profile first.")
	} else if !isNotFound(err) {
		return err
	}
	if n, err := mfaDevicesOfUser(ctx, tx, account, user); err != nil {
		return err
	} else if n > 0 {
		return iamapi.DeleteConflict("Cannot delete entity, must delete MFA device first.")
	}
	return nil
}

// renameUserCredentials moves a user's login profile and MFA assignments to its new name (UpdateUser).
func renameUserCredentials(ctx context.Context, tx store.Tx, account, oldName, newName string) error {
	var lp store.LoginProfile
	if _, err := load(ctx, tx, store.KindLoginProfile, account, oldName, &lp); err == nil {
		if err := tx.Delete(ctx, store.KindLoginProfile, account, oldName); err != nil {
			return err
		}
		lp.User = newName
		if err := create(ctx, tx, store.KindLoginProfile, account, newName, "", &lp); err != nil {
			return err
		}
	} else if !isNotFound(err) {
		return err
	}
	return renameUserMFA(ctx, tx, account, oldName, newName)
}

// PasswordCheck is the outcome of a successful VerifyPassword.
type PasswordCheck struct {
	// ResetRequired reports that the user must set a new password before doing anything else.
	ResetRequired bool
	// Expired reports that the password is older than the policy's MaxPasswordAge; with HardExpiry the user
	// may not sign in at all (VerifyPassword then fails instead).
	Expired bool
}

// ErrSignInFailed is VerifyPassword's one answer for an unknown user, a user without a console password and a
// wrong password alike, so a caller cannot tell them apart.
var ErrSignInFailed = errors.New("iam: user name or password is incorrect")

// dummyHash is verified against when there is no real hash, so an unknown user costs the same argon2id work as a
// known one (no user enumeration by timing).
var dummyHash = sync.OnceValue(func() string { return hashPassword("persona-dummy-password") })

// VerifyPassword checks an IAM user's console password (for a console sign-in), in constant time and with the
// same cost whether or not the user exists, and records the use (GetUser's PasswordLastUsed, the credential
// report). It returns ErrSignInFailed for any mismatch, and for a password past a hard expiry.
func (s *Service) VerifyPassword(ctx context.Context, account, userName, password string) (*PasswordCheck, error) {
	var lp store.LoginProfile
	_, err := load(ctx, s.store, store.KindLoginProfile, account, userName, &lp)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	hash := lp.Hash
	if err != nil {
		hash = dummyHash()
	}
	ok, verr := checkPassword(hash, password)
	if verr != nil {
		return nil, verr
	}
	if err != nil || !ok {
		return nil, ErrSignInFailed
	}
	pp, err := passwordPolicy(ctx, s.store, account)
	if err != nil {
		return nil, err
	}
	check := &PasswordCheck{ResetRequired: lp.ResetRequired}
	if pp != nil && pp.MaxAge > 0 && s.now().After(lp.Changed.AddDate(0, 0, int(pp.MaxAge))) {
		if pp.HardExpiry {
			return nil, ErrSignInFailed
		}
		check.Expired, check.ResetRequired = true, true
	}
	err = s.store.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		var u store.User
		rec, err := load(ctx, tx, store.KindUser, account, userName, &u)
		if err != nil {
			return err
		}
		u.PasswordLastUsed = tx.Now()
		return update(ctx, tx, rec, &u)
	})
	if err != nil {
		return nil, err
	}
	return check, nil
}
