package orgs

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/awsjson/orgsapi"
	"github.com/persona-iam/persona/internal/iam"
	"github.com/persona-iam/persona/internal/store"
)

// write runs fn in a store transaction and, when it committed, invalidates cached authorization data (new
// accounts bring new roles).
//
// The request's audit record is appended in the same transaction, so an acknowledged change always has its record
// and a rolled-back one has none.
func (s *Service) write(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) error {
	pending := audit.PendingFor(ctx, audit.SourceOrganizations)
	err := s.store.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := fn(ctx, tx); err != nil {
			return err
		}
		return pending.Append(ctx, tx)
	})
	if err == nil {
		pending.Committed()
		s.authz.Invalidate()
	}
	return err
}

func create(ctx context.Context, tx store.Tx, kind store.Kind, account, key, id string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Create(ctx, store.Record{Kind: kind, Account: account, Key: key, ID: id, Data: data})
}

// orgRecordKey is the key of an organization's record under its management account.
const orgRecordKey = "organization"

func memberKey(orgID, account string) string { return orgID + "/" + account }

// CreateOrganization creates an organization whose management account is the caller's.
// https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateOrganization.html
func (s *Service) CreateOrganization(ctx context.Context, in *orgsapi.CreateOrganizationInput) (*orgsapi.CreateOrganizationOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "CreateOrganization", "*", nil); err != nil {
		return nil, err
	}
	featureSet := in.FeatureSet
	if featureSet == "" {
		featureSet = orgsapi.OrganizationFeatureSetAll
	}
	var org store.Organization
	err = s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.GetByID(ctx, store.KindOrgAccount, p.Account); err == nil {
			return orgsapi.AlreadyInOrganization(msgAlreadyInOrg)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var acct store.Account
		if _, err := store.GetJSON(ctx, tx, store.KindAccount, "", p.Account, &acct); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		org = store.Organization{
			ID:                "o-" + randomLowerAlnum(10),
			ManagementAccount: p.Account,
			ManagementEmail:   acct.Email,
			FeatureSet:        string(featureSet),
			Created:           tx.Now(),
		}
		err := create(ctx, tx, store.KindOrganization, p.Account, orgRecordKey, org.ID, &org)
		if errors.Is(err, store.ErrAlreadyExists) {
			return orgsapi.AlreadyInOrganization(msgAlreadyInOrg)
		}
		if err != nil {
			return err
		}
		name := acct.Name
		if name == "" {
			name = p.Account
		}
		// The management account is a member that joined by invitation, as AWS lists it.
		m := store.OrgAccount{OrgID: org.ID, AccountID: p.Account, Name: name, Email: acct.Email,
			State: string(orgsapi.AccountStateActive), JoinedMethod: string(orgsapi.AccountJoinedMethodInvited), Joined: tx.Now()}
		return create(ctx, tx, store.KindOrgAccount, "", memberKey(org.ID, p.Account), p.Account, &m)
	})
	if err != nil {
		return nil, err
	}
	return &orgsapi.CreateOrganizationOutput{Organization: organizationOut(&org)}, nil
}

// DescribeOrganization describes the organization the caller's account belongs to; member accounts may call it.
// https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeOrganization.html
func (s *Service) DescribeOrganization(ctx context.Context, _ *orgsapi.DescribeOrganizationInput) (*orgsapi.DescribeOrganizationOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DescribeOrganization", "*", nil); err != nil {
		return nil, err
	}
	org, err := membership(ctx, s.store, p.Account)
	if err != nil {
		return nil, err
	}
	return &orgsapi.DescribeOrganizationOutput{Organization: organizationOut(org)}, nil
}

