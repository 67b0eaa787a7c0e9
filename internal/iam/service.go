// Package iam implements the IAM API's operations: entity rules, names, quotas, versions and attachments, each
// call authorized by the policy engine. It sees typed inputs and outputs and the store interface, never HTTP.
package iam

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/policy"
)

// Config holds the IAM service's dependencies.
type Config struct {
	Store store.Store
	Box   *secrets.Box
	Authz *authz.Authorizer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Partition is the ARN partition; "aws" when empty.
	Partition string
	// SCPs gives the policy simulator the service control policies of an account; nil when there are none.
	SCPs SCPSource
	// InsecureOIDCLoopback lets CreateOpenIDConnectProvider accept http:// URLs of loopback hosts (tests only).
	InsecureOIDCLoopback bool
}

// Service implements iamapi.Handler.
type Service struct {
	iamapi.Unimplemented
	store     store.Store
	box       *secrets.Box
	authz     *authz.Authorizer
	now       func() time.Time
	partition string
	scps      SCPSource

	insecureOIDCLoopback bool

	bcache boundaryCache // permissions-boundary usage per account, see boundaryuse.go
}

// New returns the IAM service.
func New(cfg Config) *Service {
	s := &Service{store: cfg.Store, box: cfg.Box, authz: cfg.Authz, now: cfg.Now, partition: cfg.Partition, scps: cfg.SCPs}
	s.insecureOIDCLoopback = cfg.InsecureOIDCLoopback
	if s.now == nil {
		s.now = time.Now
	}
	if s.partition == "" {
		s.partition = "aws"
	}
	return s
}

// caller returns the authenticated principal, which the server always sets before dispatching.
func caller(ctx context.Context) (*authz.Principal, error) {
	p := authz.PrincipalFrom(ctx)
	if p == nil {
		return nil, errors.New("iam: no principal in context")
	}
	return p, nil
}

// authorize asks the policy engine whether the caller may perform iam:action on resource.
func (s *Service) authorize(ctx context.Context, action, resource string, extra map[string][]string) error {
	return s.authz.Authorize(ctx, "iam:"+action, resource, extra)
}

// write runs fn in a store transaction and, when it committed, invalidates cached authorization data. The
// request's audit record (audit.Pending in ctx) is appended in the same transaction, after fn's writes: an
// acknowledged mutation can never lack its record, and a rolled-back one has none.
func (s *Service) write(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) error {
	err := audit.Tx(ctx, s.store, audit.SourceIAM, fn)
	if err == nil {
		s.authz.Invalidate()
	}
	return err
}

// checkPolicy parses and validates a policy document of kind, turning problems into MalformedPolicyDocument with
// a message that says what is wrong and where.
func checkPolicy(doc string, kind policy.PolicyKind) error {
	parsed, err := policy.Parse([]byte(doc))
	if err != nil {
		return iamapi.MalformedPolicyDocument("%s", err.Error())
	}
	for _, f := range policy.Validate(parsed, kind) {
		if f.Type == policy.FindingError {
			return iamapi.MalformedPolicyDocument("%s", f.String())
		}
	}
	return nil
}

// maxItems returns IAM's MaxItems with its default of 100.
func maxItems(v *int32) int {
	if v == nil || *v <= 0 {
		return 100
	}
	return int(*v)
}

// pathOrRoot returns p, or "/" when empty.
func pathOrRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func limitExceeded(quota string, n int) error {
	return iamapi.LimitExceeded("Cannot exceed quota for %s: %d", quota, n)
}

var _ = fmt.Sprintf
