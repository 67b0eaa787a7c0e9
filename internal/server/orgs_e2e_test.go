package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	otypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/store"
)

func (e *env) orgsAs(c aws.Credentials) *organizations.Client {
	return organizations.NewFromConfig(e.cfg(c))
}

var (
	accountIDRE = regexp.MustCompile(`^[1-9][0-9]{11}$`)
	orgIDRE     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	requestIDRE = regexp.MustCompile(`^car-[a-z0-9]{8,32}$`)
)

// createAccount creates an account through the API and returns its id, polling the status as clients do.
func (e *env) createAccount(t *testing.T, org *organizations.Client, name, email string) string {
	t.Helper()
	ctx := context.Background()
	out := must[*organizations.CreateAccountOutput](t)(org.CreateAccount(ctx, &organizations.CreateAccountInput{
		AccountName: aws.String(name), Email: aws.String(email),
	}))
	st := out.CreateAccountStatus
	if st.State != otypes.CreateAccountStateInProgress || !requestIDRE.MatchString(aws.ToString(st.Id)) || aws.ToString(st.AccountName) != name || st.RequestedTimestamp == nil {
		t.Fatalf("CreateAccount status = %+v, want IN_PROGRESS with a car- id, the name and a request time", st)
	}
	desc := must[*organizations.DescribeCreateAccountStatusOutput](t)(org.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{
		CreateAccountRequestId: st.Id,
	}))
	got := desc.CreateAccountStatus
	if got.State != otypes.CreateAccountStateSucceeded || !accountIDRE.MatchString(aws.ToString(got.AccountId)) || got.CompletedTimestamp == nil {
		t.Fatalf("DescribeCreateAccountStatus = %+v, want SUCCEEDED with a 12-digit account id", got)
	}
	return aws.ToString(got.AccountId)
}