// CreateAccount creates a member account with the role that lets the management account administer it.
//
// AWS creates accounts asynchronously: the response reports IN_PROGRESS and DescribeCreateAccountStatus tells
// the outcome. Persona creates the account (or fails) within this call, and answers the same way, so clients
// that poll see SUCCEEDED (or FAILED with its reason, such as EMAIL_ALREADY_EXISTS) on their first poll.
// https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccount.html
func (s *Service) CreateAccount(ctx context.Context, in *orgsapi.CreateAccountInput) (*orgsapi.CreateAccountOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "CreateAccount", "*", requestTagKeys(in.Tags)); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	roleName := in.RoleName
	if roleName == "" {
		roleName = DefaultRoleName
	}
	var st store.CreateAccountStatus
	// The record's responseElements, computed in the transaction once st is known; CloudTrail withholds the name.
	audit.PendingFrom(ctx).RespondWith(func() any {
		return &orgsapi.CreateAccountOutput{CreateAccountStatus: statusOut(&store.CreateAccountStatus{
			ID: st.ID, AccountName: audit.Hidden, State: string(orgsapi.CreateAccountStateInProgress), Requested: st.Requested,
		})}
	})
	err = s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		org, err := managed(ctx, tx, p)
		if err != nil {
			return err
		}
		n, err := tx.Count(ctx, store.KindOrgAccount, "", org.ID+"/")
		if err != nil {
			return err
		}
		if n >= s.maxAccounts {
			return orgsapi.ConstraintViolation(msgAccountLimit).With("Reason", "ACCOUNT_NUMBER_LIMIT_EXCEEDED")
		}
		now := tx.Now()
		st = store.CreateAccountStatus{ID: "car-" + randomLowerAlnum(32), AccountName: in.AccountName, Requested: now}
		account, reason, err := s.createAccount(ctx, tx, org, in, roleName)
		if err != nil {
			return err
		}
		st.Completed = now
		if reason != "" {
			st.State, st.FailureReason = string(orgsapi.CreateAccountStateFailed), reason
		} else {
			st.State, st.AccountID = string(orgsapi.CreateAccountStateSucceeded), account
		}
		return create(ctx, tx, store.KindCreateAccountStatus, p.Account, st.ID, "", &st)
	})
	if err != nil {
		return nil, err
	}
	return &orgsapi.CreateAccountOutput{CreateAccountStatus: statusOut(&store.CreateAccountStatus{
		ID: st.ID, AccountName: st.AccountName, State: string(orgsapi.CreateAccountStateInProgress), Requested: st.Requested,
	})}, nil
}

// createAccount creates the account, its email reservation, its membership and its role within tx, and returns
// the account's id. It returns a CreateAccountFailureReason instead when AWS would fail the request
// asynchronously: the email address already belongs to an account.
func (s *Service) createAccount(ctx context.Context, tx store.Tx, org *store.Organization, in *orgsapi.CreateAccountInput, roleName string) (id, reason string, err error) {
	email := strings.ToLower(in.Email)
	if _, err := tx.Get(ctx, store.KindAccountEmail, "", email); err == nil {
		return "", string(orgsapi.CreateAccountFailureReasonEmailAlreadyExists), nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", "", err
	}
	// Account ids are random, so collisions are rare; look before creating, as a failed insert may abort the
	// transaction on some backends.
	for {
		id = randomAccountID()
		_, err := tx.Get(ctx, store.KindAccount, "", id)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if err != nil {
			return "", "", err
		}
	}
	now := tx.Now()
	acct := store.Account{ID: id, Name: in.AccountName, Email: in.Email, Created: now}
	if err := create(ctx, tx, store.KindAccount, "", id, "", &acct); err != nil {
		return "", "", err
	}
	if err := tx.Create(ctx, store.Record{Kind: store.KindAccountEmail, Key: email, Data: []byte(id)}); err != nil {
		return "", "", err
	}
	m := store.OrgAccount{OrgID: org.ID, AccountID: id, Name: in.AccountName, Email: in.Email,
		State: string(orgsapi.AccountStateActive), JoinedMethod: string(orgsapi.AccountJoinedMethodCreated), Joined: now,
		Tags: tagsIn(in.Tags)}
	if err := create(ctx, tx, store.KindOrgAccount, "", memberKey(org.ID, id), id, &m); err != nil {
		return "", "", err
	}
	_, err = iam.ProvisionRole(ctx, tx, id, iam.ProvisionedRole{
		Name:        roleName,
		TrustPolicy: trustManagement(org.ManagementAccount),
		PolicyARNs:  []string{administratorAccess},
	})
	if err != nil {
		return "", "", err
	}
	return id, "", nil
}

// trustManagement is the trust policy of the role in a new account: the management account may assume it.
func trustManagement(mgmt string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + mgmt +
		`:root"},"Action":"sts:AssumeRole"}]}`
}

