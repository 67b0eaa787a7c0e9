// Package sts implements the STS API's operations. It sees typed inputs and outputs and never HTTP.
package sts

import (
	"context"
	"errors"

	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery/stsapi"
)

// Config holds the STS service's dependencies.
type Config struct {
	Authz *authz.Authorizer
}

// Service implements stsapi.Handler.
type Service struct {
	stsapi.Unimplemented
	authz *authz.Authorizer
}

// New returns the STS service.
func New(cfg Config) *Service { return &Service{authz: cfg.Authz} }

// GetCallerIdentity returns who signed the request. It needs no permission: AWS answers it even when every
// action is denied. https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
func (s *Service) GetCallerIdentity(ctx context.Context, _ *stsapi.GetCallerIdentityInput) (*stsapi.GetCallerIdentityOutput, error) {
	p := authz.PrincipalFrom(ctx)
	if p == nil {
		return nil, errors.New("sts: no principal in context")
	}
	return &stsapi.GetCallerIdentityOutput{UserId: p.UserID, Account: p.Account, Arn: p.ARN}, nil
}
