package iam

import (
	"context"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/oidc"
	"github.com/persona-iam/persona/internal/store"
)

// Identity provider quotas. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
const (
	quotaOIDCProvidersPerAccount = 100
	quotaSAMLProvidersPerAccount = 100
	quotaClientIDsPerProvider    = 100
	quotaThumbprintsPerProvider  = 5
)

func (s *Service) oidcProviderARN(account, u string) string {
	return arn.OIDCProvider(s.partition, account, u).String()
}

// providerARN parses the ARN of an OIDC or SAML provider (typ) and returns its account and name (for OIDC, the
// URL without scheme). A malformed ARN, or one of another type or partition, is InvalidInput.
func (s *Service) providerARN(raw, typ string) (account, name string, err error) {
	a, perr := arn.Parse(raw)
	if perr == nil {
		if r, serr := arn.SplitIAM(a); serr == nil && a.Service == "iam" && r.Type == typ && a.Partition == s.partition && arn.IsAccountID(a.AccountID) {
			return a.AccountID, r.Name, nil
		}
	}
	return "", "", iamapi.InvalidInput("ARN %s is not valid.", raw)
}

// checkOIDCURL validates a provider URL as IAM does and returns it without its scheme (the name in the ARN).
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html: the URL must begin with
// https://, path components are allowed but query parameters are not. Plain http:// is accepted only for loopback
// hosts and only when the server was started to allow it (tests).
func (s *Service) checkOIDCURL(raw string) (name string, insecure bool, err error) {
	u, perr := url.Parse(raw)
	bad := func(why string) (string, bool, error) {
		return "", false, iamapi.InvalidInput("Invalid Open ID Connect Provider URL %s: %s", raw, why)
	}
	switch {
	case perr != nil:
		return bad("it is not a URL")
	case u.Scheme == "http" && s.insecureOIDCLoopback && oidc.IsLoopback(u.Hostname()):
		insecure = true
	case u.Scheme != "https":
		return bad("the URL must begin with https://")
	}
	switch {
	case u.Host == "":
		return bad("the URL has no host")
	case u.User != nil:
		return bad("the URL must not contain user information")
	case u.RawQuery != "" || u.ForceQuery:
		return bad("query parameters are not allowed")
	case u.Fragment != "":
		return bad("fragments are not allowed")
	}
	name = strings.TrimSuffix(u.Host+u.EscapedPath(), "/")
	return name, insecure, nil
}

// checkThumbprints validates thumbprints: at most five, each the 40 hex characters of a SHA-1 hash.
func checkThumbprints(list []string) ([]string, error) {
	if len(list) > quotaThumbprintsPerProvider {
		return nil, limitExceeded("ThumbprintsPerOpenIdConnectProvider", quotaThumbprintsPerProvider)
	}
	out := make([]string, 0, len(list))
	for _, t := range list {
		if _, err := hex.DecodeString(t); err != nil || len(t) != 40 {
			return nil, iamapi.InvalidInput("Thumbprint %s is not the 40 hexadecimal characters of a SHA-1 hash.", t)
		}
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, t) }) {
			out = append(out, strings.ToLower(t))
		}
	}
	return out, nil
}

