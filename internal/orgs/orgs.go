// Package orgs implements the subset of AWS Organizations that lets one account create others: an organization
// with its management account, member accounts created with the OrganizationAccountAccessRole that trusts the
// management account, and their listing. Every call is authorized by the policy engine (organizations:ACTION on
// the resource the Service Authorization Reference names), then by Organizations' own rule that only the
// management account manages accounts. It sees typed inputs and outputs and the store interface, never HTTP.
package orgs

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsjson"
	"github.com/persona-iam/persona/internal/awsjson/orgsapi"
	"github.com/persona-iam/persona/internal/store"
)

// DefaultMaxAccounts is the default quota of accounts in an organization, the management account included, as
// AWS sets it for new organizations. https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html
const DefaultMaxAccounts = 10

// DefaultRoleName is the role CreateAccount creates in a new account unless RoleName says otherwise.
// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access.html
const DefaultRoleName = "OrganizationAccountAccessRole"

// administratorAccess is the AWS-managed policy the new account's role has.
const administratorAccess = "arn:aws:iam::aws:policy/AdministratorAccess"

// Config holds the Organizations service's dependencies.
type Config struct {
	Store store.Store
	Authz *authz.Authorizer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxAccounts is the quota of accounts per organization; DefaultMaxAccounts when 0.
	MaxAccounts int
}

// Service implements orgsapi.Handler.
type Service struct {
	orgsapi.Unimplemented
	store       store.Store
	authz       *authz.Authorizer
	now         func() time.Time
	maxAccounts int
}

// New returns the Organizations service.
func New(cfg Config) *Service {
	s := &Service{store: cfg.Store, authz: cfg.Authz, now: cfg.Now, maxAccounts: cfg.MaxAccounts}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxAccounts == 0 {
		s.maxAccounts = DefaultMaxAccounts
	}
	return s
}

// Organizations' messages, in AWS's words.
// https://docs.aws.amazon.com/organizations/latest/APIReference/CommonErrors.html and each operation's page.
const (
	msgNotInUse       = "Your account is not a member of an organization."
	msgAlreadyInOrg   = "The AWS account is already a member of an organization."
	msgNotManagement  = "You don't have permissions to access this resource."
	msgNoAccount      = "You specified an account that doesn't exist."
	msgNoStatus       = "We can't find an create account request with the CreateAccountRequestId that you specified."
	msgBadNextToken   = "You specified an invalid value for nextToken."
	msgAccountLimit   = "You have reached the limit on the number of accounts in your organization."
	msgDuplicateTag   = "You provided duplicate tag keys. Tag keys must be unique."
	msgTooManyTags    = "You have exceeded the maximum number of tags allowed on this resource."
	maxTagsPerAccount = 50
)

func caller(ctx context.Context) (*authz.Principal, error) {
	p := authz.PrincipalFrom(ctx)
	if p == nil {
		return nil, errors.New("orgs: no principal in context")
	}
	return p, nil
}

// authorize asks the policy engine whether the caller may perform organizations:action on resource.
func (s *Service) authorize(ctx context.Context, action, resource string, extra map[string][]string) error {
	return s.authz.Authorize(ctx, orgsapi.Service+":"+action, resource, extra)
}

func orgARN(org *store.Organization) string {
	return "arn:aws:organizations::" + org.ManagementAccount + ":organization/" + org.ID
}

func accountARN(org *store.Organization, account string) string {
	return "arn:aws:organizations::" + org.ManagementAccount + ":account/" + org.ID + "/" + account
}

// membership returns the organization account belongs to, or AWSOrganizationsNotInUseException.
func membership(ctx context.Context, r store.Reader, account string) (*store.Organization, error) {
	rec, err := r.GetByID(ctx, store.KindOrgAccount, account)
	if errors.Is(err, store.ErrNotFound) {
		return nil, orgsapi.AWSOrganizationsNotInUse(msgNotInUse)
	}
	if err != nil {
		return nil, err
	}
	var m store.OrgAccount
	if err := json.Unmarshal(rec.Data, &m); err != nil {
		return nil, fmt.Errorf("orgs: corrupt membership of %s: %w", account, err)
	}
	return loadOrganization(ctx, r, m.OrgID)
}