func TestOrganizationsAccounts(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			org := e.orgsAs(e.root)

			_, err := org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
			apiError(t, err, "AWSOrganizationsNotInUseException")
			_, err = org.ListAccounts(ctx, &organizations.ListAccountsInput{})
			apiError(t, err, "AWSOrganizationsNotInUseException")

			created := must[*organizations.CreateOrganizationOutput](t)(org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}))
			o := created.Organization
			if !orgIDRE.MatchString(aws.ToString(o.Id)) || aws.ToString(o.MasterAccountId) != testAccount || o.FeatureSet != otypes.OrganizationFeatureSetAll {
				t.Fatalf("CreateOrganization = %+v", o)
			}
			if want := "arn:aws:organizations::" + testAccount + ":organization/" + aws.ToString(o.Id); aws.ToString(o.Arn) != want {
				t.Errorf("organization ARN = %s, want %s", aws.ToString(o.Arn), want)
			}
			_, err = org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})
			apiError(t, err, "AlreadyInOrganizationException")

			described := must[*organizations.DescribeOrganizationOutput](t)(org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{}))
			if diff := cmp.Diff(aws.ToString(o.Arn), aws.ToString(described.Organization.Arn)); diff != "" {
				t.Errorf("DescribeOrganization ARN mismatch (-want +got):\n%s", diff)
			}

			ids := map[string]bool{}
			for i, n := range []string{"dev", "test", "prod"} {
				id := e.createAccount(t, org, n, n+"@example.com")
				if id == testAccount || ids[id] {
					t.Fatalf("account %d id %s is not unique", i, id)
				}
				ids[id] = true
			}

			// Pages of two: four accounts (the management account included) in two pages, in id order.
			var listed []otypes.Account
			var token *string
			pages := 0
			for {
				page := must[*organizations.ListAccountsOutput](t)(org.ListAccounts(ctx, &organizations.ListAccountsInput{MaxResults: aws.Int32(2), NextToken: token}))
				listed = append(listed, page.Accounts...)
				pages++
				if page.NextToken == nil {
					break
				}
				token = page.NextToken
			}
			if pages != 2 || len(listed) != 4 {
				t.Fatalf("ListAccounts: %d accounts in %d pages, want 4 in 2", len(listed), pages)
			}
			for i := 1; i < len(listed); i++ {
				if aws.ToString(listed[i-1].Id) >= aws.ToString(listed[i].Id) {
					t.Errorf("ListAccounts not in id order: %s then %s", aws.ToString(listed[i-1].Id), aws.ToString(listed[i].Id))
				}
			}
			byID := map[string]otypes.Account{}
			for _, a := range listed {
				byID[aws.ToString(a.Id)] = a
			}
			if byID[testAccount].JoinedMethod != otypes.AccountJoinedMethodInvited {
				t.Errorf("management account joined %s, want INVITED", byID[testAccount].JoinedMethod)
			}
			for id := range ids {
				a := byID[id]
				if a.JoinedMethod != otypes.AccountJoinedMethodCreated || a.Status != otypes.AccountStatusActive || a.JoinedTimestamp == nil {
					t.Errorf("account %s = %+v, want CREATED, ACTIVE, with a join time", id, a)
				}
				want := "arn:aws:organizations::" + testAccount + ":account/" + aws.ToString(o.Id) + "/" + id
				if aws.ToString(a.Arn) != want {
					t.Errorf("account ARN = %s, want %s", aws.ToString(a.Arn), want)
				}
				d := must[*organizations.DescribeAccountOutput](t)(org.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(id)}))
				if diff := cmp.Diff(aws.ToString(a.Email), aws.ToString(d.Account.Email)); diff != "" || aws.ToString(d.Account.Name) != aws.ToString(a.Name) {
					t.Errorf("DescribeAccount %s = %+v, want %+v", id, d.Account, a)
				}
			}

			_, err = org.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("999999999999")})
			apiError(t, err, "AccountNotFoundException")
			_, err = org.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: aws.String("car-0123456789abcdef")})
			apiError(t, err, "CreateAccountStatusNotFoundException")
			_, err = org.ListAccounts(ctx, &organizations.ListAccountsInput{NextToken: aws.String("!!not a token!!")})
			apiError(t, err, "InvalidInputException")

			// Every status is listed; only the FAILED one when filtered.
			dup := must[*organizations.CreateAccountOutput](t)(org.CreateAccount(ctx, &organizations.CreateAccountInput{
				AccountName: aws.String("dup"), Email: aws.String("DEV@example.com"),
			}))
			failed := must[*organizations.DescribeCreateAccountStatusOutput](t)(org.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: dup.CreateAccountStatus.Id}))
			if failed.CreateAccountStatus.State != otypes.CreateAccountStateFailed || failed.CreateAccountStatus.FailureReason != otypes.CreateAccountFailureReasonEmailAlreadyExists || failed.CreateAccountStatus.AccountId != nil {
				t.Errorf("duplicate email status = %+v, want FAILED EMAIL_ALREADY_EXISTS without an account", failed.CreateAccountStatus)
			}
			all := must[*organizations.ListCreateAccountStatusOutput](t)(org.ListCreateAccountStatus(ctx, &organizations.ListCreateAccountStatusInput{}))
			if len(all.CreateAccountStatuses) != 4 {
				t.Errorf("ListCreateAccountStatus: %d statuses, want 4", len(all.CreateAccountStatuses))
			}
			onlyFailed := must[*organizations.ListCreateAccountStatusOutput](t)(org.ListCreateAccountStatus(ctx, &organizations.ListCreateAccountStatusInput{
				States: []otypes.CreateAccountState{otypes.CreateAccountStateFailed},
			}))
			if len(onlyFailed.CreateAccountStatuses) != 1 || aws.ToString(onlyFailed.CreateAccountStatuses[0].Id) != aws.ToString(dup.CreateAccountStatus.Id) {
				t.Errorf("ListCreateAccountStatus(FAILED) = %+v, want only %s", onlyFailed.CreateAccountStatuses, aws.ToString(dup.CreateAccountStatus.Id))
			}
			if n := must[int](t)(e.st.Count(ctx, store.KindOrgAccount, "", aws.ToString(o.Id)+"/")); n != 4 {
				t.Errorf("stored memberships = %d, want 4 (the failed request created no account)", n)
			}
		})
	}
}

