package iam

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/saml"
	"github.com/persona-iam/persona/internal/store"
)

func (s *Service) samlProviderARN(account, name string) string {
	return arn.SAMLProvider(s.partition, account, name).String()
}

// parseSAMLMetadata validates an IdP metadata document and returns what is kept of it; a document IAM cannot use
// is InvalidInput saying why.
func parseSAMLMetadata(doc string) (*saml.Metadata, error) {
	md, err := saml.ParseMetadata([]byte(doc))
	var me *saml.MetadataError
	if errors.As(err, &me) {
		return nil, iamapi.InvalidInput("%s", me.Msg)
	}
	return md, err
}

// checkSAMLEncryption refuses what Persona does not implement: encrypted assertions need the SP's private key,
// and Persona verifies only signed, unencrypted assertions.
func checkSAMLEncryption(mode iamapi.AssertionEncryptionModeType, addKey string) error {
	if mode == "Required" || addKey != "" {
		return iamapi.InvalidInput("Persona does not support encrypted SAML assertions: AssertionEncryptionMode Required and AddPrivateKey are not available.")
	}
	return nil
}

func (s *Service) loadSAMLProvider(ctx context.Context, r store.Reader, action, providerARN string, extra map[string][]string) (*store.SAMLProvider, store.Record, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, store.Record{}, err
	}
	account, name, err := s.providerARN(providerARN, arn.TypeSAMLProvider)
	if err != nil {
		return nil, store.Record{}, err
	}
	var prov store.SAMLProvider
	var rec store.Record
	found := false
	if account == p.Account {
		rec, err = load(ctx, r, store.KindSAMLProvider, account, name, &prov)
		if err != nil && !isNotFound(err) {
			return nil, rec, err
		}
		// Only the exact ARN names the provider (see loadOIDCProvider).
		found = err == nil && prov.Name == name
	}
	keys := extra
	if found {
		keys = mergeKeys(resourceTagKeys(prov.Tags), extra)
	}
	if err := s.authorize(ctx, action, providerARN, keys); err != nil {
		return nil, rec, err
	}
	if !found {
		return nil, rec, iamapi.NoSuchEntity("SAMLProvider %s not found", providerARN)
	}
	return &prov, rec, nil
}

// CreateSAMLProvider registers a SAML 2.0 identity provider from its metadata document, keeping its entity id
// and signing certificates. https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateSAMLProvider.html
func (s *Service) CreateSAMLProvider(ctx context.Context, in *iamapi.CreateSAMLProviderInput) (*iamapi.CreateSAMLProviderOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	providerARN := s.samlProviderARN(p.Account, in.Name)
	if err := s.authorize(ctx, "CreateSAMLProvider", providerARN, requestTagKeys(in.Tags, "")); err != nil {
		return nil, err
	}
	if err := checkSAMLEncryption(in.AssertionEncryptionMode, in.AddPrivateKey); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	md, err := parseSAMLMetadata(in.SAMLMetadataDocument)
	if err != nil {
		return nil, err
	}
	prov := store.SAMLProvider{
		Name: in.Name, UUID: uuid.NewString(), Metadata: in.SAMLMetadataDocument, EntityID: md.EntityID,
		SigningCerts: md.SigningCerts, ValidUntil: md.ValidUntil, AssertionEncryptionMode: string(in.AssertionEncryptionMode),
		Tags: tagsIn(in.Tags),
	}
	err = s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		n, err := tx.Count(ctx, store.KindSAMLProvider, p.Account, "")
		if err != nil {
			return err
		}
		if n >= quotaSAMLProvidersPerAccount {
			return limitExceeded("SAMLProvidersPerAccount", quotaSAMLProvidersPerAccount)
		}
		prov.Created = tx.Now()
		err = create(ctx, tx, store.KindSAMLProvider, p.Account, in.Name, "", &prov)
		if isExists(err) {
			return iamapi.EntityAlreadyExists("SAMLProvider %s already exists.", in.Name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateSAMLProviderOutput{SAMLProviderArn: providerARN, Tags: tagsOut(prov.Tags)}, nil
}

// UpdateSAMLProvider replaces a provider's metadata document.
func (s *Service) UpdateSAMLProvider(ctx context.Context, in *iamapi.UpdateSAMLProviderInput) (*iamapi.UpdateSAMLProviderOutput, error) {
	if err := checkSAMLEncryption(in.AssertionEncryptionMode, in.AddPrivateKey); err != nil {
		return nil, err
	}
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		prov, rec, err := s.loadSAMLProvider(ctx, tx, "UpdateSAMLProvider", in.SAMLProviderArn, nil)
		if err != nil {
			return err
		}
		if in.SAMLMetadataDocument == "" && in.AssertionEncryptionMode == "" && in.RemovePrivateKey == "" {
			return iamapi.InvalidInput("UpdateSAMLProvider needs SAMLMetadataDocument or another setting to change.")
		}
		if in.RemovePrivateKey != "" {
			return iamapi.InvalidInput("The private key %s does not exist.", in.RemovePrivateKey)
		}
		if in.SAMLMetadataDocument != "" {
			md, err := parseSAMLMetadata(in.SAMLMetadataDocument)
			if err != nil {
				return err
			}
			prov.Metadata, prov.EntityID, prov.SigningCerts, prov.ValidUntil = in.SAMLMetadataDocument, md.EntityID, md.SigningCerts, md.ValidUntil
		}
		if in.AssertionEncryptionMode != "" {
			prov.AssertionEncryptionMode = string(in.AssertionEncryptionMode)
		}
		return update(ctx, tx, rec, prov)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateSAMLProviderOutput{SAMLProviderArn: in.SAMLProviderArn}, nil
}

func validUntil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return ptr(t)
}

// GetSAMLProvider returns a provider's metadata document, dates and tags.
func (s *Service) GetSAMLProvider(ctx context.Context, in *iamapi.GetSAMLProviderInput) (*iamapi.GetSAMLProviderOutput, error) {
	prov, _, err := s.loadSAMLProvider(ctx, s.store, "GetSAMLProvider", in.SAMLProviderArn, nil)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetSAMLProviderOutput{
		SAMLProviderUUID:        prov.UUID,
		SAMLMetadataDocument:    prov.Metadata,
		CreateDate:              ptr(prov.Created),
		ValidUntil:              validUntil(prov.ValidUntil),
		Tags:                    tagsOut(prov.Tags),
		AssertionEncryptionMode: iamapi.AssertionEncryptionModeType(prov.AssertionEncryptionMode),
	}, nil
}

// ListSAMLProviders lists the account's SAML providers (AWS does not paginate this list).
func (s *Service) ListSAMLProviders(ctx context.Context, _ *iamapi.ListSAMLProvidersInput) (*iamapi.ListSAMLProvidersOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListSAMLProviders", "*", nil); err != nil {
		return nil, err
	}
	provs, err := store.ListJSON[store.SAMLProvider](ctx, s.store, store.KindSAMLProvider, p.Account, "")
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListSAMLProvidersOutput{SAMLProviderList: []iamapi.SAMLProviderListEntry{}}
	for _, pr := range provs {
		out.SAMLProviderList = append(out.SAMLProviderList, iamapi.SAMLProviderListEntry{
			Arn: s.samlProviderARN(p.Account, pr.Name), ValidUntil: validUntil(pr.ValidUntil), CreateDate: ptr(pr.Created),
		})
	}
	return out, nil
}