// loadOrganization reads an organization by id (its record is kept under its management account).
func loadOrganization(ctx context.Context, r store.Reader, id string) (*store.Organization, error) {
	rec, err := r.GetByID(ctx, store.KindOrganization, id)
	if err != nil {
		return nil, fmt.Errorf("orgs: organization %s: %w", id, err)
	}
	var org store.Organization
	if err := json.Unmarshal(rec.Data, &org); err != nil {
		return nil, fmt.Errorf("orgs: corrupt organization %s: %w", id, err)
	}
	return &org, nil
}

// managed returns the organization the caller's account manages: AWSOrganizationsNotInUseException outside any
// organization, AccessDeniedException for a member account (only the management account manages accounts).
func managed(ctx context.Context, r store.Reader, p *authz.Principal) (*store.Organization, error) {
	org, err := membership(ctx, r, p.Account)
	if err != nil {
		return nil, err
	}
	if org.ManagementAccount != p.Account {
		return nil, orgsapi.AccessDenied(msgNotManagement)
	}
	return org, nil
}

func organizationOut(org *store.Organization) *orgsapi.Organization {
	return &orgsapi.Organization{
		Id:                 org.ID,
		Arn:                orgARN(org),
		FeatureSet:         orgsapi.OrganizationFeatureSet(org.FeatureSet),
		MasterAccountArn:   accountARN(org, org.ManagementAccount),
		MasterAccountId:    org.ManagementAccount,
		MasterAccountEmail: org.ManagementEmail,
	}
}

func accountOut(org *store.Organization, m *store.OrgAccount) orgsapi.Account {
	return orgsapi.Account{
		Id:              m.AccountID,
		Arn:             accountARN(org, m.AccountID),
		Email:           m.Email,
		Name:            m.Name,
		Status:          orgsapi.AccountStatus(m.State),
		State:           orgsapi.AccountState(m.State),
		JoinedMethod:    orgsapi.AccountJoinedMethod(m.JoinedMethod),
		JoinedTimestamp: awsjson.At(m.Joined),
	}
}

func statusOut(st *store.CreateAccountStatus) *orgsapi.CreateAccountStatus {
	out := &orgsapi.CreateAccountStatus{
		Id:                 st.ID,
		AccountName:        st.AccountName,
		State:              orgsapi.CreateAccountState(st.State),
		RequestedTimestamp: awsjson.At(st.Requested),
		AccountId:          st.AccountID,
		FailureReason:      orgsapi.CreateAccountFailureReason(st.FailureReason),
	}
	if !st.Completed.IsZero() {
		out.CompletedTimestamp = awsjson.At(st.Completed)
	}
	return out
}

// ---- ids --------------------------------------------------------------------------------------------------

const lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomLowerAlnum returns n random characters of [a-z0-9].
func randomLowerAlnum(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(lowerAlnum)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("orgs: no randomness: " + err.Error())
		}
		b[i] = lowerAlnum[v.Int64()]
	}
	return string(b)
}

// randomAccountID returns 12 random digits not starting with 0.
func randomAccountID() string {
	n, err := rand.Int(rand.Reader, big.NewInt(9e11))
	if err != nil {
		panic("orgs: no randomness: " + err.Error())
	}
	return fmt.Sprintf("%012d", n.Int64()+1e11)
}

// ---- pagination -------------------------------------------------------------------------------------------

// NextToken is an opaque encoding of the store marker: the lowercased key of the last record returned. Listings
// are confined to the caller's organization (or account) by their prefix, so a forged token can only move the
// position within what the caller may list anyway.
func encodeToken(marker string) string {
	if marker == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(marker))
}

func decodeToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) == 0 {
		return "", orgsapi.InvalidInput(msgBadNextToken).With("Reason", "INVALID_NEXT_TOKEN")
	}
	return string(b), nil
}

func maxResults(v *int32) int {
	if v == nil {
		return 20
	}
	return int(*v)
}

