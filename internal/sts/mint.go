package sts

import (
	"errors"
	"fmt"
	"time"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/awsquery/stsapi"
	"github.com/persona-iam/persona/internal/token"
)

// RoleSession describes a role session to issue temporary credentials for. AssumeRole, AssumeRoleWithWebIdentity,
// AssumeRoleWithSAML and the instance-metadata agent all mint through MintRoleSession, after they have decided
// that the caller may have the session.
type RoleSession struct {
	// Kind is the operation issuing the session; token.KindAssumeRole when zero.
	Kind token.Kind
	// RoleARN is the role's ARN with its path (arn:aws:iam::ACCOUNT:role/PATH/NAME); its account is the session's.
	RoleARN string
	// RoleID is the role's unique id (AROA…). Sessions of a deleted role do not gain the permissions of a new role
	// created later with the same name: authorization checks this id against the current role.
	RoleID string
	// SessionName is the role session name (2–64 characters of [\w+=,.@-]).
	SessionName string
	// Duration is how long the credentials last, from now.
	Duration time.Duration
	// MFA reports whether MFA authenticated the session, and MFAAuthTime when (aws:MultiFactorAuthAge).
	MFA         bool
	MFAAuthTime time.Time
	// SourceIdentity is sts:SourceIdentity (aws:SourceIdentity), kept for the whole role chain.
	SourceIdentity string
	// Tags are the session tags; TransitiveTagKeys those passed on to chained sessions.
	Tags              []token.Tag
	TransitiveTagKeys []string
	// Policy is the inline session policy (JSON) and PolicyARNs the managed session policies.
	Policy     string
	PolicyARNs []string
	// ChainDepth is 0 for a session assumed with long-term credentials (or a federated identity), n for the n-th
	// role of a chain.
	ChainDepth int
	// FederatedProvider is the identity provider of a web identity or SAML session (aws:FederatedProvider).
	FederatedProvider string
}

// ErrBadSession means a session description is not one credentials can be minted for.
var ErrBadSession = errors.New("sts: bad session description")

// MintRoleSession seals s into a session token under the ring's active key and returns the credentials and the
// AssumedRoleUser as AssumeRole* return them. now is the issue time (aws:TokenIssueTime).
func MintRoleSession(ring *token.Ring, s RoleSession, now time.Time) (*stsapi.Credentials, *stsapi.AssumedRoleUser, error) {
	a, err := arn.Parse(s.RoleARN)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: role ARN: %v", ErrBadSession, err)
	}
	res, err := arn.SplitIAM(a)
	if err != nil || res.Type != arn.TypeRole || a.Service != "iam" {
		return nil, nil, fmt.Errorf("%w: %q is not a role ARN", ErrBadSession, s.RoleARN)
	}
	if s.RoleID == "" || s.SessionName == "" || s.Duration <= 0 {
		return nil, nil, fmt.Errorf("%w: role id, session name and a positive duration are required", ErrBadSession)
	}
	kind := s.Kind
	if kind == 0 {
		kind = token.KindAssumeRole
	}
	if kind != token.KindAssumeRole && kind != token.KindWebIdentity && kind != token.KindSAML && kind != token.KindInstanceProfile {
		return nil, nil, fmt.Errorf("%w: %s is not a role session kind", ErrBadSession, kind)
	}
	sess := &token.Session{
		Kind:              kind,
		Account:           a.AccountID,
		PrincipalARN:      s.RoleARN,
		PrincipalID:       s.RoleID,
		SessionName:       s.SessionName,
		MFA:               s.MFA,
		SourceIdentity:    s.SourceIdentity,
		Tags:              s.Tags,
		TransitiveTagKeys: s.TransitiveTagKeys,
		Policy:            s.Policy,
		PolicyARNs:        s.PolicyARNs,
		ChainDepth:        s.ChainDepth,
		FederatedProvider: s.FederatedProvider,
	}
	if s.MFA {
		sess.MFAAuthTime = s.MFAAuthTime
		if sess.MFAAuthTime.IsZero() {
			sess.MFAAuthTime = now
		}
	}
	creds, err := Mint(ring, sess, now, s.Duration)
	if err != nil {
		return nil, nil, err
	}
	user := &stsapi.AssumedRoleUser{
		AssumedRoleId: s.RoleID + ":" + s.SessionName,
		Arn:           arn.AssumedRole(a.Partition, a.AccountID, res.Name, s.SessionName).String(),
	}
	return creds, user, nil
}

// Mint seals sess, issued at now and lasting d, and returns its credentials. Times are whole seconds, as AWS's
// are, so the Expiration a client sees is exactly when the token stops opening.
func Mint(ring *token.Ring, sess *token.Session, now time.Time, d time.Duration) (*stsapi.Credentials, error) {
	if ring == nil {
		return nil, errors.New("sts: no token keyring")
	}
	s := *sess
	s.IssuedAt = now.UTC().Truncate(time.Second)
	s.Expiration = s.IssuedAt.Add(d.Truncate(time.Second))
	if !s.MFAAuthTime.IsZero() {
		s.MFAAuthTime = s.MFAAuthTime.UTC().Truncate(time.Second)
	}
	tok, akid, secret, err := ring.Seal(&s)
	if err != nil {
		return nil, err
	}
	return &stsapi.Credentials{AccessKeyId: akid, SecretAccessKey: secret, SessionToken: tok, Expiration: s.Expiration}, nil
}