// TestOrganizationsNewAccountRole pins down that a new account has its access role from the start: trusting the
// management account's root, with AdministratorAccess attached, under RoleName when given.
func TestOrganizationsNewAccountRole(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	org := e.orgsAs(e.root)
	must[*organizations.CreateOrganizationOutput](t)(org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}))

	for _, tt := range []struct{ name, roleName, want string }{
		{name: "default role name", want: "OrganizationAccountAccessRole"},
		{name: "RoleName overrides", roleName: "OrgAdmin", want: "OrgAdmin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := &organizations.CreateAccountInput{AccountName: aws.String(tt.want), Email: aws.String(strings.ToLower(tt.want) + "@example.com")}
			if tt.roleName != "" {
				in.RoleName = aws.String(tt.roleName)
			}
			out := must[*organizations.CreateAccountOutput](t)(org.CreateAccount(ctx, in))
			st := must[*organizations.DescribeCreateAccountStatusOutput](t)(org.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: out.CreateAccountStatus.Id}))
			account := aws.ToString(st.CreateAccountStatus.AccountId)

			var role store.Role
			if _, err := store.GetJSON(ctx, e.st, store.KindRole, account, tt.want, &role); err != nil {
				t.Fatalf("role %s in %s: %v", tt.want, account, err)
			}
			var trust struct {
				Statement []struct {
					Effect    string
					Principal struct{ AWS string }
					Action    string
				}
			}
			if err := json.Unmarshal([]byte(role.TrustPolicy), &trust); err != nil {
				t.Fatal(err)
			}
			if len(trust.Statement) != 1 || trust.Statement[0].Effect != "Allow" || trust.Statement[0].Action != "sts:AssumeRole" ||
				trust.Statement[0].Principal.AWS != "arn:aws:iam::"+testAccount+":root" {
				t.Errorf("trust policy = %s, want the management account's root allowed sts:AssumeRole", role.TrustPolicy)
			}
			atts, err := store.ListJSON[store.Attachment](ctx, e.st, store.KindAttachment, account, "role/"+tt.want+"/")
			if err != nil {
				t.Fatal(err)
			}
			if len(atts) != 1 || atts[0].PolicyARN != "arn:aws:iam::aws:policy/AdministratorAccess" {
				t.Errorf("attached = %+v, want AdministratorAccess", atts)
			}
			// The management account's IAM has no such role: it lives in the new account only.
			_, err = e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(tt.want)})
			apiError(t, err, "NoSuchEntity")
		})
	}
}

func TestOrganizationsAuthorization(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	org := e.orgsAs(e.root)
	must[*organizations.CreateOrganizationOutput](t)(org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}))

	// A user of the management account with no policy is denied by the policy engine.
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}))
	key := must[*iam.CreateAccessKeyOutput](t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})).AccessKey
	alice := e.orgsAs(aws.Credentials{AccessKeyID: aws.ToString(key.AccessKeyId), SecretAccessKey: aws.ToString(key.SecretAccessKey)})
	_, err := alice.ListAccounts(ctx, &organizations.ListAccountsInput{})
	ae := apiError(t, err, "AccessDeniedException")
	if !strings.Contains(ae.ErrorMessage(), "organizations:ListAccounts") {
		t.Errorf("message %q does not name the action", ae.ErrorMessage())
	}
	_, err = alice.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("x@example.com")})
	apiError(t, err, "AccessDeniedException")

	// Allowed to list but not to create accounts.
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["organizations:List*","organizations:Describe*"],"Resource":"*"}]}`)}))
	waitAllowedCode(t, "AccessDeniedException", func() error { _, err := alice.ListAccounts(ctx, &organizations.ListAccountsInput{}); return err })
	_, err = alice.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("x@example.com")})
	apiError(t, err, "AccessDeniedException")

	// Resource-level: DescribeAccount is authorized on the account's ARN.
	member := e.createAccount(t, org, "member", "member@example.com")
	o := must[*organizations.DescribeOrganizationOutput](t)(org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})).Organization
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"organizations:DescribeAccount","Resource":"arn:aws:organizations::` + testAccount + `:account/` + aws.ToString(o.Id) + `/` + testAccount + `"}]}`)}))
	waitAllowedCode(t, "AccessDeniedException", func() error {
		_, err := alice.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(testAccount)})
		return err
	})
	_, err = alice.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(member)})
	apiError(t, err, "AccessDeniedException")
}

