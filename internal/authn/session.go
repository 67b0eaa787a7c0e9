package authn

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/token"
	"github.com/persona-iam/persona/sigv4"
)

// authenticateSession verifies a request signed with temporary credentials. The session token is opened with the
// key ring (no store read): a token that does not open, or that belongs to another access key id, is
// InvalidClientTokenId; an authentic token past its expiration is ExpiredToken, as AWS answers
// (https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html). Only then is the signature checked,
// with the secret derived from the token.
func (a *Authenticator) authenticateSession(ctx context.Context, r *http.Request, req *sigv4.Request, body []byte) (*authz.Principal, string, error) {
	if a.cfg.Tokens == nil {
		return nil, "", sigv4.InvalidClientTokenID()
	}
	sess, secret, err := a.cfg.Tokens.Credentials(req.SecurityToken, req.Credential.AccessKeyID, a.cfg.Now())
	if errors.Is(err, token.ErrInvalid) && a.cfg.RefreshTokens != nil && a.cfg.RefreshTokens(ctx) {
		sess, secret, err = a.cfg.Tokens.Credentials(req.SecurityToken, req.Credential.AccessKeyID, a.cfg.Now())
	}
	switch {
	case errors.Is(err, token.ErrExpired):
		return nil, "", sigv4.ExpiredToken()
	case err != nil:
		return nil, "", sigv4.InvalidClientTokenID()
	}
	if err := a.verifier.Verify(r, req, body, secret); err != nil {
		return nil, "", err
	}
	service := req.Credential.Service
	// GetSessionToken credentials cannot call IAM unless the session was created with MFA; AWS refuses them as an
	// invalid token. https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_request.html#api_getsessiontoken
	if sess.Kind == token.KindSessionToken && !sess.MFA && service == "iam" {
		return nil, "", sigv4.InvalidClientTokenID()
	}
	p, err := SessionPrincipal(sess, a.cfg.Partition)
	if err != nil {
		// Sealed by us but not describing a principal: fail closed.
		return nil, "", sigv4.InvalidClientTokenID()
	}
	return p, service, nil
}

// SessionPrincipal returns the principal a session token stands for: an assumed-role session (AssumeRole*), the
// IAM user or root itself (GetSessionToken), or a federated user (GetFederationToken).
func SessionPrincipal(s *token.Session, partition string) (*authz.Principal, error) {
	if partition == "" {
		partition = "aws"
	}
	src, err := arn.Parse(s.PrincipalARN)
	if err != nil {
		return nil, err
	}
	res, err := arn.SplitIAM(src)
	if err != nil {
		return nil, err
	}
	if src.AccountID != s.Account {
		return nil, fmt.Errorf("authn: session of account %s names %s", s.Account, s.PrincipalARN)
	}
	as := &authz.Session{
		Kind:              s.Kind.String(),
		SessionName:       s.SessionName,
		Issued:            s.IssuedAt,
		Expires:           s.Expiration,
		MFA:               s.MFA,
		MFAAuthTime:       s.MFAAuthTime,
		SourceIdentity:    s.SourceIdentity,
		TransitiveTagKeys: s.TransitiveTagKeys,
		PolicyARNs:        s.PolicyARNs,
		ChainDepth:        s.ChainDepth,
		FederatedProvider: s.FederatedProvider,
	}
	if s.Policy != "" {
		as.Policies = []string{s.Policy}
	}
	if len(s.Tags) > 0 {
		as.Tags = make(map[string]string, len(s.Tags))
		for _, t := range s.Tags {
			as.Tags[t.Key] = t.Value
		}
	}
	p := &authz.Principal{Account: s.Account, AccessKeyID: s.AccessKeyID, Session: as}
	switch s.Kind {
	case token.KindAssumeRole, token.KindWebIdentity, token.KindSAML, token.KindInstanceProfile:
		if res.Type != arn.TypeRole {
			return nil, fmt.Errorf("authn: role session names %s", s.PrincipalARN)
		}
		p.Type = authz.AssumedRole
		p.Name = res.Name
		p.ARN = arn.AssumedRole(partition, s.Account, res.Name, s.SessionName).String()
		p.UserID = s.PrincipalID + ":" + s.SessionName
		as.RoleARN, as.RoleID = s.PrincipalARN, s.PrincipalID
	case token.KindSessionToken:
		switch res.Type {
		case arn.TypeRoot:
			p.Type, p.ARN, p.UserID = authz.Root, s.PrincipalARN, s.Account
		case arn.TypeUser:
			p.Type, p.ARN, p.UserID, p.Name = authz.IAMUser, s.PrincipalARN, s.PrincipalID, res.Name
		default:
			return nil, fmt.Errorf("authn: GetSessionToken session names %s", s.PrincipalARN)
		}
		as.SourceARN, as.SourceID = s.PrincipalARN, s.PrincipalID
	case token.KindFederation:
		p.Type = authz.FederatedUser
		p.ARN = arn.FederatedUser(partition, s.Account, s.SessionName).String()
		p.UserID = s.Account + ":" + s.SessionName
		switch res.Type {
		case arn.TypeRoot:
		case arn.TypeUser:
			p.Name = res.Name
		default:
			return nil, fmt.Errorf("authn: federation session names %s", s.PrincipalARN)
		}
		as.SourceARN, as.SourceID = s.PrincipalARN, s.PrincipalID
	default:
		return nil, fmt.Errorf("authn: unknown session kind %d", s.Kind)
	}
	return p, nil
}
