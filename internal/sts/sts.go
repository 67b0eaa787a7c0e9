// Package sts implements the STS API's operations: trust evaluation and credential minting. It sees typed inputs
// and outputs and the store interface, never HTTP.
package sts

import (
	"context"
	"errors"
	"time"

	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery/stsapi"
	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/token"
)

// MFAVerifier checks a one-time code from the MFA device serial of user in account (user "" is the root user). It
// returns nil when the device belongs to that identity and the code is valid now (and not replayed); any error
// fails the call as AWS fails it. IAM's virtual MFA devices satisfy it.
type MFAVerifier func(ctx context.Context, account, user, serial, code string) error

// Config holds the STS service's dependencies.
type Config struct {
	Store store.Store
	// Box seals encoded authorization messages under the master key.
	Box   *secrets.Box
	Authz *authz.Authorizer
	// Tokens is the session-token key ring credentials are minted with.
	Tokens *token.Ring
	// MFA verifies SerialNumber and TokenCode; without it every call that passes them fails.
	MFA MFAVerifier
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Partition is the ARN partition; "aws" when empty.
	Partition string
}

// Service implements stsapi.Handler.
type Service struct {
	stsapi.Unimplemented
	store     store.Store
	box       *secrets.Box
	authz     *authz.Authorizer
	tokens    *token.Ring
	mfa       MFAVerifier
	now       func() time.Time
	partition string
	roles     roleCache
	fed       federation // AssumeRoleWithWebIdentity's OIDC verifier (federation.go)
}

// New returns the STS service.
func New(cfg Config) *Service {
	s := &Service{store: cfg.Store, box: cfg.Box, authz: cfg.Authz, tokens: cfg.Tokens, mfa: cfg.MFA, now: cfg.Now, partition: cfg.Partition}
	if s.now == nil {
		s.now = time.Now
	}
	if s.partition == "" {
		s.partition = "aws"
	}
	return s
}

// SetMFAVerifier installs the MFA verifier (for wiring done after New).
func (s *Service) SetMFAVerifier(v MFAVerifier) { s.mfa = v }

func caller(ctx context.Context) (*authz.Principal, error) {
	p := authz.PrincipalFrom(ctx)
	if p == nil {
		return nil, errors.New("sts: no principal in context")
	}
	return p, nil
}

// GetCallerIdentity returns who signed the request. It needs no permission: AWS answers it even when every
// action is denied. https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
func (s *Service) GetCallerIdentity(ctx context.Context, _ *stsapi.GetCallerIdentityInput) (*stsapi.GetCallerIdentityOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return &stsapi.GetCallerIdentityOutput{UserId: p.UserID, Account: p.Account, Arn: p.ARN}, nil
}