func dedupe(list []string) []string {
	out := make([]string, 0, len(list))
	for _, v := range list {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// loadOIDCProvider authorizes action on the provider named by providerARN and loads it. A provider that does not
// exist is NoSuchEntity only after the caller was authorized on its ARN, so an unauthorized caller learns nothing.
// extra adds request condition keys (aws:RequestTag/…, aws:TagKeys) to the provider's resource tags.
func (s *Service) loadOIDCProvider(ctx context.Context, r store.Reader, action, providerARN string, extra map[string][]string) (*store.OIDCProvider, store.Record, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, store.Record{}, err
	}
	account, name, err := s.providerARN(providerARN, arn.TypeOIDCProvider)
	if err != nil {
		return nil, store.Record{}, err
	}
	var prov store.OIDCProvider
	var rec store.Record
	found := false
	if account == p.Account {
		rec, err = load(ctx, r, store.KindOIDCProvider, account, name, &prov)
		if err != nil && !isNotFound(err) {
			return nil, rec, err
		}
		// The store finds URLs without regard to case, but policies match ARNs with it: only the exact ARN names
		// the provider, so a case variant cannot act on it past a statement about its real ARN.
		found = err == nil && prov.URL == name
	}
	keys := extra
	if found {
		keys = mergeKeys(resourceTagKeys(prov.Tags), extra)
	}
	if err := s.authorize(ctx, action, providerARN, keys); err != nil {
		return nil, rec, err
	}
	if !found {
		return nil, rec, iamapi.NoSuchEntity("OpenIDConnect Provider not found for arn %s", providerARN)
	}
	return &prov, rec, nil
}

// CreateOpenIDConnectProvider registers an OIDC identity provider. Thumbprints are optional, as AWS now allows:
// Persona verifies the provider's TLS certificate against the trusted roots.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html
func (s *Service) CreateOpenIDConnectProvider(ctx context.Context, in *iamapi.CreateOpenIDConnectProviderInput) (*iamapi.CreateOpenIDConnectProviderOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	name, insecure, err := s.checkOIDCURL(in.Url)
	if err != nil {
		return nil, err
	}
	providerARN := s.oidcProviderARN(p.Account, name)
	if err := s.authorize(ctx, "CreateOpenIDConnectProvider", providerARN, requestTagKeys(in.Tags, "")); err != nil {
		return nil, err
	}
	clientIDs := dedupe(in.ClientIDList)
	if len(clientIDs) > quotaClientIDsPerProvider {
		return nil, limitExceeded("ClientIdsPerOpenIdConnectProvider", quotaClientIDsPerProvider)
	}
	thumbprints, err := checkThumbprints(in.ThumbprintList)
	if err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	prov := store.OIDCProvider{URL: name, Insecure: insecure, ClientIDs: clientIDs, Thumbprints: thumbprints, Tags: tagsIn(in.Tags)}
	err = s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		n, err := tx.Count(ctx, store.KindOIDCProvider, p.Account, "")
		if err != nil {
			return err
		}
		if n >= quotaOIDCProvidersPerAccount {
			return limitExceeded("OpenIdConnectProvidersPerAccount", quotaOIDCProvidersPerAccount)
		}
		prov.Created = tx.Now()
		err = create(ctx, tx, store.KindOIDCProvider, p.Account, name, "", &prov)
		if isExists(err) {
			return iamapi.EntityAlreadyExists("Provider with url %s already exists.", in.Url)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateOpenIDConnectProviderOutput{OpenIDConnectProviderArn: providerARN, Tags: tagsOut(prov.Tags)}, nil
}

// GetOpenIDConnectProvider returns a provider's URL, client ids, thumbprints, creation date and tags.
func (s *Service) GetOpenIDConnectProvider(ctx context.Context, in *iamapi.GetOpenIDConnectProviderInput) (*iamapi.GetOpenIDConnectProviderOutput, error) {
	prov, _, err := s.loadOIDCProvider(ctx, s.store, "GetOpenIDConnectProvider", in.OpenIDConnectProviderArn, nil)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetOpenIDConnectProviderOutput{
		Url:            prov.URL,
		ClientIDList:   nonNil(prov.ClientIDs),
		ThumbprintList: nonNil(prov.Thumbprints),
		CreateDate:     ptr(prov.Created),
		Tags:           tagsOut(prov.Tags),
	}, nil
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// ListOpenIDConnectProviders lists the account's OIDC providers (AWS does not paginate this list).
func (s *Service) ListOpenIDConnectProviders(ctx context.Context, _ *iamapi.ListOpenIDConnectProvidersInput) (*iamapi.ListOpenIDConnectProvidersOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListOpenIDConnectProviders", "*", nil); err != nil {
		return nil, err
	}
	provs, err := store.ListJSON[store.OIDCProvider](ctx, s.store, store.KindOIDCProvider, p.Account, "")
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListOpenIDConnectProvidersOutput{OpenIDConnectProviderList: []iamapi.OpenIDConnectProviderListEntry{}}
	for _, pr := range provs {
		out.OpenIDConnectProviderList = append(out.OpenIDConnectProviderList, iamapi.OpenIDConnectProviderListEntry{Arn: s.oidcProviderARN(p.Account, pr.URL)})
	}
	return out, nil
}

// updateOIDCProvider loads the provider in a transaction, authorizes action, applies fn and stores the result.
func (s *Service) updateOIDCProvider(ctx context.Context, action, providerARN string, fn func(*store.OIDCProvider) error) error {
	return s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		prov, rec, err := s.loadOIDCProvider(ctx, tx, action, providerARN, nil)
		if err != nil {
			return err
		}
		if err := fn(prov); err != nil {
			return err
		}
		return update(ctx, tx, rec, prov)
	})
}

