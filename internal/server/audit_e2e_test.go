package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/awsquery/stsapi"
	"github.com/persona-iam/persona/internal/store"
)

func (e *env) cloudtrailAs(c aws.Credentials) *cloudtrail.Client {
	return cloudtrail.NewFromConfig(e.cfg(c))
}

// flushAudit waits until every queued audit record is written.
func (e *env) flushAudit() {
	e.t.Helper()
	if err := e.srv.audit.writer.Flush(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// records returns every record of account's trail, newest first, decoded.
func (e *env) records(account string) []audit.Record {
	e.t.Helper()
	e.flushAudit()
	var out []audit.Record
	q := store.AuditQuery{Account: account, Max: 500}
	for {
		rows, next, err := e.srv.audit.log.LookupAudit(context.Background(), q)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, r := range rows {
			var rec audit.Record
			if err := json.Unmarshal(r.Data, &rec); err != nil {
				e.t.Fatal(err)
			}
			out = append(out, rec)
		}
		if next == "" {
			return out
		}
		q.Marker = next
	}
}

// find returns the records of account named eventName.
func (e *env) find(account, eventName string) []audit.Record {
	var out []audit.Record
	for _, r := range e.records(account) {
		if r.EventName == eventName {
			out = append(out, r)
		}
	}
	return out
}

// newUser creates a user with an inline policy and an access key, as root.
func (e *env) newUser(name, policy string) aws.Credentials {
	e.t.Helper()
	ctx := context.Background()
	must[*iam.CreateUserOutput](e.t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}))
	if policy != "" {
		must[*iam.PutUserPolicyOutput](e.t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name),
			PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)}))
	}
	k := must[*iam.CreateAccessKeyOutput](e.t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)}))
	return aws.Credentials{AccessKeyID: aws.ToString(k.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(k.AccessKey.SecretAccessKey)}
}

const allowIAMReadAndTrail = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":["iam:Get*","iam:List*","cloudtrail:LookupEvents"],"Resource":"*"}]}`

