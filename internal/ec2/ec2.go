// Package ec2 models the part of EC2 that decides who a workload is: instances (and container tasks) registered
// in an account, their instance profile associations, and the identity exchange that hands an instance its
// profile's role credentials. It sees typed inputs and outputs and the store interface, never HTTP.
//
// How the server trusts an instance, as EC2 does: the instance's role credentials are issued only while an
// instance profile is associated with it, and only if the profile's role trusts the service principal
// (ec2.amazonaws.com, or ecs-tasks.amazonaws.com for task roles) for sts:AssumeRole. The session is named after
// the instance id and carries ec2:SourceInstanceARN. The instance proves who it is with an instance secret: a
// SigV4 signing key for the exchange only, sealed at rest, revoked by TerminateInstances or
// ResetInstanceIdentity, and never a credential for any AWS API.
package ec2

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery"
	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/policy"
	"github.com/persona-iam/persona/policy/condition"
)

// Service principals a role must trust for the exchange.
const (
	EC2Principal      = "ec2.amazonaws.com"
	ECSTasksPrincipal = "ecs-tasks.amazonaws.com"
)

// DefaultSessionDuration is how long exchanged role credentials last. The agent renews them 15 minutes ahead.
const DefaultSessionDuration = time.Hour

// maxInstancesPerAccount bounds registrations, so one account cannot fill the store.
const maxInstancesPerAccount = 10000

// Credentials are minted role credentials.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	Expiration                                 time.Time
}

// Session describes the role session the exchange asks the minter for, after it has decided to grant it.
type Session struct {
	RoleARN, RoleID string
	// SessionName is the instance id.
	SessionName string
	Duration    time.Duration
	// SourceInstanceARN is ec2:SourceInstanceARN (arn:aws:ec2:REGION:ACCOUNT:instance/ID).
	SourceInstanceARN string
	// ServicePrincipal is the service the session was issued through.
	ServicePrincipal string
}

// Minter mints role credentials (STS's token ring).
type Minter func(ctx context.Context, s Session, now time.Time) (*Credentials, error)

// Config holds the service's dependencies.
type Config struct {
	Store store.Store
	Box   *secrets.Box
	Authz *authz.Authorizer
	// Mint issues role credentials; without it every exchange answers CredentialsUnavailable.
	Mint Minter
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Partition and Region of the ARNs and documents; "aws" and "us-east-1" when empty.
	Partition, Region string
	// SessionDuration is how long exchanged credentials last; DefaultSessionDuration when 0.
	SessionDuration time.Duration
}

// Service implements the instance operations.
type Service struct{ cfg Config }

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Partition == "" {
		cfg.Partition = "aws"
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.SessionDuration == 0 {
		cfg.SessionDuration = DefaultSessionDuration
	}
	return &Service{cfg: cfg}
}

// SetMinter installs the credential minter (for wiring done after New).
func (s *Service) SetMinter(m Minter) { s.cfg.Mint = m }

// InstanceARN is arn:PARTITION:ec2:REGION:ACCOUNT:instance/ID.
func (s *Service) InstanceARN(region, account, id string) string {
	return arn.ARN{Partition: s.cfg.Partition, Service: "ec2", Region: region, AccountID: account, Resource: "instance/" + id}.String()
}

func (s *Service) authorize(ctx context.Context, action, resource string) error {
	return s.cfg.Authz.Authorize(ctx, action, resource, nil)
}

// EC2-style errors (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
func instanceNotFound(id string) error {
	return awsquery.NewError("InvalidInstanceID.NotFound", http.StatusBadRequest, "The instance ID '%s' does not exist", id)
}

func malformedInstanceID(id string) error {
	return awsquery.NewError("InvalidInstanceID.Malformed", http.StatusBadRequest, "Invalid id: \"%s\" (expecting \"i-...\")", id)
}

func associationNotFound(id string) error {
	return awsquery.NewError("InvalidAssociationID.NotFound", http.StatusBadRequest, "The association ID '%s' does not exist", id)
}

func missingParameter(name string) error {
	return awsquery.NewError("MissingParameter", http.StatusBadRequest, "The request must contain the parameter %s", name)
}