// AddClientIDToOpenIDConnectProvider adds a client id; adding one already registered does nothing, as on AWS.
func (s *Service) AddClientIDToOpenIDConnectProvider(ctx context.Context, in *iamapi.AddClientIDToOpenIDConnectProviderInput) (*iamapi.AddClientIDToOpenIDConnectProviderOutput, error) {
	err := s.updateOIDCProvider(ctx, "AddClientIDToOpenIDConnectProvider", in.OpenIDConnectProviderArn, func(prov *store.OIDCProvider) error {
		if slices.Contains(prov.ClientIDs, in.ClientID) {
			return nil
		}
		if len(prov.ClientIDs) >= quotaClientIDsPerProvider {
			return limitExceeded("ClientIdsPerOpenIdConnectProvider", quotaClientIDsPerProvider)
		}
		prov.ClientIDs = append(prov.ClientIDs, in.ClientID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.AddClientIDToOpenIDConnectProviderOutput{}, nil
}

// RemoveClientIDFromOpenIDConnectProvider removes a client id; removing one not registered does nothing, as AWS
// documents ("This operation is idempotent").
func (s *Service) RemoveClientIDFromOpenIDConnectProvider(ctx context.Context, in *iamapi.RemoveClientIDFromOpenIDConnectProviderInput) (*iamapi.RemoveClientIDFromOpenIDConnectProviderOutput, error) {
	err := s.updateOIDCProvider(ctx, "RemoveClientIDFromOpenIDConnectProvider", in.OpenIDConnectProviderArn, func(prov *store.OIDCProvider) error {
		prov.ClientIDs = slices.DeleteFunc(prov.ClientIDs, func(c string) bool { return c == in.ClientID })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.RemoveClientIDFromOpenIDConnectProviderOutput{}, nil
}

// UpdateOpenIDConnectProviderThumbprint replaces the provider's thumbprints.
func (s *Service) UpdateOpenIDConnectProviderThumbprint(ctx context.Context, in *iamapi.UpdateOpenIDConnectProviderThumbprintInput) (*iamapi.UpdateOpenIDConnectProviderThumbprintOutput, error) {
	err := s.updateOIDCProvider(ctx, "UpdateOpenIDConnectProviderThumbprint", in.OpenIDConnectProviderArn, func(prov *store.OIDCProvider) error {
		t, err := checkThumbprints(in.ThumbprintList)
		if err != nil {
			return err
		}
		prov.Thumbprints = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateOpenIDConnectProviderThumbprintOutput{}, nil
}

// DeleteOpenIDConnectProvider deletes a provider. Roles whose trust policies name it are left as they are, as on
// AWS; AssumeRoleWithWebIdentity through it fails from then on.
func (s *Service) DeleteOpenIDConnectProvider(ctx context.Context, in *iamapi.DeleteOpenIDConnectProviderInput) (*iamapi.DeleteOpenIDConnectProviderOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		_, rec, err := s.loadOIDCProvider(ctx, tx, "DeleteOpenIDConnectProvider", in.OpenIDConnectProviderArn, nil)
		if err != nil {
			return err
		}
		return tx.Delete(ctx, store.KindOIDCProvider, rec.Account, rec.Key)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteOpenIDConnectProviderOutput{}, nil
}

// TagOpenIDConnectProvider adds or overwrites tags on a provider.
func (s *Service) TagOpenIDConnectProvider(ctx context.Context, in *iamapi.TagOpenIDConnectProviderInput) (*iamapi.TagOpenIDConnectProviderOutput, error) {
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	load := func(ctx context.Context, r store.Reader) (*store.OIDCProvider, store.Record, error) {
		return s.loadOIDCProvider(ctx, r, "TagOpenIDConnectProvider", in.OpenIDConnectProviderArn, requestTagKeys(in.Tags, ""))
	}
	if err := retag(s, ctx, load, func(prov *store.OIDCProvider) *[]store.Tag { return &prov.Tags }, adding(in.Tags)); err != nil {
		return nil, err
	}
	return &iamapi.TagOpenIDConnectProviderOutput{}, nil
}

// UntagOpenIDConnectProvider removes tags by key; keys the provider lacks are ignored.
func (s *Service) UntagOpenIDConnectProvider(ctx context.Context, in *iamapi.UntagOpenIDConnectProviderInput) (*iamapi.UntagOpenIDConnectProviderOutput, error) {
	load := func(ctx context.Context, r store.Reader) (*store.OIDCProvider, store.Record, error) {
		return s.loadOIDCProvider(ctx, r, "UntagOpenIDConnectProvider", in.OpenIDConnectProviderArn, untagKeys(in.TagKeys))
	}
	if err := retag(s, ctx, load, func(prov *store.OIDCProvider) *[]store.Tag { return &prov.Tags }, removing(in.TagKeys)); err != nil {
		return nil, err
	}
	return &iamapi.UntagOpenIDConnectProviderOutput{}, nil
}

// ListOpenIDConnectProviderTags lists a provider's tags, sorted by key, paginated.
func (s *Service) ListOpenIDConnectProviderTags(ctx context.Context, in *iamapi.ListOpenIDConnectProviderTagsInput) (*iamapi.ListOpenIDConnectProviderTagsOutput, error) {
	prov, _, err := s.loadOIDCProvider(ctx, s.store, "ListOpenIDConnectProviderTags", in.OpenIDConnectProviderArn, nil)
	if err != nil {
		return nil, err
	}
	tags, truncated, next, err := pageTags(prov.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListOpenIDConnectProviderTagsOutput{Tags: tags, IsTruncated: truncated, Marker: next}, nil
}