// TestAuditRecordsEveryRequest drives allowed, denied, failed and unauthenticated calls with aws-sdk-go-v2 and
// checks each has one CloudTrail record with the right identity, parameters, response and error.
func TestAuditRecordsEveryRequest(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			alice := e.newUser("alice", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}`)
			aliceIAM := e.iamAs(alice)

			must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("app"),
				AssumeRolePolicyDocument: aws.String(ec2Trust), MaxSessionDuration: aws.Int32(7200)}))
			// A mutation's record is committed with it: it is in the store as soon as the call returns, without
			// waiting for the group-commit writer.
			rows, _, err := e.srv.audit.log.LookupAudit(ctx, store.AuditQuery{Account: testAccount,
				Attribute: store.AuditEventName, Value: "CreateRole", Max: 10})
			if err != nil || len(rows) != 1 {
				t.Fatalf("CreateRole records right after the call = %d (%v), want 1", len(rows), err)
			}

			must[*iam.GetUserOutput](t)(aliceIAM.GetUser(ctx, &iam.GetUserInput{}))
			_, err = aliceIAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("evil"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
			apiError(t, err, "AccessDenied")
			_, err = e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
			apiError(t, err, "EntityAlreadyExists")
			_, err = e.iamAs(aws.Credentials{AccessKeyID: alice.AccessKeyID, SecretAccessKey: "wrong" + alice.SecretAccessKey}).GetUser(ctx, &iam.GetUserInput{})
			apiError(t, err, "SignatureDoesNotMatch")
			must[*sts.GetCallerIdentityOutput](t)(e.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))

			var created []audit.Record
			for _, r := range e.find(testAccount, "CreateRole") {
				if r.UserIdentity.Type == "Root" {
					created = append(created, r)
				}
			}
			if len(created) != 2 {
				t.Fatalf("%d CreateRole records, want 2 (one success, one failure): %+v", len(created), created)
			}
			ok, dup := created[1], created[0] // newest first
			if ok.ErrorCode != "" || dup.ErrorCode != "EntityAlreadyExists" || dup.ErrorMessage != "Role with name app already exists." {
				t.Errorf("CreateRole records: %q then %q (%q)", ok.ErrorCode, dup.ErrorCode, dup.ErrorMessage)
			}
			wantRoot := audit.UserIdentity{Type: "Root", PrincipalID: testAccount, ARN: "arn:aws:iam::" + testAccount + ":root",
				AccountID: testAccount, AccessKeyID: testRootKey}
			if diff := cmp.Diff(wantRoot, ok.UserIdentity); diff != "" {
				t.Errorf("root userIdentity mismatch (-want +got):\n%s", diff)
			}
			if ok.EventSource != "iam.amazonaws.com" || ok.AWSRegion != "us-east-1" || ok.SourceIPAddress != "127.0.0.1" ||
				!strings.Contains(ok.UserAgent, "aws-sdk-go-v2") || ok.ReadOnly || ok.EventType != "AwsApiCall" ||
				ok.RecipientAccountID != testAccount || ok.RequestID == "" || ok.EventID == "" {
				t.Errorf("CreateRole record = %+v", ok)
			}
			if ok.RequestParameters["roleName"] != "app" || ok.RequestParameters["maxSessionDuration"] != float64(7200) ||
				ok.RequestParameters["assumeRolePolicyDocument"] != ec2Trust {
				t.Errorf("requestParameters = %v", ok.RequestParameters)
			}
			role, _ := ok.ResponseElements["role"].(map[string]any)
			if role["roleName"] != "app" || !strings.HasPrefix(role["roleId"].(string), "AROA") ||
				role["arn"] != "arn:aws:iam::"+testAccount+":role/app" || role["createDate"] == nil {
				t.Errorf("responseElements = %v", ok.ResponseElements)
			}
			if dup.ResponseElements != nil {
				t.Errorf("a failed call's responseElements = %v, want null", dup.ResponseElements)
			}

			var aliceDenied, aliceGet *audit.Record
			for _, r := range e.records(testAccount) {
				if r.UserIdentity.UserName != "alice" {
					continue
				}
				switch {
				case r.EventName == "CreateRole":
					aliceDenied = &r
				case r.EventName == "GetUser":
					aliceGet = &r
				}
			}
			if aliceDenied == nil || aliceDenied.ErrorCode != "AccessDenied" ||
				!strings.Contains(aliceDenied.ErrorMessage, "is not authorized to perform: iam:CreateRole") {
				t.Fatalf("alice's denied CreateRole record = %+v", aliceDenied)
			}
			if aliceDenied.UserIdentity.Type != "IAMUser" || aliceDenied.UserIdentity.AccessKeyID != alice.AccessKeyID ||
				aliceDenied.UserIdentity.ARN != "arn:aws:iam::"+testAccount+":user/alice" || !strings.HasPrefix(aliceDenied.UserIdentity.PrincipalID, "AIDA") {
				t.Errorf("alice's userIdentity = %+v", aliceDenied.UserIdentity)
			}
			if aliceGet == nil || !aliceGet.ReadOnly || aliceGet.ResponseElements != nil {
				t.Errorf("alice's GetUser record = %+v, want a read-only record with null responseElements", aliceGet)
			}
			var sigFail *audit.Record
			for _, r := range e.find(testAccount, "GetUser") {
				if r.ErrorCode == "SignatureDoesNotMatch" {
					sigFail = &r
				}
			}
			if sigFail == nil || sigFail.UserIdentity.Type != "Unknown" || sigFail.UserIdentity.AccessKeyID != alice.AccessKeyID {
				t.Errorf("failed-signature record = %+v, want one in the key's account with an Unknown identity", sigFail)
			}
			gci := e.find(testAccount, "GetCallerIdentity")
			if len(gci) != 1 || gci[0].EventSource != "sts.amazonaws.com" || !gci[0].ReadOnly {
				t.Errorf("GetCallerIdentity records = %+v", gci)
			}
			for _, r := range e.records(testAccount) {
				if r.EventID == "" || r.RequestID == "" || r.EventVersion != audit.EventVersion {
					t.Errorf("incomplete record %+v", r)
				}
			}
		})
	}
}

// fakeSTS answers AssumeRole with credentials, standing in for the STS operations so the recorder's handling of
// credentials in responses is tested through the real server.
type fakeSTS struct {
	stsapi.Handler
	secret, token string
}

func (f fakeSTS) AssumeRole(_ context.Context, in *stsapi.AssumeRoleInput) (*stsapi.AssumeRoleOutput, error) {
	exp := time.Now().Add(time.Hour)
	return &stsapi.AssumeRoleOutput{
		Credentials: &stsapi.Credentials{AccessKeyId: "ASIAFAKEFAKEFAKEFAKE", SecretAccessKey: f.secret, SessionToken: f.token, Expiration: exp},
		AssumedRoleUser: &stsapi.AssumedRoleUser{AssumedRoleId: "AROAFAKE:" + in.RoleSessionName,
			Arn: "arn:aws:sts::" + testAccount + ":assumed-role/app/" + in.RoleSessionName},
	}, nil
}

// TestAuditNoSecretInAnyRecord sends every kind of secret Persona handles (secret keys, session tokens, passwords,
// MFA codes, assertions) through requests and responses, and checks none appears in any record or in the log.
func TestAuditNoSecretInAnyRecord(t *testing.T) {
	e := newEnv(t, sqliteStore)
	var logBuf strings.Builder
	e.srv.cfg.Logger = newTestLogger(&logBuf)
	ctx := context.Background()
	const (
		password = "Corr3ct-Horse-Battery-Staple!"
		mfa1     = "918273"
		mfa2     = "564738"
		token    = "FwoGZXIvYXdzEFAKESESSIONTOKENFORTHETEST0123456789"
		secret   = "fakeSTSsecretKEY0123456789abcdefghijklmn"
	)
	e.srv.sts = fakeSTS{Handler: stsapi.Unimplemented{}, secret: secret, token: token}
	alice := e.newUser("alice", "")
	must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))

	// Each of these carries a secret in its parameters; whether or not Persona implements the call, it is recorded.
	e.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("alice"), Password: aws.String(password)})
	e.iam.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: aws.String(password), NewPassword: aws.String(password + "2")})
	e.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String("arn:aws:iam::111122223333:mfa/alice"),
		AuthenticationCode1: aws.String(mfa1), AuthenticationCode2: aws.String(mfa2)})
	ar := must[*sts.AssumeRoleOutput](t)(e.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/app"),
		RoleSessionName: aws.String("s1"), SerialNumber: aws.String("arn:aws:iam::111122223333:mfa/root"), TokenCode: aws.String(mfa1)}))
	if aws.ToString(ar.Credentials.SessionToken) != token {
		t.Fatal("the fake STS was not used")
	}
	// A call signed with a session token (rejected: this server does not open tokens yet) must not leak it either.
	e.stsAs(aws.Credentials{AccessKeyID: "ASIAFAKEFAKEFAKEFAKE", SecretAccessKey: secret, SessionToken: token}).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})

	recs := e.records(testAccount)
	all := e.rawRecords(testAccount)
	for _, s := range []string{testRootSecret, alice.SecretAccessKey, password, mfa1, mfa2, token, secret} {
		if strings.Contains(all, s) {
			t.Errorf("secret %q appears in the trail", s)
		}
		if strings.Contains(logBuf.String(), s) {
			t.Errorf("secret %q appears in the log", s)
		}
	}
	var assume *audit.Record
	for _, r := range recs {
		if r.EventName == "AssumeRole" {
			assume = &r
		}
	}
	if assume == nil {
		t.Fatal("no AssumeRole record")
	}
	creds, _ := assume.ResponseElements["credentials"].(map[string]any)
	if creds["accessKeyId"] != "ASIAFAKEFAKEFAKEFAKE" || creds["sessionToken"] != audit.Hidden || creds["secretAccessKey"] != audit.Hidden {
		t.Errorf("AssumeRole responseElements.credentials = %v, want the key id shown and the secrets hidden", creds)
	}
	if assume.RequestParameters["tokenCode"] != audit.Hidden || assume.RequestParameters["roleSessionName"] != "s1" {
		t.Errorf("AssumeRole requestParameters = %v", assume.RequestParameters)
	}
	if len(assume.Resources) != 1 || assume.Resources[0].ARN != "arn:aws:iam::"+testAccount+":role/app" {
		t.Errorf("AssumeRole resources = %+v", assume.Resources)
	}
	for _, name := range []string{"CreateLoginProfile", "ChangePassword", "EnableMFADevice"} {
		if len(e.find(testAccount, name)) != 1 {
			t.Errorf("%s: want one record", name)
		}
	}

	// The assumed role is now "used": last-used data reaches GetRole once gathered activity is written.
	if err := e.srv.flushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	got := must[*iam.GetRoleOutput](t)(e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")}))
	if got.Role.RoleLastUsed == nil || got.Role.RoleLastUsed.LastUsedDate == nil || aws.ToString(got.Role.RoleLastUsed.Region) != "us-east-1" {
		t.Errorf("RoleLastUsed = %+v, want a date and us-east-1", got.Role.RoleLastUsed)
	}
}

// rawRecords returns the stored JSON of every record of account, concatenated.
func (e *env) rawRecords(account string) string {
	e.flushAudit()
	var b strings.Builder
	q := store.AuditQuery{Account: account, Max: 500}
	for {
		rows, next, err := e.srv.audit.log.LookupAudit(context.Background(), q)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, r := range rows {
			b.Write(r.Data)
			b.WriteString(r.Username + r.AccessKeyID + r.PrincipalARN + "\n")
		}
		if next == "" {
			return b.String()
		}
		q.Marker = next
	}
}

// TestLookupEventsSDK reads the trail with aws-sdk-go-v2's CloudTrail client: lookup attributes, time range,
// pagination, authorization and account isolation.
func TestLookupEventsSDK(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			reader := e.newUser("reader", allowIAMReadAndTrail)
			nobody := e.newUser("nobody", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}`)
			for _, n := range []string{"r1", "r2", "r3"} {
				must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(n), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
			}
			e.flushAudit()
			ct := e.cloudtrailAs(reader)

			lookup := func(attr cttypes.LookupAttributeKey, value string) []cttypes.Event {
				t.Helper()
				var events []cttypes.Event
				p := cloudtrail.NewLookupEventsPaginator(ct, &cloudtrail.LookupEventsInput{
					LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: attr, AttributeValue: aws.String(value)}},
					MaxResults:       aws.Int32(1),
				})
				for pages := 0; p.HasMorePages(); pages++ {
					out, err := p.NextPage(ctx)
					if err != nil {
						t.Fatalf("LookupEvents %s=%s: %v", attr, value, err)
					}
					if len(out.Events) > 1 || pages > 50 {
						t.Fatalf("page of %d events with MaxResults 1", len(out.Events))
					}
					events = append(events, out.Events...)
				}
				return events
			}
			names := func(events []cttypes.Event) []string {
				var out []string
				for _, ev := range events {
					out = append(out, aws.ToString(ev.EventName)+"/"+aws.ToString(ev.Username))
				}
				return out
			}

			created := lookup(cttypes.LookupAttributeKeyEventName, "CreateRole")
			if diff := cmp.Diff([]string{"CreateRole/root", "CreateRole/root", "CreateRole/root"}, names(created)); diff != "" {
				t.Errorf("EventName lookup mismatch (-want +got):\n%s", diff)
			}
			ev := created[0]
			if aws.ToString(ev.EventSource) != "iam.amazonaws.com" || aws.ToString(ev.ReadOnly) != "false" ||
				aws.ToString(ev.AccessKeyId) != testRootKey || ev.EventTime == nil || time.Since(*ev.EventTime) > time.Minute {
				t.Errorf("event = %+v", ev)
			}
			var rec audit.Record
			if err := json.Unmarshal([]byte(aws.ToString(ev.CloudTrailEvent)), &rec); err != nil || rec.RequestParameters["roleName"] != "r3" {
				t.Errorf("CloudTrailEvent = %s (%v), want the record of the newest CreateRole (r3)", aws.ToString(ev.CloudTrailEvent), err)
			}
			if got := lookup(cttypes.LookupAttributeKeyResourceName, "r2"); len(got) != 1 || aws.ToString(got[0].EventName) != "CreateRole" {
				t.Errorf("ResourceName r2 = %v", names(got))
			} else if len(got[0].Resources) != 1 || aws.ToString(got[0].Resources[0].ResourceType) != "AWS::IAM::Role" {
				t.Errorf("resources = %+v", got[0].Resources)
			}
			if got := lookup(cttypes.LookupAttributeKeyAccessKeyId, testRootKey); len(got) < 3 {
				t.Errorf("AccessKeyId of root = %v", names(got))
			}
			e.flushAudit()
			if got := lookup(cttypes.LookupAttributeKeyUsername, "reader"); len(got) < 3 {
				// the lookups just made by reader, recorded as CloudTrail reads
				t.Errorf("Username reader = %v", names(got))
			} else if aws.ToString(got[0].EventSource) != "cloudtrail.amazonaws.com" || aws.ToString(got[0].EventName) != "LookupEvents" {
				t.Errorf("newest event of reader = %v", names(got[:1]))
			}
			if got := lookup(cttypes.LookupAttributeKeyEventSource, "sts.amazonaws.com"); len(got) != 0 {
				t.Errorf("EventSource sts = %v, want none", names(got))
			}

			// Time range: nothing in the future.
			out := must[*cloudtrail.LookupEventsOutput](t)(ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{
				StartTime: aws.Time(time.Now().Add(time.Hour)), EndTime: aws.Time(time.Now().Add(2 * time.Hour))}))
			if len(out.Events) != 0 {
				t.Errorf("future range: %v", names(out.Events))
			}
			_, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{StartTime: aws.Time(time.Now()), EndTime: aws.Time(time.Now().Add(-time.Hour))})
			apiError(t, err, "InvalidTimeRangeException")
			_, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: "Nope", AttributeValue: aws.String("x")}}})
			apiError(t, err, "InvalidLookupAttributesException")
			_, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{NextToken: aws.String("forged")})
			apiError(t, err, "InvalidNextTokenException")

			// Authorization: a user without cloudtrail:LookupEvents is denied, and the denial is recorded.
			_, err = e.cloudtrailAs(nobody).LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
			ae := apiError(t, err, "AccessDeniedException")
			if !strings.Contains(ae.ErrorMessage(), "cloudtrail:LookupEvents") {
				t.Errorf("message = %q", ae.ErrorMessage())
			}
			_, err = e.cloudtrailAs(aws.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN22", SecretAccessKey: "x"}).LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
			apiError(t, err, "UnrecognizedClientException")
			var deniedLookup bool
			for _, r := range e.find(testAccount, "LookupEvents") {
				if r.UserIdentity.UserName == "nobody" && r.ErrorCode == "AccessDeniedException" {
					deniedLookup = true
				}
			}
			if !deniedLookup {
				t.Error("the denied LookupEvents was not recorded")
			}

			// Another account's root sees only its own trail.
			other := e.addAccount("444455556666", "AKIAOTHERACCOUNT2222", "otherAccountSecretKey0123456789abcdefghi")
			out = must[*cloudtrail.LookupEventsOutput](t)(e.cloudtrailAs(other).LookupEvents(ctx, &cloudtrail.LookupEventsInput{}))
			if len(out.Events) != 0 {
				t.Errorf("the other account sees %v", names(out.Events))
			}
			must[*iam.CreateUserOutput](t)(e.iamAs(other).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")}))
			if got := lookup(cttypes.LookupAttributeKeyUsername, "bob"); len(got) != 0 {
				t.Errorf("account A sees B's events: %v", names(got))
			}
			if len(e.find("444455556666", "CreateUser")) != 1 {
				t.Error("B's CreateUser is not in B's trail")
			}
		})
	}
}