// page lists up to max records of kind under prefix after marker whose values pass keep; the marker returned is
// "" when nothing is left.
func page[T any](ctx context.Context, r store.Reader, kind store.Kind, account, prefix, marker string, max int, keep func(*T) bool) ([]T, string, error) {
	var out []T
	last := ""
	for {
		pg, err := r.List(ctx, kind, account, prefix, marker, max+1)
		if err != nil {
			return nil, "", err
		}
		for _, rec := range pg.Records {
			var v T
			if err := json.Unmarshal(rec.Data, &v); err != nil {
				return nil, "", fmt.Errorf("orgs: corrupt %s record %q: %w", kind, rec.Key, err)
			}
			if keep != nil && !keep(&v) {
				continue
			}
			if len(out) == max {
				return out, last, nil
			}
			out = append(out, v)
			last = strings.ToLower(rec.Key)
		}
		if pg.Next == "" {
			return out, "", nil
		}
		marker = pg.Next
	}
}

// ---- validation -------------------------------------------------------------------------------------------

// reasons maps the runtime's constraint kinds to InvalidInputException's Reason values.
var reasons = map[awsjson.Constraint]string{
	awsjson.ConstraintRequired:  "INPUT_REQUIRED",
	awsjson.ConstraintMinLength: "MIN_LENGTH_EXCEEDED",
	awsjson.ConstraintMaxLength: "MAX_LENGTH_EXCEEDED",
	awsjson.ConstraintMinValue:  "MIN_VALUE_EXCEEDED",
	awsjson.ConstraintMaxValue:  "MAX_VALUE_EXCEEDED",
	awsjson.ConstraintPattern:   "INVALID_PATTERN",
	awsjson.ConstraintEnum:      "INVALID_ENUM",
}

// Invalid words an input that breaks the model's constraints as Organizations does: InvalidInputException with
// the Reason of the first violation and a message naming every violation.
// https://docs.aws.amazon.com/organizations/latest/APIReference/API_InvalidInputException.html
func Invalid(ve *awsjson.ValidationError) *awsjson.Error {
	reason := "INVALID_INPUT"
	if len(ve.Violations) > 0 {
		reason = reasons[ve.Violations[0].Constraint]
		if ve.Violations[0].Path == "Email" && ve.Violations[0].Constraint == awsjson.ConstraintPattern {
			reason = "INVALID_EMAIL_ADDRESS_TARGET"
		}
		if ve.Violations[0].Path == "RoleName" && ve.Violations[0].Constraint == awsjson.ConstraintPattern {
			reason = "INVALID_ROLE_NAME"
		}
	}
	return orgsapi.InvalidInput("%s", ve.Error()).With("Reason", reason)
}

// validateTags applies the tag rules the model cannot express: at most 50, no key twice.
// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_tagging.html
func validateTags(tags []orgsapi.Tag) error {
	if len(tags) > maxTagsPerAccount {
		return orgsapi.ConstraintViolation(msgTooManyTags).With("Reason", "MAX_TAG_LIMIT_EXCEEDED")
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if seen[t.Key] {
			return orgsapi.InvalidInput(msgDuplicateTag).With("Reason", "DUPLICATE_TAG_KEY")
		}
		seen[t.Key] = true
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return orgsapi.InvalidInput("You provided a tag key that begins with aws:, which is reserved for AWS use.").With("Reason", "INVALID_SYSTEM_TAGS_PARAMETER")
		}
	}
	return nil
}

// requestTagKeys returns aws:RequestTag/KEY and aws:TagKeys for a request that creates tags.
func requestTagKeys(tags []orgsapi.Tag) map[string][]string {
	if len(tags) == 0 {
		return nil
	}
	m := map[string][]string{}
	keys := make([]string, 0, len(tags))
	for _, t := range tags {
		m["aws:RequestTag/"+t.Key] = []string{t.Value}
		keys = append(keys, t.Key)
	}
	m["aws:TagKeys"] = keys
	return m
}

func tagsIn(tags []orgsapi.Tag) []store.Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]store.Tag, len(tags))
	for i, t := range tags {
		out[i] = store.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}
