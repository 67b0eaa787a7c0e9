package server

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/saml/samltest"
)

const thumb1 = "990f4193972f2becf12ddeda5237f9c952f20d9e"

// TestOIDCProviders drives the OIDC provider lifecycle and its errors with aws-sdk-go-v2 on every backend.
func TestOIDCProviders(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			out := must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
				Url:          aws.String("https://token.actions.githubusercontent.com"),
				ClientIDList: []string{"sts.amazonaws.com", "sts.amazonaws.com"},
				Tags:         []types.Tag{{Key: aws.String("ci"), Value: aws.String("github")}},
			}))
			providerARN := "arn:aws:iam::" + testAccount + ":oidc-provider/token.actions.githubusercontent.com"
			if aws.ToString(out.OpenIDConnectProviderArn) != providerARN {
				t.Fatalf("Arn = %s, want %s", aws.ToString(out.OpenIDConnectProviderArn), providerARN)
			}
			got := must[*iam.GetOpenIDConnectProviderOutput](t)(e.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)}))
			if aws.ToString(got.Url) != "token.actions.githubusercontent.com" || !cmp.Equal(got.ClientIDList, []string{"sts.amazonaws.com"}) ||
				len(got.ThumbprintList) != 0 || got.CreateDate == nil || len(got.Tags) != 1 {
				t.Errorf("GetOpenIDConnectProvider = url %q clients %v thumbprints %v created %v tags %v",
					aws.ToString(got.Url), got.ClientIDList, got.ThumbprintList, got.CreateDate, got.Tags)
			}

			_, err := e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://token.actions.githubusercontent.com")})
			apiError(t, err, "EntityAlreadyExists")
			for _, bad := range []string{"http://example.com", "https://example.com/?a=b", "example.com", "https://user@example.com", "https://example.com/#x"} {
				_, err := e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(bad)})
				apiError(t, err, "InvalidInput")
			}
			_, err = e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://a.example.com"),
				ThumbprintList: []string{thumb1, thumb1[:39] + "a", thumb1[:39] + "b", thumb1[:39] + "c", thumb1[:39] + "d", thumb1[:39] + "e"}})
			apiError(t, err, "LimitExceeded")
			_, err = e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://a.example.com"),
				ThumbprintList: []string{strings.Repeat("z", 40)}})
			apiError(t, err, "InvalidInput")
			_, err = e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://a.example.com"),
				ThumbprintList: []string{"abc"}})
			apiError(t, err, "ValidationError")
			many := make([]string, 101)
			for i := range many {
				many[i] = "client-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
			}
			_, err = e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://a.example.com"), ClientIDList: many})
			apiError(t, err, "LimitExceeded")

			// Client ids: add is idempotent, remove of an absent id is too.
			for range 2 {
				must[*iam.AddClientIDToOpenIDConnectProviderOutput](t)(e.iam.AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{
					OpenIDConnectProviderArn: aws.String(providerARN), ClientID: aws.String("my-app")}))
			}
			must[*iam.RemoveClientIDFromOpenIDConnectProviderOutput](t)(e.iam.RemoveClientIDFromOpenIDConnectProvider(ctx, &iam.RemoveClientIDFromOpenIDConnectProviderInput{
				OpenIDConnectProviderArn: aws.String(providerARN), ClientID: aws.String("sts.amazonaws.com")}))
			must[*iam.RemoveClientIDFromOpenIDConnectProviderOutput](t)(e.iam.RemoveClientIDFromOpenIDConnectProvider(ctx, &iam.RemoveClientIDFromOpenIDConnectProviderInput{
				OpenIDConnectProviderArn: aws.String(providerARN), ClientID: aws.String("never-added")}))
			must[*iam.UpdateOpenIDConnectProviderThumbprintOutput](t)(e.iam.UpdateOpenIDConnectProviderThumbprint(ctx, &iam.UpdateOpenIDConnectProviderThumbprintInput{
				OpenIDConnectProviderArn: aws.String(providerARN), ThumbprintList: []string{strings.ToUpper(thumb1)}}))
			got = must[*iam.GetOpenIDConnectProviderOutput](t)(e.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)}))
			if !cmp.Equal(got.ClientIDList, []string{"my-app"}) || !cmp.Equal(got.ThumbprintList, []string{thumb1}) {
				t.Errorf("after updates: clients %v thumbprints %v", got.ClientIDList, got.ThumbprintList)
			}

			// Tags.
			must[*iam.TagOpenIDConnectProviderOutput](t)(e.iam.TagOpenIDConnectProvider(ctx, &iam.TagOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN),
				Tags: []types.Tag{{Key: aws.String("CI"), Value: aws.String("actions")}, {Key: aws.String("owner"), Value: aws.String("platform")}}}))
			tags := must[*iam.ListOpenIDConnectProviderTagsOutput](t)(e.iam.ListOpenIDConnectProviderTags(ctx, &iam.ListOpenIDConnectProviderTagsInput{OpenIDConnectProviderArn: aws.String(providerARN), MaxItems: aws.Int32(1)}))
			if len(tags.Tags) != 1 || !tags.IsTruncated || aws.ToString(tags.Tags[0].Key) != "CI" || aws.ToString(tags.Tags[0].Value) != "actions" {
				t.Errorf("first tag page = %v truncated %v", tags.Tags, tags.IsTruncated)
			}
			tags = must[*iam.ListOpenIDConnectProviderTagsOutput](t)(e.iam.ListOpenIDConnectProviderTags(ctx, &iam.ListOpenIDConnectProviderTagsInput{OpenIDConnectProviderArn: aws.String(providerARN), Marker: tags.Marker}))
			if len(tags.Tags) != 1 || tags.IsTruncated || aws.ToString(tags.Tags[0].Key) != "owner" {
				t.Errorf("second tag page = %v truncated %v", tags.Tags, tags.IsTruncated)
			}
			must[*iam.UntagOpenIDConnectProviderOutput](t)(e.iam.UntagOpenIDConnectProvider(ctx, &iam.UntagOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN), TagKeys: []string{"ci", "absent"}}))
			tags = must[*iam.ListOpenIDConnectProviderTagsOutput](t)(e.iam.ListOpenIDConnectProviderTags(ctx, &iam.ListOpenIDConnectProviderTagsInput{OpenIDConnectProviderArn: aws.String(providerARN)}))
			if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "owner" {
				t.Errorf("after untag: %v", tags.Tags)
			}

			must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
				Url: aws.String("https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"), ThumbprintList: []string{thumb1}}))
			list := must[*iam.ListOpenIDConnectProvidersOutput](t)(e.iam.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{}))
			var arns []string
			for _, p := range list.OpenIDConnectProviderList {
				arns = append(arns, aws.ToString(p.Arn))
			}
			want := []string{"arn:aws:iam::" + testAccount + ":oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE", providerARN}
			if diff := cmp.Diff(want, arns); diff != "" {
				t.Errorf("ListOpenIDConnectProviders mismatch (-want +got):\n%s", diff)
			}

			must[*iam.DeleteOpenIDConnectProviderOutput](t)(e.iam.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)}))
			_, err = e.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)})
			ae := apiError(t, err, "NoSuchEntity")
			if ae.ErrorMessage() != "OpenIDConnect Provider not found for arn "+providerARN {
				t.Errorf("message = %q", ae.ErrorMessage())
			}
			_, err = e.iam.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)})
			apiError(t, err, "NoSuchEntity")
			_, err = e.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String("arn:aws:iam::" + testAccount + ":role/x")})
			apiError(t, err, "InvalidInput")
		})
	}
}