// addAccount creates a second account with a root access key, directly in the store.
func (e *env) addAccount(account, akid, secret string) aws.Credentials {
	e.t.Helper()
	err := e.st.Tx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		data, _ := json.Marshal(store.Account{ID: account, Name: "other", Created: tx.Now()})
		if err := tx.Create(ctx, store.Record{Kind: store.KindAccount, Key: account, Data: data}); err != nil {
			return err
		}
		k, _ := json.Marshal(store.AccessKey{ID: akid, Status: "Active", Secret: e.srv.cfg.Box.Seal([]byte(secret), []byte(akid)), Created: tx.Now()})
		return tx.Create(ctx, store.Record{Kind: store.KindAccessKey, Account: account, Key: "/" + akid, ID: akid, Data: k})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}
}

// TestLookupEventsCLI runs `aws cloudtrail lookup-events` (aws CLI v1) against the server.
func TestLookupEventsCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Fatal("the aws CLI is required: ", err)
	}
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("cli-role"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	cmd := exec.Command("aws", "cloudtrail", "lookup-events", "--endpoint-url", e.url, "--output", "json",
		"--lookup-attributes", "AttributeKey=ResourceName,AttributeValue=cli-role", "--max-results", "5")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+testRootKey, "AWS_SECRET_ACCESS_KEY="+testRootSecret,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws cloudtrail lookup-events: %v\n%s", err, out)
	}
	var res struct {
		Events []struct {
			EventName, Username, CloudTrailEvent string
			EventTime                            any
		}
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	if len(res.Events) != 1 || res.Events[0].EventName != "CreateRole" || res.Events[0].Username != "root" ||
		!strings.Contains(res.Events[0].CloudTrailEvent, `"roleName":"cli-role"`) {
		t.Errorf("lookup-events = %s", out)
	}
}