// TestOrganizationsValidation checks that bad inputs get Organizations' errors with the Reason AWS gives.
func TestOrganizationsValidation(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	org := e.orgsAs(e.root)
	must[*organizations.CreateOrganizationOutput](t)(org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}))
	tests := []struct {
		name   string
		call   func() error
		reason string
	}{
		{"bad email", func() error {
			_, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("a"), Email: aws.String("not-an-email")})
			return err
		}, "INVALID_EMAIL_ADDRESS_TARGET"},
		{"name too long", func() error {
			_, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(strings.Repeat("n", 51)), Email: aws.String("a@example.com")})
			return err
		}, "MAX_LENGTH_EXCEEDED"},
		{"bad role name", func() error {
			_, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("a"), Email: aws.String("a@example.com"), RoleName: aws.String("no spaces")})
			return err
		}, "INVALID_ROLE_NAME"},
		{"duplicate tag keys", func() error {
			_, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("a"), Email: aws.String("a@example.com"),
				Tags: []otypes.Tag{{Key: aws.String("k"), Value: aws.String("1")}, {Key: aws.String("k"), Value: aws.String("2")}}})
			return err
		}, "DUPLICATE_TAG_KEY"},
		{"bad account id", func() error {
			_, err := org.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("12345")})
			return err
		}, "INVALID_PATTERN"},
		{"max results too large", func() error {
			_, err := org.ListAccounts(ctx, &organizations.ListAccountsInput{MaxResults: aws.Int32(21)})
			return err
		}, "MAX_VALUE_EXCEEDED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			apiError(t, err, "InvalidInputException")
			var ie *otypes.InvalidInputException
			if !errors.As(err, &ie) || ie.Reason != otypes.InvalidInputExceptionReason(tt.reason) {
				t.Errorf("err = %v, want Reason %s", err, tt.reason)
			}
		})
	}
	// Nothing was created by the failed calls.
	accounts := must[*organizations.ListAccountsOutput](t)(org.ListAccounts(ctx, &organizations.ListAccountsInput{}))
	if len(accounts.Accounts) != 1 {
		t.Errorf("accounts = %d, want only the management account", len(accounts.Accounts))
	}
}

// TestJSONProtocolErrors checks the JSON 1.1 runtime's answers to malformed requests at the HTTP level.
func TestJSONProtocolErrors(t *testing.T) {
	e := newEnv(t, sqliteStore)
	const orgsTarget = "AWSOrganizationsV20161128."
	tests := []struct {
		name, target, contentType, body string
		sign                            string // signing name; "" leaves the request unsigned
		status                          int
		code                            string
	}{
		{"unknown prefix", "NoSuchService.Op", awsjsonCT, "{}", "organizations", 400, "UnknownOperationException"},
		{"unknown operation", orgsTarget + "NoSuchOp", awsjsonCT, "{}", "organizations", 400, "UnknownOperationException"},
		{"no operation", orgsTarget, awsjsonCT, "{}", "organizations", 400, "UnknownOperationException"},
		{"no prefix", "ListAccounts", awsjsonCT, "{}", "organizations", 400, "UnknownOperationException"},
		{"unsigned", orgsTarget + "ListAccounts", awsjsonCT, "{}", "", 400, "MissingAuthenticationTokenException"},
		{"signed for another service", orgsTarget + "ListAccounts", awsjsonCT, "{}", "iam", 400, "InvalidSignatureException"},
		{"form content type", orgsTarget + "ListAccounts", "application/x-www-form-urlencoded", "a=b", "organizations", 400, "SerializationException"},
		{"not JSON", orgsTarget + "ListAccounts", awsjsonCT, "{", "organizations", 400, "SerializationException"},
		{"not an object", orgsTarget + "ListAccounts", awsjsonCT, "[]", "organizations", 400, "SerializationException"},
		{"wrong member type", orgsTarget + "ListAccounts", awsjsonCT, `{"MaxResults":"ten"}`, "organizations", 400, "SerializationException"},
		{"missing required member", orgsTarget + "DescribeAccount", awsjsonCT, `{}`, "organizations", 400, "InvalidInputException"},
	}
	t.Run("target not signed", func(t *testing.T) {
		// Signed without X-Amz-Target, which is then added: the operation would be unauthenticated.
		req, _ := http.NewRequest(http.MethodPost, e.url, strings.NewReader("{}"))
		req.Header.Set("Content-Type", awsjsonCT)
		sum := sha256.Sum256([]byte("{}"))
		if err := v4.NewSigner().SignHTTP(context.Background(), e.root, req, hex.EncodeToString(sum[:]), "organizations", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", orgsTarget+"ListAccounts")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("x-amzn-ErrorType") != "IncompleteSignatureException" {
			t.Errorf("got %d %s, want 400 IncompleteSignatureException", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
		}
	})
	signer := v4.NewSigner()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.url, strings.NewReader(tt.body))
			req.Header.Set("X-Amz-Target", tt.target)
			req.Header.Set("Content-Type", tt.contentType)
			if tt.sign != "" {
				sum := sha256.Sum256([]byte(tt.body))
				if err := signer.SignHTTP(context.Background(), e.root, req, hex.EncodeToString(sum[:]), tt.sign, "us-east-1", time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var got struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if resp.StatusCode != tt.status || got.Type != tt.code || resp.Header.Get("x-amzn-ErrorType") != tt.code {
				t.Errorf("got %d %s (header %s) %q, want %d %s", resp.StatusCode, got.Type, resp.Header.Get("x-amzn-ErrorType"), got.Message, tt.status, tt.code)
			}
			if ct := resp.Header.Get("Content-Type"); ct != awsjsonCT {
				t.Errorf("Content-Type = %s", ct)
			}
		})
	}
}

