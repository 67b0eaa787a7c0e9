package server

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/oidc/oidctest"
	"github.com/persona-iam/persona/internal/saml/samltest"
)

// providerGuarded allows iam:ListRoles only to sessions of provider, and iam:ListUsers only to sessions of
// another provider: aws:FederatedProvider decides.
func providerGuarded(provider string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"StringEquals":{"aws:FederatedProvider":%q}}},
 {"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"StringEquals":{"aws:FederatedProvider":"arn:aws:iam::111122223333:oidc-provider/elsewhere.example.com"}}},
 {"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}`, provider)
}

// sessionRecord returns the record of the call eventName made by the session named sessionName.
func (e *env) sessionRecord(eventName, sessionName string) audit.Record {
	e.t.Helper()
	for _, r := range e.find(testAccount, eventName) {
		if r.UserIdentity.ARN != "" && sessionNameOf(r.UserIdentity.ARN) == sessionName {
			return r
		}
	}
	e.t.Fatalf("no %s record of session %s", eventName, sessionName)
	return audit.Record{}
}

func sessionNameOf(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return s[i+1:]
		}
	}
	return s
}

// checkFederationData asserts the record's sessionContext.webIdFederationData names provider, with attributes {}.
func checkFederationData(t *testing.T, r audit.Record, provider string) {
	t.Helper()
	sc := r.UserIdentity.SessionContext
	if sc == nil || sc.WebIDFederationData == nil {
		t.Fatalf("%s record has no webIdFederationData: %+v", r.EventName, r.UserIdentity)
	}
	if sc.WebIDFederationData.FederatedProvider != provider || sc.WebIDFederationData.Attributes == nil || len(sc.WebIDFederationData.Attributes) != 0 {
		t.Errorf("%s webIdFederationData = %+v, want provider %s and attributes {}", r.EventName, sc.WebIDFederationData, provider)
	}
	if sc.SessionIssuer == nil || sc.SessionIssuer.Type != "Role" {
		t.Errorf("%s sessionIssuer = %+v", r.EventName, sc.SessionIssuer)
	}
}

// TestFederatedSessionsAudit: calls made with web identity and SAML sessions carry
// sessionContext.webIdFederationData (the provider, from the session token) in their records, and
// aws:FederatedProvider in their requests' context; a plain AssumeRole session has neither. The AssumeRoleWithSAML
// call itself is recorded as a SAMLUser with principalId, userName and identityProvider.
func TestFederatedSessionsAudit(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			issuer, err := oidctest.New(true)
			if err != nil {
				t.Fatal(err)
			}
			defer issuer.Close()
			e := newFedEnv(t, open, &fedClock{}, issuer.Server.Client())

			// Web identity.
			oidcARN := aws.ToString(must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
				Url: aws.String(issuer.URL), ClientIDList: []string{"sts.amazonaws.com"}})).OpenIDConnectProviderArn)
			webRole := aws.ToString(must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("web"),
				AssumeRolePolicyDocument: aws.String(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity"}]}`, oidcARN))})).Role.Arn)
			must[*iam.PutRolePolicyOutput](t)(e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("web"), PolicyName: aws.String("p"),
				PolicyDocument: aws.String(providerGuarded(oidcARN))}))
			web := must[*sts.AssumeRoleWithWebIdentityOutput](t)(e.anonSTS().AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
				RoleArn: aws.String(webRole), RoleSessionName: aws.String("web-sess"),
				WebIdentityToken: aws.String(signToken(t, issuer.Keys()[0], issuer.Claims("workload-1", "sts.amazonaws.com")))}))
			webIAM := e.iamAs(fedCreds(web.Credentials))
			must[*iam.ListRolesOutput](t)(webIAM.ListRoles(ctx, &iam.ListRolesInput{}))
			_, err = webIAM.ListUsers(ctx, &iam.ListUsersInput{})
			apiError(t, err, "AccessDenied")

			// SAML.
			idp, err := samltest.New("https://idp.example.com/metadata")
			if err != nil {
				t.Fatal(err)
			}
			samlARN := aws.ToString(must[*iam.CreateSAMLProviderOutput](t)(e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{
				Name: aws.String("Corp"), SAMLMetadataDocument: aws.String(idp.Metadata())})).SAMLProviderArn)
			samlRole := aws.ToString(must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("staff"),
				AssumeRolePolicyDocument: aws.String(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithSAML"}]}`, samlARN))})).Role.Arn)
			must[*iam.PutRolePolicyOutput](t)(e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("staff"), PolicyName: aws.String("p"),
				PolicyDocument: aws.String(providerGuarded(samlARN))}))
			resp, err := idp.Issue(samltest.Response{Roles: []string{samlRole + "," + samlARN}, SessionName: "carol", Subject: "carol@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			sa := must[*sts.AssumeRoleWithSAMLOutput](t)(e.anonSTS().AssumeRoleWithSAML(ctx, &sts.AssumeRoleWithSAMLInput{
				RoleArn: aws.String(samlRole), PrincipalArn: aws.String(samlARN), SAMLAssertion: aws.String(resp)}))
			samlIAM := e.iamAs(fedCreds(sa.Credentials))
			must[*iam.ListRolesOutput](t)(samlIAM.ListRoles(ctx, &iam.ListRolesInput{}))
			_, err = samlIAM.ListUsers(ctx, &iam.ListUsersInput{})
			apiError(t, err, "AccessDenied")
			must[*sts.GetCallerIdentityOutput](t)(e.stsAs(fedCreds(sa.Credentials)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))

			// A plain role session: no provider, so neither guarded statement applies.
			must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("plain"),
				AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"sts:AssumeRole"}]}`)}))
			must[*iam.PutRolePolicyOutput](t)(e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("plain"), PolicyName: aws.String("p"),
				PolicyDocument: aws.String(providerGuarded(oidcARN))}))
			assumer := e.newUser("assumer", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)
			plain := must[*sts.AssumeRoleOutput](t)(e.stsAs(assumer).AssumeRole(ctx, &sts.AssumeRoleInput{
				RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/plain"), RoleSessionName: aws.String("plain-sess")}))
			_, err = e.iamAs(fedCreds(plain.Credentials)).ListRoles(ctx, &iam.ListRolesInput{})
			apiError(t, err, "AccessDenied")

			checkFederationData(t, e.sessionRecord("ListRoles", "web-sess"), oidcARN)
			checkFederationData(t, e.sessionRecord("ListUsers", "web-sess"), oidcARN) // denied calls too
			checkFederationData(t, e.sessionRecord("ListRoles", "carol"), samlARN)
			checkFederationData(t, e.sessionRecord("GetCallerIdentity", "carol"), samlARN)
			if sc := e.sessionRecord("ListRoles", "plain-sess").UserIdentity.SessionContext; sc == nil || sc.WebIDFederationData != nil {
				t.Errorf("plain session's sessionContext = %+v, want one without webIdFederationData", sc)
			}

			recs := e.find(testAccount, "AssumeRoleWithSAML")
			if len(recs) != 1 {
				t.Fatalf("%d AssumeRoleWithSAML records", len(recs))
			}
			nq := aws.ToString(sa.NameQualifier)
			if id := recs[0].UserIdentity; id.Type != "SAMLUser" || id.PrincipalID != nq+":carol@example.com" ||
				id.UserName != "carol@example.com" || id.IdentityProvider != nq || id.ARN != "" {
				t.Errorf("AssumeRoleWithSAML userIdentity = %+v", id)
			}
		})
	}
}