// TestGetAccessKeyLastUsedFromActivity checks last use is gathered in memory and written in one batch.
func TestGetAccessKeyLastUsedFromActivity(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	bob := e.newUser("bob", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}`)
	before := must[*iam.GetAccessKeyLastUsedOutput](t)(e.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(bob.AccessKeyID)}))
	if before.AccessKeyLastUsed.LastUsedDate != nil || aws.ToString(before.AccessKeyLastUsed.ServiceName) != "N/A" {
		t.Errorf("unused key: %+v", before.AccessKeyLastUsed)
	}
	must[*sts.GetCallerIdentityOutput](t)(e.stsAs(bob).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if err := e.srv.flushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	after := must[*iam.GetAccessKeyLastUsedOutput](t)(e.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(bob.AccessKeyID)}))
	if after.AccessKeyLastUsed.LastUsedDate == nil || aws.ToString(after.AccessKeyLastUsed.ServiceName) != "sts" ||
		aws.ToString(after.AccessKeyLastUsed.Region) != "us-east-1" || aws.ToString(after.UserName) != "bob" {
		t.Errorf("after use: %+v", after.AccessKeyLastUsed)
	}
}

// TestAuditRetentionPrunes checks records older than the retention are deleted and newer ones kept.
func TestAuditRetentionPrunes(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	e.srv.cfg.AuditRetention = 24 * time.Hour
	old, err := audit.Build(audit.Event{Time: time.Now().Add(-48 * time.Hour), Source: audit.SourceIAM, Action: "GetRole",
		Identity: &audit.UserIdentity{Type: "Root", AccountID: testAccount}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.audit.log.AppendAudit(ctx, []store.AuditRecord{old}); err != nil {
		t.Fatal(err)
	}
	must[*iam.ListRolesOutput](t)(e.iam.ListRoles(ctx, &iam.ListRolesInput{}))
	e.flushAudit()
	e.srv.prune(ctx)
	var ids []string
	for _, r := range e.records(testAccount) {
		ids = append(ids, r.EventName)
	}
	if diff := cmp.Diff([]string{"ListRoles"}, ids); diff != "" {
		t.Errorf("after pruning (-want +got):\n%s", diff)
	}
}

// lockedWriter lets a test read what concurrent handlers logged.
type lockedWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func newTestLogger(b *strings.Builder) *slog.Logger {
	return slog.New(slog.NewJSONHandler(&lockedWriter{b: b}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestAuditCrossAccountAssumeRole checks a cross-account AssumeRole is recorded in both accounts' trails with
// one sharedEventID, and a same-account one only in the caller's.
func TestAuditCrossAccountAssumeRole(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	e.srv.sts = fakeSTS{Handler: stsapi.Unimplemented{}, secret: "s", token: "t"}
	const other = "444455556666"
	e.addAccount(other, "AKIAOTHERACCOUNT2222", "otherAccountSecretKey0123456789abcdefghi")
	must[*sts.AssumeRoleOutput](t)(e.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + other + ":role/shared"), RoleSessionName: aws.String("xx")}))
	must[*sts.AssumeRoleOutput](t)(e.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/local"), RoleSessionName: aws.String("yy")}))
	mine, theirs := e.find(testAccount, "AssumeRole"), e.find(other, "AssumeRole")
	if len(mine) != 2 || len(theirs) != 1 {
		t.Fatalf("%d records in the caller's trail (want 2), %d in the role owner's (want 1)", len(mine), len(theirs))
	}
	cross := mine[1] // oldest
	if cross.SharedEventID == "" || cross.SharedEventID != theirs[0].SharedEventID || cross.EventID == theirs[0].EventID {
		t.Errorf("sharedEventID %q / %q, eventID %q / %q: want one shared id and two event ids",
			cross.SharedEventID, theirs[0].SharedEventID, cross.EventID, theirs[0].EventID)
	}
	if theirs[0].RecipientAccountID != other || theirs[0].UserIdentity.AccountID != testAccount {
		t.Errorf("role owner's record: recipient %s, caller account %s", theirs[0].RecipientAccountID, theirs[0].UserIdentity.AccountID)
	}
	if mine[0].SharedEventID != "" {
		t.Errorf("same-account AssumeRole has sharedEventID %q", mine[0].SharedEventID)
	}
}

// TestAuditUnsignedCalls checks an unsigned call (AssumeRoleWithWebIdentity) is recorded in the trail of the
// account its role belongs to, and not at all when that account does not exist (no trail for made-up accounts).
func TestAuditUnsignedCalls(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	anon := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(e.url), RetryMaxAttempts: 1})
	for _, account := range []string{testAccount, "999988887777"} {
		_, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String("arn:aws:iam::" + account + ":role/web"), RoleSessionName: aws.String("ws"),
			WebIdentityToken: aws.String("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")})
		if err == nil {
			t.Fatal("the web identity call succeeded with Unimplemented STS")
		}
	}
	recs := e.find(testAccount, "AssumeRoleWithWebIdentity")
	if len(recs) != 1 || recs[0].RecipientAccountID != testAccount || recs[0].ErrorCode == "" ||
		recs[0].RequestParameters["webIdentityToken"] != audit.Hidden || recs[0].RequestParameters["roleSessionName"] != "ws" {
		t.Errorf("records in the role's account = %+v", recs)
	}
	if got := e.records("999988887777"); len(got) != 0 {
		t.Errorf("%d records for an account that does not exist", len(got))
	}
}

// TestAuditOrganizations checks Organizations calls (JSON 1.1) are recorded like the others: parameters and
// responses from the JSON bodies, reads, denials; an account's name and email are withheld as CloudTrail does.
func TestAuditOrganizations(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	org := e.orgsAs(e.root)
	must[*organizations.CreateOrganizationOutput](t)(org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}))
	id := e.createAccount(t, org, "dev", "dev@example.com")
	must[*organizations.ListAccountsOutput](t)(org.ListAccounts(ctx, &organizations.ListAccountsInput{}))
	bob := e.newUser("bob", "")
	_, err := e.orgsAs(bob).CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("x@example.com")})
	if err == nil {
		t.Fatal("bob may create accounts")
	}

	created := e.find(testAccount, "CreateAccount")
	if len(created) != 2 {
		t.Fatalf("%d CreateAccount records, want 2", len(created))
	}
	denied, ok := created[0], created[1]
	// The model marks an account's name and email sensitive: CloudTrail withholds them.
	if ok.EventSource != "organizations.amazonaws.com" || ok.ErrorCode != "" || ok.ReadOnly ||
		ok.RequestParameters["accountName"] != audit.Hidden || ok.RequestParameters["email"] != audit.Hidden {
		t.Errorf("CreateAccount record = %+v", ok)
	}
	if st, _ := ok.ResponseElements["createAccountStatus"].(map[string]any); st["accountName"] != audit.Hidden || st["id"] == nil {
		t.Errorf("CreateAccount responseElements = %v", ok.ResponseElements)
	}
	if denied.ErrorCode != "AccessDeniedException" || denied.UserIdentity.UserName != "bob" {
		t.Errorf("denied CreateAccount record = %+v", denied)
	}
	if list := e.find(testAccount, "ListAccounts"); len(list) != 1 || !list[0].ReadOnly || list[0].ResponseElements != nil {
		t.Errorf("ListAccounts records = %+v", list)
	}
	if len(e.find(testAccount, "CreateOrganization")) != 1 {
		t.Error("no CreateOrganization record")
	}
	_ = id
}

// TestAuditSessionIdentities checks the records of calls made with role sessions, with and without MFA: the
// AssumedRole userIdentity with its sessionContext, the AssumeRole record's redacted credentials, and that the
// aws CLI's lookup-events finds a session's calls by its session name.
func TestAuditSessionIdentities(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	roleARN := "arn:aws:iam::" + testAccount + ":role/dev"
	alice := e.newUser("alice", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"`+roleARN+`"}]}`)
	role := must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("dev"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"sts:AssumeRole"}]}`)})).Role
	must[*iam.PutRolePolicyOutput](t)(e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("dev"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"*"}]}`)}))
	dev := must[*iam.CreateVirtualMFADeviceOutput](t)(e.iam.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("alice-phone")})).VirtualMFADevice
	seed, serial := string(dev.Base32StringSeed), aws.ToString(dev.SerialNumber)
	now := time.Now()
	must[*iam.EnableMFADeviceOutput](t)(e.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(totpAt(t, seed, now.Add(-30*time.Second))), AuthenticationCode2: aws.String(totpAt(t, seed, now))}))

	var secrets []string
	assume := func(session string, mfa bool) aws.Credentials {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(session)}
		if mfa {
			in.SerialNumber, in.TokenCode = aws.String(serial), aws.String(totpAt(t, seed, now.Add(30*time.Second)))
			secrets = append(secrets, *in.TokenCode)
		}
		out := must[*sts.AssumeRoleOutput](t)(e.stsAs(alice).AssumeRole(ctx, in))
		c := out.Credentials
		secrets = append(secrets, aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
		return aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken)}
	}
	plain, withMFA := assume("s-plain", false), assume("s-mfa", true)
	var err error
	must[*iam.GetRoleOutput](t)(e.iamAs(plain).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("dev")}))
	must[*iam.GetRoleOutput](t)(e.iamAs(withMFA).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("dev")}))
	_, err = e.iamAs(withMFA).DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("dev")})
	apiError(t, err, "AccessDenied")

	// Regression: STS verifies the MFA code with a write of IAM's (the code is used up) before it checks the trust
	// policy; that write must not commit the AssumeRole record as a success when the call is then denied.
	must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("locked"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	_, err = e.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/locked"),
		RoleSessionName: aws.String("nope"), SerialNumber: aws.String(serial), TokenCode: aws.String(totpAt(t, seed, now.Add(60*time.Second)))})
	apiError(t, err, "AccessDenied")
	for _, r := range e.find(testAccount, "AssumeRole") {
		if r.RequestParameters["roleSessionName"] == "nope" && r.ErrorCode != "AccessDenied" {
			t.Errorf("denied AssumeRole recorded with errorCode %q, response %v", r.ErrorCode, r.ResponseElements)
		}
	}

	bySession := map[string]audit.Record{}
	for _, r := range e.find(testAccount, "GetRole") {
		if r.UserIdentity.Type == "AssumedRole" {
			bySession[r.UserIdentity.ARN] = r
		}
	}
	for _, tc := range []struct {
		session string
		creds   aws.Credentials
		mfa     string
	}{{"s-plain", plain, "false"}, {"s-mfa", withMFA, "true"}} {
		r, ok := bySession["arn:aws:sts::"+testAccount+":assumed-role/dev/"+tc.session]
		if !ok {
			t.Fatalf("no GetRole record of session %s among %v", tc.session, bySession)
		}
		id := r.UserIdentity
		if id.PrincipalID != aws.ToString(role.RoleId)+":"+tc.session || id.AccessKeyID != tc.creds.AccessKeyID || id.AccountID != testAccount {
			t.Errorf("%s userIdentity = %+v", tc.session, id)
		}
		sc := id.SessionContext
		if sc == nil || sc.SessionIssuer == nil || sc.Attributes.MFAAuthenticated != tc.mfa || sc.Attributes.CreationDate == "" {
			t.Fatalf("%s sessionContext = %+v", tc.session, sc)
		}
		wantIssuer := audit.SessionIssuer{Type: "Role", PrincipalID: aws.ToString(role.RoleId), ARN: roleARN, AccountID: testAccount, UserName: "dev"}
		if diff := cmp.Diff(wantIssuer, *sc.SessionIssuer); diff != "" {
			t.Errorf("%s sessionIssuer mismatch (-want +got):\n%s", tc.session, diff)
		}
	}
	var assumeRecs []audit.Record
	for _, r := range e.find(testAccount, "AssumeRole") {
		assumeRecs = append(assumeRecs, r)
	}
	if len(assumeRecs) != 3 {
		t.Fatalf("%d AssumeRole records, want 3", len(assumeRecs))
	}
	a := assumeRecs[1] // the MFA one (the newest is the denied one)
	creds, _ := a.ResponseElements["credentials"].(map[string]any)
	user, _ := a.ResponseElements["assumedRoleUser"].(map[string]any)
	if a.UserIdentity.UserName != "alice" || creds["accessKeyId"] != withMFA.AccessKeyID || creds["sessionToken"] != audit.Hidden ||
		user["arn"] != "arn:aws:sts::"+testAccount+":assumed-role/dev/s-mfa" || a.RequestParameters["tokenCode"] != audit.Hidden ||
		a.RequestParameters["serialNumber"] != serial {
		t.Errorf("AssumeRole record = %+v", a)
	}
	trail := e.rawRecords(testAccount)
	for _, s := range secrets {
		if strings.Contains(trail, s) {
			t.Errorf("secret %q is in the trail", s)
		}
	}

	// The aws CLI finds the MFA session's calls by its session name, with their identity.
	cmd := exec.Command("aws", "cloudtrail", "lookup-events", "--endpoint-url", e.url, "--output", "json",
		"--lookup-attributes", "AttributeKey=Username,AttributeValue=s-mfa")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+testRootKey, "AWS_SECRET_ACCESS_KEY="+testRootSecret,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws cloudtrail lookup-events: %v\n%s", err, out)
	}
	var res struct {
		Events []struct{ EventName, CloudTrailEvent string }
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ev := range res.Events {
		names = append(names, ev.EventName)
		var rec audit.Record
		if err := json.Unmarshal([]byte(ev.CloudTrailEvent), &rec); err != nil || rec.UserIdentity.Type != "AssumedRole" ||
			rec.UserIdentity.SessionContext == nil || rec.UserIdentity.SessionContext.Attributes.MFAAuthenticated != "true" {
			t.Errorf("event %s: userIdentity %+v (%v)", ev.EventName, rec.UserIdentity, err)
		}
	}
	if diff := cmp.Diff([]string{"DeleteRole", "GetRole"}, names); diff != "" {
		t.Errorf("the MFA session's events mismatch (-want +got):\n%s", diff)
	}

	// The role was used: RoleLastUsed shows it once activity is written.
	if err := e.srv.flushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	got := must[*iam.GetRoleOutput](t)(e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("dev")}))
	if got.Role.RoleLastUsed == nil || got.Role.RoleLastUsed.LastUsedDate == nil {
		t.Errorf("RoleLastUsed = %+v", got.Role.RoleLastUsed)
	}
}