// DescribeCreateAccountStatus reports a CreateAccount request of the caller's organization.
// https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeCreateAccountStatus.html
func (s *Service) DescribeCreateAccountStatus(ctx context.Context, in *orgsapi.DescribeCreateAccountStatusInput) (*orgsapi.DescribeCreateAccountStatusOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DescribeCreateAccountStatus", "*", nil); err != nil {
		return nil, err
	}
	org, err := managed(ctx, s.store, p)
	if err != nil {
		return nil, err
	}
	var st store.CreateAccountStatus
	// Requests are kept under the management account that made them: another organization's request id is not
	// found, whoever guesses it.
	_, err = store.GetJSON(ctx, s.store, store.KindCreateAccountStatus, org.ManagementAccount, in.CreateAccountRequestId, &st)
	if errors.Is(err, store.ErrNotFound) {
		return nil, orgsapi.CreateAccountStatusNotFound(msgNoStatus)
	}
	if err != nil {
		return nil, err
	}
	return &orgsapi.DescribeCreateAccountStatusOutput{CreateAccountStatus: statusOut(&st)}, nil
}

// ListCreateAccountStatus lists the organization's CreateAccount requests, optionally only those in States.
// https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListCreateAccountStatus.html
func (s *Service) ListCreateAccountStatus(ctx context.Context, in *orgsapi.ListCreateAccountStatusInput) (*orgsapi.ListCreateAccountStatusOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListCreateAccountStatus", "*", nil); err != nil {
		return nil, err
	}
	marker, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	org, err := managed(ctx, s.store, p)
	if err != nil {
		return nil, err
	}
	var keep func(*store.CreateAccountStatus) bool
	if len(in.States) > 0 {
		keep = func(st *store.CreateAccountStatus) bool {
			for _, want := range in.States {
				if string(want) == st.State {
					return true
				}
			}
			return false
		}
	}
	sts, next, err := page(ctx, s.store, store.KindCreateAccountStatus, org.ManagementAccount, "", marker, maxResults(in.MaxResults), keep)
	if err != nil {
		return nil, err
	}
	out := &orgsapi.ListCreateAccountStatusOutput{CreateAccountStatuses: []orgsapi.CreateAccountStatus{}, NextToken: encodeToken(next)}
	for i := range sts {
		out.CreateAccountStatuses = append(out.CreateAccountStatuses, *statusOut(&sts[i]))
	}
	return out, nil
}

// ListAccounts lists the accounts of the caller's organization, the management account included, by account id.
// https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html
func (s *Service) ListAccounts(ctx context.Context, in *orgsapi.ListAccountsInput) (*orgsapi.ListAccountsOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListAccounts", "*", nil); err != nil {
		return nil, err
	}
	marker, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	org, err := managed(ctx, s.store, p)
	if err != nil {
		return nil, err
	}
	members, next, err := page[store.OrgAccount](ctx, s.store, store.KindOrgAccount, "", org.ID+"/", marker, maxResults(in.MaxResults), nil)
	if err != nil {
		return nil, err
	}
	out := &orgsapi.ListAccountsOutput{Accounts: []orgsapi.Account{}, NextToken: encodeToken(next)}
	for i := range members {
		out.Accounts = append(out.Accounts, accountOut(org, &members[i]))
	}
	return out, nil
}

// DescribeAccount describes an account of the caller's organization.
// https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeAccount.html
func (s *Service) DescribeAccount(ctx context.Context, in *orgsapi.DescribeAccountInput) (*orgsapi.DescribeAccountOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	org, err := membership(ctx, s.store, p.Account)
	if err != nil {
		return nil, err
	}
	// The account resource names the management account and the organization, so a member account's principal is
	// denied by the policy engine as a cross-account caller unless the management account lets it.
	// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsorganizations.html
	if err := s.authorize(ctx, "DescribeAccount", accountARN(org, in.AccountId), nil); err != nil {
		return nil, err
	}
	if org.ManagementAccount != p.Account {
		return nil, orgsapi.AccessDenied(msgNotManagement)
	}
	var m store.OrgAccount
	_, err = store.GetJSON(ctx, s.store, store.KindOrgAccount, "", memberKey(org.ID, in.AccountId), &m)
	if errors.Is(err, store.ErrNotFound) {
		return nil, orgsapi.AccountNotFound(msgNoAccount)
	}
	if err != nil {
		return nil, err
	}
	a := accountOut(org, &m)
	return &orgsapi.DescribeAccountOutput{Account: &a}, nil
}