func invalidProfile(what string) error {
	return awsquery.NewError("InvalidParameterValue", http.StatusBadRequest,
		"Value (%s) for parameter iamInstanceProfile is invalid. Invalid IAM Instance Profile name or ARN", what)
}

var (
	instanceIDRe    = regexp.MustCompile(`^i-[0-9a-f]{8}([0-9a-f]{9})?$`)
	associationIDRe = regexp.MustCompile(`^iip-assoc-[0-9a-f]{17}$`)
)

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic("ec2: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)[:n]
}

// newSecret returns 40 base64 characters (240 bits), the size of an AWS secret access key.
func newSecret() string {
	b := make([]byte, 30)
	if _, err := rand.Read(b); err != nil {
		panic("ec2: no randomness: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(b)
}

// ProfileRef names an instance profile by ARN or name, as IamInstanceProfileSpecification does.
type ProfileRef struct{ ARN, Name string }

// resolveProfile finds the instance profile and its role in account, and authorizes iam:PassRole on the role:
// associating a profile hands its role to the instance, so the caller must be allowed to pass that role, as AWS
// requires (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2.html#roles-usingrole-ec2instance-permissions).
// service is the instance's service principal, the service the role is passed to (iam:PassedToService): a caller
// allowed to pass roles to EC2 only must not hand a role to a container task that assumes it as ECS.
func (s *Service) resolveProfile(ctx context.Context, account string, ref ProfileRef, service string) (*profile, error) {
	if service == "" {
		service = EC2Principal
	}
	name := ref.Name
	if ref.ARN != "" {
		a, err := arn.Parse(ref.ARN)
		if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "instance-profile/") {
			return nil, invalidProfile(ref.ARN)
		}
		if a.AccountID != account {
			// An instance can only use a profile of its own account.
			return nil, invalidProfile(ref.ARN)
		}
		name = a.Resource[strings.LastIndex(a.Resource, "/")+1:]
		if ref.Name != "" && !strings.EqualFold(ref.Name, name) {
			return nil, awsquery.NewError("InvalidParameterCombination", http.StatusBadRequest,
				"The parameters iamInstanceProfile.arn and iamInstanceProfile.name name different instance profiles")
		}
	}
	if name == "" {
		return nil, missingParameter("IamInstanceProfile")
	}
	p, err := loadProfile(ctx, s.cfg.Store, s.cfg.Partition, account, name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, invalidProfile(firstNonEmpty(ref.ARN, ref.Name))
		}
		return nil, err
	}
	if ref.ARN != "" && p.ARN != ref.ARN {
		return nil, invalidProfile(ref.ARN) // same name, other path
	}
	if p.role != nil {
		if err := s.cfg.Authz.Authorize(ctx, "iam:PassRole", p.role.ARN, map[string][]string{"iam:PassedToService": {service}}); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// RegisterInput registers an instance. It is Persona's stand-in for launching one: the host exists already.
type RegisterInput struct {
	InstanceType, ImageID, PrivateIP, AvailabilityZone string
	// Profile is the instance profile to associate at once, if any.
	Profile ProfileRef
	// ServicePrincipal is ec2.amazonaws.com (default) or ecs-tasks.amazonaws.com for a container task.
	ServicePrincipal string
}

// RegisterOutput is the new instance and its secret, which is shown this once.
type RegisterOutput struct {
	Instance    *store.Instance
	Account     string
	Secret      secrets.Secret
	Association *store.InstanceAssociation
}

// RegisterInstance registers a workload host, authorized as ec2:RunInstances on the new instance's ARN (and
// iam:PassRole on the profile's role when one is given).
func (s *Service) RegisterInstance(ctx context.Context, in *RegisterInput) (*RegisterOutput, error) {
	p := authz.PrincipalFrom(ctx)
	if p == nil {
		return nil, errors.New("ec2: no principal in context")
	}
	principal := in.ServicePrincipal
	switch principal {
	case "", EC2Principal:
		principal = EC2Principal
	case ECSTasksPrincipal:
	default:
		return nil, awsquery.NewError("InvalidParameterValue", http.StatusBadRequest,
			"Value (%s) for parameter ServicePrincipal is invalid. Expected %s or %s", in.ServicePrincipal, EC2Principal, ECSTasksPrincipal)
	}
	if err := validateRegister(in); err != nil {
		return nil, err
	}
	id := "i-" + randomHex(17)
	if err := s.authorize(ctx, "ec2:RunInstances", s.InstanceARN(s.cfg.Region, p.Account, id)); err != nil {
		return nil, err
	}
	var prof *profile
	if in.Profile != (ProfileRef{}) {
		var err error
		if prof, err = s.resolveProfile(ctx, p.Account, in.Profile, principal); err != nil {
			return nil, err
		}
	}
	secret := newSecret()
	az := in.AvailabilityZone
	if az == "" {
		az = s.cfg.Region + "a"
	}
	inst := &store.Instance{
		ID: id, Region: s.cfg.Region, AvailabilityZone: az, InstanceType: in.InstanceType, ImageID: in.ImageID,
		PrivateIP: in.PrivateIP, ServicePrincipal: principal,
		Secret: s.cfg.Box.Seal([]byte(secret), []byte(id)),
	}
	err := s.cfg.Store.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		n, err := tx.Count(ctx, store.KindInstance, p.Account, "")
		if err != nil {
			return err
		}
		if n >= maxInstancesPerAccount {
			return awsquery.NewError("InstanceLimitExceeded", http.StatusBadRequest,
				"You have requested more instances (%d) than your current instance limit of %d allows.", n+1, maxInstancesPerAccount)
		}
		now := tx.Now()
		inst.Launched, inst.SecretCreated = now, now
		if prof != nil {
			inst.Association = s.newAssociation(id, prof, now)
			if err := putJSON(ctx, tx, true, store.KindInstanceAssociation, p.Account, inst.Association.ID, inst.Association.ID, inst.Association); err != nil {
				return err
			}
		}
		return putJSON(ctx, tx, true, store.KindInstance, p.Account, id, id, inst)
	})
	if err != nil {
		return nil, err
	}
	return &RegisterOutput{Instance: inst, Account: p.Account, Secret: secrets.Secret(secret), Association: inst.Association}, nil
}