func (f fakeSTS) AssumeRoleWithWebIdentity(_ context.Context, in *stsapi.AssumeRoleWithWebIdentityInput) (*stsapi.AssumeRoleWithWebIdentityOutput, error) {
	return &stsapi.AssumeRoleWithWebIdentityOutput{
		Credentials: &stsapi.Credentials{AccessKeyId: "ASIAWEBWEBWEBWEBWEB1", SecretAccessKey: f.secret, SessionToken: f.token, Expiration: time.Now().Add(time.Hour)},
		AssumedRoleUser: &stsapi.AssumedRoleUser{AssumedRoleId: "AROAWEB:" + in.RoleSessionName,
			Arn: "arn:aws:sts::" + testAccount + ":assumed-role/web/" + in.RoleSessionName},
	}, nil
}

// TestAuditWebIdentityUser checks a successful AssumeRoleWithWebIdentity is recorded with the WebIdentityUser
// identity its token names, and never with the token.
func TestAuditWebIdentityUser(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	e.srv.sts = fakeSTS{Handler: stsapi.Unimplemented{}, secret: "webSecretKeyForTheTest0123456789", token: "webSessionTokenForTheTest0123456789"}
	enc := base64.RawURLEncoding.EncodeToString
	jwt := enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{"iss":"https://accounts.google.com","aud":"app-123.apps.googleusercontent.com","sub":"1122334455"}`)) + "." + enc([]byte("signature"))
	anon := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(e.url), RetryMaxAttempts: 1})
	must[*sts.AssumeRoleWithWebIdentityOutput](t)(anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/web"), RoleSessionName: aws.String("web-session"), WebIdentityToken: aws.String(jwt)}))
	recs := e.find(testAccount, "AssumeRoleWithWebIdentity")
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	want := audit.UserIdentity{Type: "WebIdentityUser", PrincipalID: "accounts.google.com:app-123.apps.googleusercontent.com:1122334455",
		UserName: "1122334455", IdentityProvider: "accounts.google.com"}
	if diff := cmp.Diff(want, recs[0].UserIdentity); diff != "" {
		t.Errorf("userIdentity mismatch (-want +got):\n%s", diff)
	}
	trail := e.rawRecords(testAccount)
	for _, s := range []string{jwt, "webSecretKeyForTheTest0123456789", "webSessionTokenForTheTest0123456789"} {
		if strings.Contains(trail, s) {
			t.Errorf("%q is in the trail", s)
		}
	}
}

// TestTwoNodesShareOneTrail records through two nodes on one PostgreSQL store: each node's LookupEvents sees
// both nodes' records.
func TestTwoNodesShareOneTrail(t *testing.T) {
	a, b := twoNodes(t)
	ctx := context.Background()
	must[*iam.CreateRoleOutput](t)(a.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("shared"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	must[*iam.GetRoleOutput](t)(b.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("shared")}))
	a.flushAudit()
	b.flushAudit()
	for _, e := range []*env{a, b} {
		out := must[*cloudtrail.LookupEventsOutput](t)(e.cloudtrailAs(e.root).LookupEvents(ctx, &cloudtrail.LookupEventsInput{
			LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyResourceName, AttributeValue: aws.String("shared")}}}))
		var names []string
		for _, ev := range out.Events {
			names = append(names, aws.ToString(ev.EventName))
		}
		if diff := cmp.Diff([]string{"GetRole", "CreateRole"}, names); diff != "" {
			t.Errorf("events mismatch (-want +got):\n%s", diff)
		}
	}
}

// TestLookupEventsCLIPaginates makes the aws CLI page through NextToken (one event per page) and a time range.
func TestLookupEventsCLIPaginates(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	for _, n := range []string{"p1", "p2", "p3"} {
		must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(n), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	}
	start := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	cmd := exec.Command("aws", "cloudtrail", "lookup-events", "--endpoint-url", e.url, "--output", "json", "--debug",
		"--lookup-attributes", "AttributeKey=EventName,AttributeValue=CreateRole", "--page-size", "1", "--start-time", start)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+testRootKey, "AWS_SECRET_ACCESS_KEY="+testRootSecret,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("aws cloudtrail lookup-events: %v\n%s", err, stderr.String())
	}
	var res struct {
		Events []struct{ CloudTrailEvent string }
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, ev := range res.Events {
		var rec audit.Record
		json.Unmarshal([]byte(ev.CloudTrailEvent), &rec)
		roles = append(roles, fmt.Sprint(rec.RequestParameters["roleName"]))
	}
	if diff := cmp.Diff([]string{"p3", "p2", "p1"}, roles); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
	if n := strings.Count(stderr.String(), "NextToken"); n < 2 {
		t.Errorf("the CLI sent NextToken %d times, want it to page", n)
	}
}

// TestAuditInvalidRequestParameters checks a request that fails validation is recorded with the parameters as
// sent (its form does not decode as the operation's input).
func TestAuditInvalidRequestParameters(t *testing.T) {
	e := newEnv(t, sqliteStore)
	_, err := e.iam.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String("bad name!"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
	apiError(t, err, "ValidationError")
	recs := e.find(testAccount, "CreateRole")
	if len(recs) != 1 || recs[0].ErrorCode != "ValidationError" || recs[0].RequestParameters["roleName"] != "bad name!" ||
		recs[0].RequestParameters["assumeRolePolicyDocument"] != ec2Trust || recs[0].RequestParameters["action"] != nil {
		t.Errorf("records = %+v", recs)
	}
}