// DeleteSAMLProvider deletes a provider.
func (s *Service) DeleteSAMLProvider(ctx context.Context, in *iamapi.DeleteSAMLProviderInput) (*iamapi.DeleteSAMLProviderOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		_, rec, err := s.loadSAMLProvider(ctx, tx, "DeleteSAMLProvider", in.SAMLProviderArn, nil)
		if err != nil {
			return err
		}
		return tx.Delete(ctx, store.KindSAMLProvider, rec.Account, rec.Key)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteSAMLProviderOutput{}, nil
}

// TagSAMLProvider adds or overwrites tags on a provider.
func (s *Service) TagSAMLProvider(ctx context.Context, in *iamapi.TagSAMLProviderInput) (*iamapi.TagSAMLProviderOutput, error) {
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	load := func(ctx context.Context, r store.Reader) (*store.SAMLProvider, store.Record, error) {
		return s.loadSAMLProvider(ctx, r, "TagSAMLProvider", in.SAMLProviderArn, requestTagKeys(in.Tags, ""))
	}
	if err := retag(s, ctx, load, func(prov *store.SAMLProvider) *[]store.Tag { return &prov.Tags }, adding(in.Tags)); err != nil {
		return nil, err
	}
	return &iamapi.TagSAMLProviderOutput{}, nil
}

// UntagSAMLProvider removes tags by key; keys the provider lacks are ignored.
func (s *Service) UntagSAMLProvider(ctx context.Context, in *iamapi.UntagSAMLProviderInput) (*iamapi.UntagSAMLProviderOutput, error) {
	load := func(ctx context.Context, r store.Reader) (*store.SAMLProvider, store.Record, error) {
		return s.loadSAMLProvider(ctx, r, "UntagSAMLProvider", in.SAMLProviderArn, untagKeys(in.TagKeys))
	}
	if err := retag(s, ctx, load, func(prov *store.SAMLProvider) *[]store.Tag { return &prov.Tags }, removing(in.TagKeys)); err != nil {
		return nil, err
	}
	return &iamapi.UntagSAMLProviderOutput{}, nil
}

// ListSAMLProviderTags lists a provider's tags, sorted by key, paginated.
func (s *Service) ListSAMLProviderTags(ctx context.Context, in *iamapi.ListSAMLProviderTagsInput) (*iamapi.ListSAMLProviderTagsOutput, error) {
	prov, _, err := s.loadSAMLProvider(ctx, s.store, "ListSAMLProviderTags", in.SAMLProviderArn, nil)
	if err != nil {
		return nil, err
	}
	tags, truncated, next, err := pageTags(prov.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListSAMLProviderTagsOutput{Tags: tags, IsTruncated: truncated, Marker: next}, nil
}