// TestProviderCallsAreAuthorized checks that provider calls go through the policy engine on the provider's ARN.
func TestProviderCallsAreAuthorized(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dev")}))
	key := must[*iam.CreateAccessKeyOutput](t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("dev")})).AccessKey
	dev := e.iamAs(aws.Credentials{AccessKeyID: aws.ToString(key.AccessKeyId), SecretAccessKey: aws.ToString(key.SecretAccessKey)})
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("oidc"), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:CreateOpenIDConnectProvider","iam:GetOpenIDConnectProvider"],"Resource":"arn:aws:iam::*:oidc-provider/allowed.example.com"}]}`)}))

	must[*iam.CreateOpenIDConnectProviderOutput](t)(dev.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://allowed.example.com"), ClientIDList: []string{"a"}}))
	_, err := dev.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://other.example.com"), ClientIDList: []string{"a"}})
	ae := apiError(t, err, "AccessDenied")
	if !strings.Contains(ae.ErrorMessage(), "iam:CreateOpenIDConnectProvider on resource: arn:aws:iam::"+testAccount+":oidc-provider/other.example.com") {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	must[*iam.GetOpenIDConnectProviderOutput](t)(dev.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String("arn:aws:iam::" + testAccount + ":oidc-provider/allowed.example.com")}))
	_, err = dev.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String("arn:aws:iam::" + testAccount + ":oidc-provider/allowed.example.com")})
	apiError(t, err, "AccessDenied")
	_, err = dev.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	apiError(t, err, "AccessDenied")
	// A provider that does not exist answers AccessDenied, not NoSuchEntity, to a caller without permission.
	_, err = dev.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String("arn:aws:iam::" + testAccount + ":saml-provider/nope")})
	apiError(t, err, "AccessDenied")
	// Another account's provider is out of reach even of the root user.
	_, err = e.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String("arn:aws:iam::999999999999:oidc-provider/allowed.example.com")})
	apiError(t, err, "AccessDenied")
}

