package sts

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery/stsapi"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/token"
)

// Durations of GetSessionToken and GetFederationToken.
// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
const (
	defaultUserSession = 12 * time.Hour
	maxRootSession     = time.Hour
)

// longTermOnly refuses a call made with temporary credentials, as AWS refuses GetSessionToken and
// GetFederationToken ("Cannot call GetSessionToken with session credentials").
func longTermOnly(p *authz.Principal, op string) error {
	if p.Session != nil || (p.Type != authz.IAMUser && p.Type != authz.Root) {
		return stsapi.AccessDenied("Cannot call %s with session credentials", op)
	}
	return nil
}

// stsCallAllowed applies AWS's limits on what temporary credentials may call in STS: GetSessionToken credentials
// only AssumeRole and GetCallerIdentity, federated users only GetCallerIdentity.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_request.html#stsapi_comparison
func stsCallAllowed(p *authz.Principal, action, resource string) error {
	if p.Type == authz.FederatedUser || (p.Session != nil && p.Session.Kind == token.KindSessionToken.String()) {
		return &authz.DeniedError{PrincipalARN: p.ARN, Action: action, Resource: resource}
	}
	return nil
}

func sessionDuration(in *int32, def time.Duration, root bool) time.Duration {
	d := def
	if in != nil {
		d = time.Duration(*in) * time.Second
	}
	// The root user's sessions last at most an hour: longer requests get an hour, as AWS documents.
	if root && d > maxRootSession {
		d = maxRootSession
	}
	return d
}

// GetSessionToken returns temporary credentials for an IAM user or the root user, optionally MFA-authenticated.
// It needs no permission: it authenticates, it does not authorize.
// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
func (s *Service) GetSessionToken(ctx context.Context, in *stsapi.GetSessionTokenInput) (*stsapi.GetSessionTokenOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := longTermOnly(p, "GetSessionToken"); err != nil {
		return nil, err
	}
	now := s.now()
	sess := &token.Session{Kind: token.KindSessionToken, Account: p.Account, PrincipalARN: p.ARN, PrincipalID: p.UserID}
	if in.SerialNumber != "" || in.TokenCode != "" {
		if err := s.verifyMFA(ctx, p, in.SerialNumber, in.TokenCode); err != nil {
			return nil, err
		}
		sess.MFA, sess.MFAAuthTime = true, now
	}
	creds, err := Mint(s.tokens, sess, now, sessionDuration(in.DurationSeconds, defaultUserSession, p.Type == authz.Root))
	if err != nil {
		return nil, err
	}
	return &stsapi.GetSessionTokenOutput{Credentials: creds}, nil
}

// GetFederationToken returns temporary credentials for a federated user: the calling IAM user's permissions
// narrowed by the session policies passed, which are required for the federated user to be allowed anything.
// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html
func (s *Service) GetFederationToken(ctx context.Context, in *stsapi.GetFederationTokenInput) (*stsapi.GetFederationTokenOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := longTermOnly(p, "GetFederationToken"); err != nil {
		return nil, err
	}
	fedARN := arn.FederatedUser(s.partition, p.Account, in.Name).String()
	req, err := s.sessionRequest(p, p.Account, in.Policy, in.PolicyArns, in.Tags, nil, "")
	if err != nil {
		return nil, err
	}
	keys := req.conditionKeys()
	if err := s.authz.Authorize(ctx, "sts:GetFederationToken", fedARN, keys); err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 {
		if err := s.authz.Authorize(ctx, "sts:TagSession", fedARN, keys); err != nil {
			return nil, err
		}
	}
	now := s.now()
	creds, err := Mint(s.tokens, &token.Session{
		Kind: token.KindFederation, Account: p.Account, PrincipalARN: p.ARN, PrincipalID: p.UserID, SessionName: in.Name,
		Tags: req.tags, Policy: in.Policy, PolicyARNs: req.policyARNs,
	}, now, sessionDuration(in.DurationSeconds, defaultUserSession, p.Type == authz.Root))
	if err != nil {
		return nil, err
	}
	out := &stsapi.GetFederationTokenOutput{
		Credentials:   creds,
		FederatedUser: &stsapi.FederatedUser{FederatedUserId: p.Account + ":" + in.Name, Arn: fedARN},
	}
	if req.packed > 0 {
		out.PackedPolicySize = &req.packed
	}
	return out, nil
}

// GetAccessKeyInfo returns the account an access key belongs to. Temporary access key ids name their account;
// long-term ones are looked up.
// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetAccessKeyInfo.html
func (s *Service) GetAccessKeyInfo(ctx context.Context, in *stsapi.GetAccessKeyInfoInput) (*stsapi.GetAccessKeyInfoOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := stsCallAllowed(p, "sts:GetAccessKeyInfo", "*"); err != nil {
		return nil, err
	}
	if err := s.authz.Authorize(ctx, "sts:GetAccessKeyInfo", "*", nil); err != nil {
		return nil, err
	}
	if strings.HasPrefix(in.AccessKeyId, "ASIA") {
		if acct, ok := token.AccountOfAccessKeyID(in.AccessKeyId); ok {
			return &stsapi.GetAccessKeyInfoOutput{Account: acct}, nil
		}
	} else {
		rec, err := s.store.GetByID(ctx, store.KindAccessKey, in.AccessKeyId)
		if err == nil {
			return &stsapi.GetAccessKeyInfoOutput{Account: rec.Account}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return nil, stsapi.InvalidParameterValue("The access key ID %s is not a valid access key ID.", in.AccessKeyId)
}

// DecodeAuthorizationMessage decodes a message that EncodeAuthorizationMessage sealed, for a caller allowed
// sts:DecodeAuthorizationMessage in the message's account.
// https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html
func (s *Service) DecodeAuthorizationMessage(ctx context.Context, in *stsapi.DecodeAuthorizationMessageInput) (*stsapi.DecodeAuthorizationMessageOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := stsCallAllowed(p, "sts:DecodeAuthorizationMessage", "*"); err != nil {
		return nil, err
	}
	if err := s.authz.Authorize(ctx, "sts:DecodeAuthorizationMessage", "*", nil); err != nil {
		return nil, err
	}
	msg, err := decodeAuthorizationMessage(s.box, in.EncodedMessage)
	// A message of another account is as undecodable as a forged one: its details are that account's business.
	if err != nil || msg.account != p.Account {
		return nil, stsapi.InvalidAuthorizationMessage("The message is not a valid encoded authorization message.")
	}
	out, err := json.Marshal(msg.AuthorizationMessage)
	if err != nil {
		return nil, err
	}
	return &stsapi.DecodeAuthorizationMessageOutput{DecodedMessage: string(out)}, nil
}