// TestJSONMetricsLabelsBounded pins down that a caller cannot grow the metrics' label set with operation names of
// its choosing, even on requests that fail authentication before the operation is looked up.
func TestJSONMetricsLabelsBounded(t *testing.T) {
	e := newEnv(t, sqliteStore)
	req, _ := http.NewRequest(http.MethodPost, e.url, strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "AWSOrganizationsV20161128.Attacker0123456789")
	req.Header.Set("Content-Type", awsjsonCT)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(body), "Attacker0123456789") {
		t.Error("the caller's operation name became a metrics label")
	}
	if resp.StatusCode != 200 || !strings.Contains(string(body), `action="unknown",service="organizations"`) {
		t.Errorf("no request counted as unknown (status %d):\n%s", resp.StatusCode, body)
	}
	// Known operations keep their names.
	must[*organizations.CreateOrganizationOutput](t)(e.orgsAs(e.root).CreateOrganization(context.Background(), &organizations.CreateOrganizationInput{}))
	resp, err = http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `action="CreateOrganization",service="organizations"`) {
		t.Errorf("CreateOrganization not counted under its name")
	}
}

const awsjsonCT = "application/x-amz-json-1.1"

// TestOrganizationsConcurrentCreateAccount races CreateAccount calls for one email address: exactly one account
// is created, the others fail with EMAIL_ALREADY_EXISTS, and no id is given twice.
func TestOrganizationsConcurrentCreateAccount(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			org := e.orgsAs(e.root)
			must[*organizations.CreateOrganizationOutput](t)(org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}))
			const n = 6
			ids := make(chan *string, n)
			errs := make(chan error, n)
			for i := 0; i < n; i++ {
				go func() {
					out, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("race"), Email: aws.String("race@example.com")})
					if err != nil {
						errs <- err
						ids <- nil
						return
					}
					errs <- nil
					ids <- out.CreateAccountStatus.Id
				}()
			}
			succeeded, failed := 0, 0
			for i := 0; i < n; i++ {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
				id := <-ids
				st := must[*organizations.DescribeCreateAccountStatusOutput](t)(org.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: id})).CreateAccountStatus
				switch {
				case st.State == otypes.CreateAccountStateSucceeded:
					succeeded++
				case st.State == otypes.CreateAccountStateFailed && st.FailureReason == otypes.CreateAccountFailureReasonEmailAlreadyExists:
					failed++
				default:
					t.Errorf("status %+v", st)
				}
			}
			if succeeded != 1 || failed != n-1 {
				t.Errorf("%d succeeded, %d failed; want 1 and %d", succeeded, failed, n-1)
			}
			accounts := must[*organizations.ListAccountsOutput](t)(org.ListAccounts(ctx, &organizations.ListAccountsInput{}))
			if len(accounts.Accounts) != 2 {
				t.Errorf("accounts = %d, want 2", len(accounts.Accounts))
			}
		})
	}
}

// TestOrganizationsAccountQuota pins down the quota of accounts per organization (10 by default, the
// management account included): the eleventh is refused with ConstraintViolationException.
func TestOrganizationsAccountQuota(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	org := e.orgsAs(e.root)
	must[*organizations.CreateOrganizationOutput](t)(org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}))
	for i := 0; i < 9; i++ {
		e.createAccount(t, org, "a"+string(rune('0'+i)), "a"+string(rune('0'+i))+"@example.com")
	}
	_, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("over"), Email: aws.String("over@example.com")})
	apiError(t, err, "ConstraintViolationException")
	var cv *otypes.ConstraintViolationException
	if !errors.As(err, &cv) || cv.Reason != otypes.ConstraintViolationExceptionReasonAccountNumberLimitExceeded {
		t.Errorf("err = %v, want Reason ACCOUNT_NUMBER_LIMIT_EXCEEDED", err)
	}
}