// TestSAMLProviders drives the SAML provider lifecycle with metadata validation on every backend.
func TestSAMLProviders(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			idp, err := samltest.New("https://idp.example.com/metadata")
			if err != nil {
				t.Fatal(err)
			}
			out := must[*iam.CreateSAMLProviderOutput](t)(e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{
				Name: aws.String("Okta"), SAMLMetadataDocument: aws.String(idp.Metadata()),
				Tags: []types.Tag{{Key: aws.String("idp"), Value: aws.String("okta")}},
			}))
			providerARN := "arn:aws:iam::" + testAccount + ":saml-provider/Okta"
			if aws.ToString(out.SAMLProviderArn) != providerARN || len(out.Tags) != 1 {
				t.Fatalf("CreateSAMLProvider = %s %v", aws.ToString(out.SAMLProviderArn), out.Tags)
			}
			got := must[*iam.GetSAMLProviderOutput](t)(e.iam.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(providerARN)}))
			if aws.ToString(got.SAMLMetadataDocument) != idp.Metadata() || len(aws.ToString(got.SAMLProviderUUID)) != 36 || got.CreateDate == nil || len(got.Tags) != 1 {
				t.Errorf("GetSAMLProvider: uuid %q created %v tags %v, metadata equal %v", aws.ToString(got.SAMLProviderUUID), got.CreateDate, got.Tags,
					aws.ToString(got.SAMLMetadataDocument) == idp.Metadata())
			}
			_, err = e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String("okta"), SAMLMetadataDocument: aws.String(idp.Metadata())})
			apiError(t, err, "EntityAlreadyExists")

			// Metadata that is not SAML, or has no signing certificate, is refused with the reason.
			noCert := strings.Replace(idp.Metadata(), `use="signing"`, `use="encryption"`, 1)
			_, err = e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String("Bad"), SAMLMetadataDocument: aws.String(noCert)})
			ae := apiError(t, err, "InvalidInput")
			if !strings.Contains(ae.ErrorMessage(), "no signing certificate") {
				t.Errorf("message = %q", ae.ErrorMessage())
			}
			_, err = e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String("Bad"), SAMLMetadataDocument: aws.String(strings.Repeat("x", 1200))})
			apiError(t, err, "InvalidInput")
			_, err = e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String("Bad"), SAMLMetadataDocument: aws.String("<short/>")})
			apiError(t, err, "ValidationError")

			// Update replaces the metadata (a new key); a bad document leaves the old one in place.
			idp2, _ := samltest.New("https://idp.example.com/metadata")
			must[*iam.UpdateSAMLProviderOutput](t)(e.iam.UpdateSAMLProvider(ctx, &iam.UpdateSAMLProviderInput{SAMLProviderArn: aws.String(providerARN), SAMLMetadataDocument: aws.String(idp2.Metadata())}))
			_, err = e.iam.UpdateSAMLProvider(ctx, &iam.UpdateSAMLProviderInput{SAMLProviderArn: aws.String(providerARN), SAMLMetadataDocument: aws.String(noCert)})
			apiError(t, err, "InvalidInput")
			got = must[*iam.GetSAMLProviderOutput](t)(e.iam.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(providerARN)}))
			if aws.ToString(got.SAMLMetadataDocument) != idp2.Metadata() {
				t.Error("UpdateSAMLProvider did not keep the new metadata")
			}

			must[*iam.TagSAMLProviderOutput](t)(e.iam.TagSAMLProvider(ctx, &iam.TagSAMLProviderInput{SAMLProviderArn: aws.String(providerARN), Tags: []types.Tag{{Key: aws.String("IDP"), Value: aws.String("okta2")}}}))
			tags := must[*iam.ListSAMLProviderTagsOutput](t)(e.iam.ListSAMLProviderTags(ctx, &iam.ListSAMLProviderTagsInput{SAMLProviderArn: aws.String(providerARN)}))
			if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "IDP" || aws.ToString(tags.Tags[0].Value) != "okta2" {
				t.Errorf("tags = %v", tags.Tags)
			}
			must[*iam.UntagSAMLProviderOutput](t)(e.iam.UntagSAMLProvider(ctx, &iam.UntagSAMLProviderInput{SAMLProviderArn: aws.String(providerARN), TagKeys: []string{"idp"}}))
			tags = must[*iam.ListSAMLProviderTagsOutput](t)(e.iam.ListSAMLProviderTags(ctx, &iam.ListSAMLProviderTagsInput{SAMLProviderArn: aws.String(providerARN)}))
			if len(tags.Tags) != 0 {
				t.Errorf("tags after untag = %v", tags.Tags)
			}

			list := must[*iam.ListSAMLProvidersOutput](t)(e.iam.ListSAMLProviders(ctx, &iam.ListSAMLProvidersInput{}))
			if len(list.SAMLProviderList) != 1 || aws.ToString(list.SAMLProviderList[0].Arn) != providerARN || list.SAMLProviderList[0].CreateDate == nil {
				t.Errorf("ListSAMLProviders = %+v", list.SAMLProviderList)
			}
			must[*iam.DeleteSAMLProviderOutput](t)(e.iam.DeleteSAMLProvider(ctx, &iam.DeleteSAMLProviderInput{SAMLProviderArn: aws.String(providerARN)}))
			_, err = e.iam.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(providerARN)})
			apiError(t, err, "NoSuchEntity")
		})
	}
}