var (
	instanceTypeRe = regexp.MustCompile(`^[a-z0-9-]{1,16}\.[a-z0-9-]{1,16}$`)
	imageIDRe      = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)
	azRe           = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d[a-z]$`)
)

// validateRegister checks the optional descriptive fields, table-driven.
func validateRegister(in *RegisterInput) error {
	for _, c := range []struct {
		name, value string
		ok          func(string) bool
	}{
		{"InstanceType", in.InstanceType, instanceTypeRe.MatchString},
		{"ImageId", in.ImageID, imageIDRe.MatchString},
		{"Placement.AvailabilityZone", in.AvailabilityZone, azRe.MatchString},
		{"PrivateIpAddress", in.PrivateIP, validIPv4},
	} {
		if c.value != "" && !c.ok(c.value) {
			return awsquery.NewError("InvalidParameterValue", http.StatusBadRequest, "Value (%s) for parameter %s is invalid.", c.value, c.name)
		}
	}
	return nil
}

func validIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
			return false
		}
		n := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				return false
			}
			n = n*10 + int(c-'0')
		}
		if n > 255 {
			return false
		}
	}
	return true
}

func (s *Service) newAssociation(instanceID string, p *profile, now time.Time) *store.InstanceAssociation {
	return &store.InstanceAssociation{ID: "iip-assoc-" + randomHex(17), InstanceID: instanceID,
		ProfileName: p.Name, ProfileARN: p.ARN, ProfileID: p.ID, Associated: now}
}

func putJSON(ctx context.Context, tx store.Tx, create bool, kind store.Kind, account, key, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	r := store.Record{Kind: kind, Account: account, Key: key, ID: id, Data: b}
	if create {
		return tx.Create(ctx, r)
	}
	return tx.Update(ctx, r)
}

// loadInstance loads an instance of the caller's account and authorizes action on it. An instance of another
// account is answered as one that does not exist, so ids cannot be probed across accounts.
func (s *Service) loadInstance(ctx context.Context, r store.Reader, action, id string) (*store.Instance, string, error) {
	p := authz.PrincipalFrom(ctx)
	if p == nil {
		return nil, "", errors.New("ec2: no principal in context")
	}
	if id == "" {
		return nil, "", missingParameter("InstanceId")
	}
	if !instanceIDRe.MatchString(id) {
		return nil, "", malformedInstanceID(id)
	}
	if err := s.authorize(ctx, action, s.InstanceARN(s.cfg.Region, p.Account, id)); err != nil {
		return nil, "", err
	}
	var inst store.Instance
	if _, err := store.GetJSON(ctx, r, store.KindInstance, p.Account, id, &inst); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, "", instanceNotFound(id)
		}
		return nil, "", err
	}
	return &inst, p.Account, nil
}

// AssociationOutput is an IamInstanceProfileAssociation.
type AssociationOutput struct {
	Association *store.InstanceAssociation
	State       string
}

// AssociateIamInstanceProfile associates an instance profile with an instance that has none.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AssociateIamInstanceProfile.html
func (s *Service) AssociateIamInstanceProfile(ctx context.Context, instanceID string, ref ProfileRef) (*AssociationOutput, error) {
	inst, account, err := s.loadInstance(ctx, s.cfg.Store, "ec2:AssociateIamInstanceProfile", instanceID)
	if err != nil {
		return nil, err
	}
	if ref == (ProfileRef{}) {
		return nil, missingParameter("IamInstanceProfile")
	}
	prof, err := s.resolveProfile(ctx, account, ref, inst.ServicePrincipal)
	if err != nil {
		return nil, err
	}
	if inst.Association != nil {
		return nil, awsquery.NewError("IncorrectState", http.StatusBadRequest,
			"There is an existing association for instance %s", inst.ID)
	}
	var out *store.InstanceAssociation
	err = s.cfg.Store.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		var cur store.Instance
		if _, err := store.GetJSON(ctx, tx, store.KindInstance, account, instanceID, &cur); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return instanceNotFound(instanceID)
			}
			return err
		}
		if cur.Association != nil {
			return awsquery.NewError("IncorrectState", http.StatusBadRequest, "There is an existing association for instance %s", cur.ID)
		}
		out = s.newAssociation(cur.ID, prof, tx.Now())
		cur.Association = out
		if err := putJSON(ctx, tx, true, store.KindInstanceAssociation, account, out.ID, out.ID, out); err != nil {
			return err
		}
		return putJSON(ctx, tx, false, store.KindInstance, account, cur.ID, cur.ID, &cur)
	})
	if err != nil {
		return nil, err
	}
	return &AssociationOutput{Association: out, State: "associating"}, nil
}

// loadAssociation finds an association of the caller's account and its instance, authorizing action on the
// instance.
func (s *Service) loadAssociation(ctx context.Context, action, associationID string) (*store.InstanceAssociation, string, error) {
	p := authz.PrincipalFrom(ctx)
	if p == nil {
		return nil, "", errors.New("ec2: no principal in context")
	}
	if associationID == "" {
		return nil, "", missingParameter("AssociationId")
	}
	var as store.InstanceAssociation
	if !associationIDRe.MatchString(associationID) {
		return nil, "", associationNotFound(associationID)
	}
	if _, err := store.GetJSON(ctx, s.cfg.Store, store.KindInstanceAssociation, p.Account, associationID, &as); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// Authorize against a wildcard first, so a caller allowed nothing learns nothing.
			if err := s.authorize(ctx, action, s.InstanceARN(s.cfg.Region, p.Account, "*")); err != nil {
				return nil, "", err
			}
			return nil, "", associationNotFound(associationID)
		}
		return nil, "", err
	}
	if err := s.authorize(ctx, action, s.InstanceARN(s.cfg.Region, p.Account, as.InstanceID)); err != nil {
		return nil, "", err
	}
	return &as, p.Account, nil
}

// DisassociateIamInstanceProfile removes an association: the instance's next exchange gets no credentials.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DisassociateIamInstanceProfile.html
func (s *Service) DisassociateIamInstanceProfile(ctx context.Context, associationID string) (*AssociationOutput, error) {
	as, account, err := s.loadAssociation(ctx, "ec2:DisassociateIamInstanceProfile", associationID)
	if err != nil {
		return nil, err
	}
	err = s.cfg.Store.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.Delete(ctx, store.KindInstanceAssociation, account, as.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return associationNotFound(as.ID)
			}
			return err
		}
		var inst store.Instance
		if _, err := store.GetJSON(ctx, tx, store.KindInstance, account, as.InstanceID, &inst); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		}
		if inst.Association != nil && inst.Association.ID == as.ID {
			inst.Association = nil
			return putJSON(ctx, tx, false, store.KindInstance, account, inst.ID, inst.ID, &inst)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &AssociationOutput{Association: as, State: "disassociating"}, nil
}

// ReplaceIamInstanceProfileAssociation swaps the instance profile of an association (the new association has a
// new id), without a window in which the instance has none.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ReplaceIamInstanceProfileAssociation.html
func (s *Service) ReplaceIamInstanceProfileAssociation(ctx context.Context, associationID string, ref ProfileRef) (*AssociationOutput, error) {
	as, account, err := s.loadAssociation(ctx, "ec2:ReplaceIamInstanceProfileAssociation", associationID)
	if err != nil {
		return nil, err
	}
	if ref == (ProfileRef{}) {
		return nil, missingParameter("IamInstanceProfile")
	}
	// The role is passed to the service the instance runs as; the transaction below re-reads the instance.
	var owner store.Instance
	if _, err := store.GetJSON(ctx, s.cfg.Store, store.KindInstance, account, as.InstanceID, &owner); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, associationNotFound(as.ID)
		}
		return nil, err
	}
	prof, err := s.resolveProfile(ctx, account, ref, owner.ServicePrincipal)
	if err != nil {
		return nil, err
	}
	var out *store.InstanceAssociation
	err = s.cfg.Store.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		var inst store.Instance
		if _, err := store.GetJSON(ctx, tx, store.KindInstance, account, as.InstanceID, &inst); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return associationNotFound(as.ID)
			}
			return err
		}
		if inst.Association == nil || inst.Association.ID != as.ID {
			return associationNotFound(as.ID)
		}
		if err := tx.Delete(ctx, store.KindInstanceAssociation, account, as.ID); err != nil {
			return err
		}
		out = s.newAssociation(inst.ID, prof, tx.Now())
		inst.Association = out
		if err := putJSON(ctx, tx, true, store.KindInstanceAssociation, account, out.ID, out.ID, out); err != nil {
			return err
		}
		return putJSON(ctx, tx, false, store.KindInstance, account, inst.ID, inst.ID, &inst)
	})
	if err != nil {
		return nil, err
	}
	return &AssociationOutput{Association: out, State: "associating"}, nil
}

// DescribeInput filters DescribeIamInstanceProfileAssociations.
type DescribeInput struct {
	AssociationIDs []string
	// InstanceIDs and States are the instance-id and state filters.
	InstanceIDs, States []string
	MaxResults          int
	NextToken           string
}

// DescribeIamInstanceProfileAssociations lists the account's associations (all "associated": Persona applies an
// association at once), in association-id order, paged.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeIamInstanceProfileAssociations.html
func (s *Service) DescribeIamInstanceProfileAssociations(ctx context.Context, in *DescribeInput) ([]AssociationOutput, string, error) {
	p := authz.PrincipalFrom(ctx)
	if p == nil {
		return nil, "", errors.New("ec2: no principal in context")
	}
	if err := s.authorize(ctx, "ec2:DescribeIamInstanceProfileAssociations", "*"); err != nil {
		return nil, "", err
	}
	if in.MaxResults != 0 && (in.MaxResults < 5 || in.MaxResults > 1000) {
		return nil, "", awsquery.NewError("InvalidParameterValue", http.StatusBadRequest,
			"Value ( %d ) for parameter maxResults is invalid. Parameter must be between 5 and 1000.", in.MaxResults)
	}
	if len(in.AssociationIDs) > 0 && (in.MaxResults != 0 || in.NextToken != "") {
		return nil, "", awsquery.NewError("InvalidParameterCombination", http.StatusBadRequest,
			"The parameter AssociationIds cannot be used with the parameters MaxResults or NextToken")
	}
	max := in.MaxResults
	if max == 0 {
		max = 1000
	}
	marker := ""
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil || !associationIDRe.Match(b) {
			return nil, "", awsquery.NewError("InvalidParameterValue", http.StatusBadRequest, "Invalid value '%s' for nextToken", in.NextToken)
		}
		marker = string(b)
	}
	stateOK := len(in.States) == 0 || slices.Contains(in.States, "associated")
	var out []AssociationOutput
	if len(in.AssociationIDs) > 0 {
		for _, id := range in.AssociationIDs {
			var as store.InstanceAssociation
			if _, err := store.GetJSON(ctx, s.cfg.Store, store.KindInstanceAssociation, p.Account, id, &as); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return nil, "", associationNotFound(id)
				}
				return nil, "", err
			}
			if stateOK && (len(in.InstanceIDs) == 0 || slices.Contains(in.InstanceIDs, as.InstanceID)) {
				out = append(out, AssociationOutput{Association: &as, State: "associated"})
			}
		}
		return out, "", nil
	}
	for {
		page, err := s.cfg.Store.List(ctx, store.KindInstanceAssociation, p.Account, "", marker, max)
		if err != nil {
			return nil, "", err
		}
		for _, r := range page.Records {
			var as store.InstanceAssociation
			if err := json.Unmarshal(r.Data, &as); err != nil {
				return nil, "", fmt.Errorf("ec2: corrupt association %s: %w", r.Key, err)
			}
			marker = strings.ToLower(r.Key)
			if !stateOK || (len(in.InstanceIDs) > 0 && !slices.Contains(in.InstanceIDs, as.InstanceID)) {
				continue
			}
			out = append(out, AssociationOutput{Association: &as, State: "associated"})
			if len(out) == max {
				// The token is the last association returned; a following page may be empty, as EC2's may.
				return out, base64.RawURLEncoding.EncodeToString([]byte(marker)), nil
			}
		}
		if page.Next == "" {
			return out, "", nil
		}
	}
}

// TerminateInstances deregisters instances: their secrets stop authenticating at once and their associations go.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_TerminateInstances.html
func (s *Service) TerminateInstances(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, missingParameter("InstanceId")
	}
	var insts []*store.Instance
	var account string
	for _, id := range ids {
		inst, acct, err := s.loadInstance(ctx, s.cfg.Store, "ec2:TerminateInstances", id)
		if err != nil {
			return nil, err
		}
		insts, account = append(insts, inst), acct
	}
	err := s.cfg.Store.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		for _, inst := range insts {
			if err := tx.Delete(ctx, store.KindInstance, account, inst.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if inst.Association != nil {
				if err := tx.Delete(ctx, store.KindInstanceAssociation, account, inst.Association.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// ResetInstanceIdentity issues a new instance secret; the old one stops authenticating at once. It is authorized
// as ec2:ModifyInstanceAttribute on the instance.
func (s *Service) ResetInstanceIdentity(ctx context.Context, id string) (secrets.Secret, error) {
	inst, account, err := s.loadInstance(ctx, s.cfg.Store, "ec2:ModifyInstanceAttribute", id)
	if err != nil {
		return "", err
	}
	secret := newSecret()
	err = s.cfg.Store.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		var cur store.Instance
		if _, err := store.GetJSON(ctx, tx, store.KindInstance, account, inst.ID, &cur); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return instanceNotFound(id)
			}
			return err
		}
		cur.Secret, cur.SecretCreated = s.cfg.Box.Seal([]byte(secret), []byte(cur.ID)), tx.Now()
		return putJSON(ctx, tx, false, store.KindInstance, account, cur.ID, cur.ID, &cur)
	})
	if err != nil {
		return "", err
	}
	return secrets.Secret(secret), nil
}

// Identity is an authenticated instance.
type Identity struct {
	Instance *store.Instance
	Account  string
}

// Secret returns the instance's secret, for verifying the exchange's signature, and the instance. It returns
// store.ErrNotFound (wrapped) for an unknown (or terminated) instance.
func (s *Service) Secret(ctx context.Context, instanceID string) ([]byte, *Identity, error) {
	if !instanceIDRe.MatchString(instanceID) {
		return nil, nil, store.ErrNotFound
	}
	rec, err := s.cfg.Store.GetByID(ctx, store.KindInstance, instanceID)
	if err != nil {
		return nil, nil, err
	}
	var inst store.Instance
	if err := json.Unmarshal(rec.Data, &inst); err != nil {
		return nil, nil, fmt.Errorf("ec2: corrupt instance %s: %w", instanceID, err)
	}
	secret, err := s.cfg.Box.Open(inst.Secret, []byte(inst.ID))
	if err != nil {
		return nil, nil, fmt.Errorf("ec2: instance %s: %w", instanceID, err)
	}
	return secret, &Identity{Instance: &inst, Account: rec.Account}, nil
}

// ExchangeOutput is what an authenticated instance receives.
type ExchangeOutput struct {
	Identity    *Identity
	ProfileARN  string
	ProfileID   string
	RoleName    string
	RoleARN     string
	Code        string
	Message     string
	Credentials *Credentials
}

// Exchange issues the role credentials of an authenticated instance's instance profile, if the role trusts the
// instance's service principal for sts:AssumeRole, exactly the check AWS makes when it delivers instance profile
// credentials. Otherwise Code and Message say why, as IMDS's iam/info does.
func (s *Service) Exchange(ctx context.Context, id *Identity) (*ExchangeOutput, error) {
	inst := id.Instance
	out := &ExchangeOutput{Identity: id, Code: "Success"}
	as := inst.Association
	if as == nil {
		return out, nil
	}
	out.ProfileARN, out.ProfileID = as.ProfileARN, as.ProfileID
	prof, err := loadProfile(ctx, s.cfg.Store, s.cfg.Partition, id.Account, as.ProfileName)
	if errors.Is(err, store.ErrNotFound) || (err == nil && prof.ID != as.ProfileID) {
		out.Code, out.Message = "InstanceProfileNotFound", fmt.Sprintf("Instance profile %s no longer exists.", as.ProfileARN)
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if prof.role == nil {
		out.Code, out.Message = "NoRoleInInstanceProfile", fmt.Sprintf("Instance profile %s contains no role.", as.ProfileARN)
		return out, nil
	}
	out.RoleName, out.RoleARN = prof.role.Name, prof.role.ARN
	instanceARN := s.InstanceARN(inst.Region, id.Account, inst.ID)
	trusted, err := s.trusts(prof.role, inst.ServicePrincipal, id.Account, instanceARN)
	if err != nil {
		return nil, err
	}
	if !trusted {
		out.Code = "AssumeRoleUnauthorizedAccess"
		out.Message = fmt.Sprintf("%s cannot assume the role %s. Please see documentation at https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2.html#troubleshoot_iam-ec2_errors-info-doc.",
			strings.TrimSuffix(inst.ServicePrincipal, ".amazonaws.com"), prof.role.Name)
		return out, nil
	}
	if s.cfg.Mint == nil {
		out.Code, out.Message = "CredentialsUnavailable", "The server cannot mint role credentials (no session-token keyring)."
		return out, nil
	}
	creds, err := s.cfg.Mint(ctx, Session{
		RoleARN: prof.role.ARN, RoleID: prof.role.ID, SessionName: inst.ID, Duration: s.cfg.SessionDuration,
		SourceInstanceARN: instanceARN, ServicePrincipal: inst.ServicePrincipal,
	}, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	out.Credentials = creds
	return out, nil
}

// trusts evaluates the role's trust policy for the service principal asking sts:AssumeRole on the role, with
// aws:SourceAccount and aws:SourceArn naming the instance (the confused-deputy keys AWS documents for service
// principals). Fail closed: a trust policy that does not compile trusts no one.
func (s *Service) trusts(r *role, service, account, sourceARN string) (bool, error) {
	parsed, err := policy.Parse([]byte(r.TrustPolicy))
	if err != nil {
		return false, nil
	}
	compiled, err := policy.Compile(parsed, policy.KindTrust, r.ID)
	if err != nil {
		return false, nil
	}
	res := policy.Evaluate(&policy.Set{Resource: compiled}, &policy.Request{
		Principal:       policy.Caller{Type: policy.CallerService, ARN: service},
		Action:          "sts:AssumeRole",
		Resource:        r.ARN,
		ResourceAccount: account,
		Context: condition.NewMapContext(map[string][]string{
			"aws:SourceAccount":         {account},
			"aws:SourceArn":             {sourceARN},
			"aws:PrincipalIsAWSService": {"true"},
			"aws:PrincipalServiceName":  {service},
		}),
	})
	return res.Decision == policy.Allow, nil
}
