package awsquery_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/awsquery"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/awsquery/stsapi"
)

// trustPolicy has the characters whose URL-encoding SDKs must undo: spaces, quotes, '+', '/', '*', unicode.
const trustPolicy = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole", "Condition": {"StringLike": {"aws:userid": "a+b/c*é"}}}]}`

var created = time.Date(2026, 11, 22, 0, 51, 37, 0, time.UTC)

// fakeIAM answers a few operations with fixed data, and records the CreateRole input it received.
type fakeIAM struct {
	iamapi.Unimplemented
	gotCreate *iamapi.CreateRoleInput
}

func testRole(name string) iamapi.Role {
	return iamapi.Role{
		Path: "/app/", RoleName: name, RoleId: "AROAEXAMPLE" + name, Arn: "arn:aws:iam::111122223333:role/app/" + name,
		CreateDate: created, AssumeRolePolicyDocument: trustPolicy, Description: "<Role & \"friends\">",
		MaxSessionDuration: aws.Int32(7200),
	}
}

func (f *fakeIAM) GetRole(_ context.Context, in *iamapi.GetRoleInput) (*iamapi.GetRoleOutput, error) {
	if in.RoleName != "web" {
		return nil, iamapi.NoSuchEntity("The role with name %s cannot be found.", in.RoleName)
	}
	r := testRole("web")
	r.Tags = []iamapi.Tag{{Key: "team", Value: "blue"}}
	r.RoleLastUsed = &iamapi.RoleLastUsed{LastUsedDate: aws.Time(created.Add(time.Hour)), Region: "eu-west-1"}
	r.PermissionsBoundary = &iamapi.AttachedPermissionsBoundary{PermissionsBoundaryType: iamapi.PermissionsBoundaryAttachmentTypePermissionsBoundaryPolicy, PermissionsBoundaryArn: "arn:aws:iam::aws:policy/PowerUserAccess"}
	return &iamapi.GetRoleOutput{Role: &r}, nil
}

func (f *fakeIAM) ListRoles(_ context.Context, in *iamapi.ListRolesInput) (*iamapi.ListRolesOutput, error) {
	if in.Marker == "" {
		return &iamapi.ListRolesOutput{Roles: []iamapi.Role{testRole("a"), testRole("b")}, IsTruncated: aws.Bool(true), Marker: "page2"}, nil
	}
	return &iamapi.ListRolesOutput{Roles: []iamapi.Role{testRole("c")}, IsTruncated: aws.Bool(false)}, nil
}

func (f *fakeIAM) CreateRole(_ context.Context, in *iamapi.CreateRoleInput) (*iamapi.CreateRoleOutput, error) {
	f.gotCreate = in
	r := testRole(in.RoleName)
	r.Tags = in.Tags
	return &iamapi.CreateRoleOutput{Role: &r}, nil
}

func (f *fakeIAM) GetAccountSummary(context.Context, *iamapi.GetAccountSummaryInput) (*iamapi.GetAccountSummaryOutput, error) {
	return &iamapi.GetAccountSummaryOutput{SummaryMap: map[iamapi.SummaryKeyType]int32{"Users": 3, "UsersQuota": 5000, "Roles": 7}}, nil
}

func (f *fakeIAM) DeleteRole(context.Context, *iamapi.DeleteRoleInput) (*iamapi.DeleteRoleOutput, error) {
	return &iamapi.DeleteRoleOutput{}, nil
}

type fakeSTS struct{ stsapi.Unimplemented }

func (fakeSTS) GetCallerIdentity(context.Context, *stsapi.GetCallerIdentityInput) (*stsapi.GetCallerIdentityOutput, error) {
	return &stsapi.GetCallerIdentityOutput{UserId: "AIDAEXAMPLE", Account: "111122223333", Arn: "arn:aws:iam::111122223333:user/bob"}, nil
}

// queryServer serves one Query service the way internal/server does: parse the form, Dispatch, EncodeError.
func queryServer(t *testing.T, namespace string, dispatch func(context.Context, string, url.Values, string) ([]byte, error)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		const id = "c5b8b9a0-1111-2222-3333-444455556666"
		form, err := awsquery.ParseForm(body)
		var out []byte
		if err == nil {
			out, err = dispatch(r.Context(), form.Get("Action"), form, id)
		}
		if err != nil {
			var apiErr *awsquery.Error
			if !errors.As(err, &apiErr) {
				apiErr = awsquery.NewError("ServiceFailure", 500, "unexpected")
			}
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(apiErr.HTTPStatus)
			w.Write(awsquery.EncodeError(apiErr, namespace, id))
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func iamClient(t *testing.T, h iamapi.Handler) *iam.Client {
	srv := queryServer(t, iamapi.Namespace, func(ctx context.Context, action string, form url.Values, id string) ([]byte, error) {
		return iamapi.Dispatch(ctx, h, action, form, id)
	})
	return iam.New(iam.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1",
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
}

func TestSDKGetRole(t *testing.T) {
	c := iamClient(t, &fakeIAM{})
	out, err := c.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Role
	// The Go SDK leaves policy documents URL-encoded, as AWS sends them; decoding must give the original back.
	doc, err := url.QueryUnescape(aws.ToString(r.AssumeRolePolicyDocument))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"Path": aws.ToString(r.Path), "RoleName": aws.ToString(r.RoleName), "RoleId": aws.ToString(r.RoleId),
		"Arn": aws.ToString(r.Arn), "CreateDate": aws.ToTime(r.CreateDate), "Document": doc,
		"Description": aws.ToString(r.Description), "MaxSessionDuration": aws.ToInt32(r.MaxSessionDuration),
		"Tags": len(r.Tags), "TagKey": aws.ToString(r.Tags[0].Key), "LastUsed": aws.ToTime(r.RoleLastUsed.LastUsedDate),
		"LastRegion": aws.ToString(r.RoleLastUsed.Region), "BoundaryType": string(r.PermissionsBoundary.PermissionsBoundaryType),
	}
	want := map[string]any{
		"Path": "/app/", "RoleName": "web", "RoleId": "AROAEXAMPLEweb", "Arn": "arn:aws:iam::111122223333:role/app/web",
		"CreateDate": created, "Document": trustPolicy, "Description": "<Role & \"friends\">", "MaxSessionDuration": int32(7200),
		"Tags": 1, "TagKey": "team", "LastUsed": created.Add(time.Hour), "LastRegion": "eu-west-1",
		"BoundaryType": "PermissionsBoundaryPolicy",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetRole mismatch (-want +got):\n%s", diff)
	}
}

func TestSDKListRolesPaginates(t *testing.T) {
	c := iamClient(t, &fakeIAM{})
	var names []string
	p := iam.NewListRolesPaginator(c, &iam.ListRolesInput{})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.Roles {
			names = append(names, aws.ToString(r.RoleName))
		}
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, names); diff != "" {
		t.Errorf("roles mismatch (-want +got):\n%s", diff)
	}
	if pages != 2 {
		t.Errorf("pages = %d, want 2", pages)
	}
}

func TestSDKCreateRoleTags(t *testing.T) {
	f := &fakeIAM{}
	c := iamClient(t, f)
	out, err := c.CreateRole(context.Background(), &iam.CreateRoleInput{
		RoleName: aws.String("MyEC2Role"), AssumeRolePolicyDocument: aws.String(trustPolicy), Path: aws.String("/app/"),
		MaxSessionDuration: aws.Int32(43200), Description: aws.String("d"),
		Tags: []iamtypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}, {Key: aws.String("team"), Value: aws.String("")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantIn := &iamapi.CreateRoleInput{RoleName: "MyEC2Role", AssumeRolePolicyDocument: trustPolicy, Path: "/app/",
		MaxSessionDuration: aws.Int32(43200), Description: "d",
		Tags: []iamapi.Tag{{Key: "env", Value: "prod"}, {Key: "team", Value: ""}}}
	if diff := cmp.Diff(wantIn, f.gotCreate); diff != "" {
		t.Errorf("decoded input mismatch (-want +got):\n%s", diff)
	}
	var tags []string
	for _, tg := range out.Role.Tags {
		tags = append(tags, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
	}
	if diff := cmp.Diff([]string{"env=prod", "team="}, tags); diff != "" {
		t.Errorf("tags mismatch (-want +got):\n%s", diff)
	}
}

func TestSDKGetAccountSummaryMap(t *testing.T) {
	c := iamClient(t, &fakeIAM{})
	out, err := c.GetAccountSummary(context.Background(), &iam.GetAccountSummaryInput{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int32{"Users": 3, "UsersQuota": 5000, "Roles": 7}, out.SummaryMap); diff != "" {
		t.Errorf("SummaryMap mismatch (-want +got):\n%s", diff)
	}
}

func TestSDKNoOutputOperation(t *testing.T) {
	c := iamClient(t, &fakeIAM{})
	if _, err := c.DeleteRole(context.Background(), &iam.DeleteRoleInput{RoleName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
}

func TestSDKErrors(t *testing.T) {
	c := iamClient(t, &fakeIAM{})
	tests := []struct {
		name        string
		call        func() error
		wantCode    string
		wantMessage string
		wantFault   smithy.ErrorFault
	}{
		{
			name: "model error",
			call: func() error {
				_, err := c.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("nope")})
				return err
			},
			wantCode:    "NoSuchEntity",
			wantMessage: "The role with name nope cannot be found.",
			wantFault:   smithy.FaultClient,
		},
		{
			name: "validation error",
			call: func() error {
				_, err := c.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("bad name!")})
				return err
			},
			wantCode:    "ValidationError",
			wantMessage: `1 validation error detected: Value 'bad name!' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`,
			// The SDK knows a fault only for the model's typed exceptions; <Type> is not read for others.
			wantFault: smithy.FaultUnknown,
		},
		{
			name: "not implemented",
			call: func() error {
				_, err := c.GetUser(context.Background(), &iam.GetUserInput{})
				return err
			},
			wantCode:    "NotImplemented",
			wantMessage: "Persona does not implement iam:GetUser yet",
			wantFault:   smithy.FaultUnknown,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v is not a smithy.APIError", err)
			}
			got := []any{apiErr.ErrorCode(), apiErr.ErrorMessage(), apiErr.ErrorFault()}
			if diff := cmp.Diff([]any{tt.wantCode, tt.wantMessage, tt.wantFault}, got); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// The SDK maps model errors to their typed exceptions.
	_, err := c.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("nope")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Errorf("error %v is not a *types.NoSuchEntityException", err)
	}
}

func TestSDKSTS(t *testing.T) {
	srv := queryServer(t, stsapi.Namespace, func(ctx context.Context, action string, form url.Values, id string) ([]byte, error) {
		return stsapi.Dispatch(ctx, fakeSTS{}, action, form, id)
	})
	c := sts.New(sts.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
	out, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{aws.ToString(out.UserId), aws.ToString(out.Account), aws.ToString(out.Arn)}
	if diff := cmp.Diff([]string{"AIDAEXAMPLE", "111122223333", "arn:aws:iam::111122223333:user/bob"}, got); diff != "" {
		t.Errorf("GetCallerIdentity mismatch (-want +got):\n%s", diff)
	}
	_, err = c.AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111122223333:role/r"), RoleSessionName: aws.String("bad name!")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ValidationError" {
		t.Fatalf("AssumeRole error = %v, want a ValidationError", err)
	}
	want := `1 validation error detected: Value 'bad name!' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`
	if diff := cmp.Diff(want, apiErr.ErrorMessage()); diff != "" {
		t.Errorf("message mismatch (-want +got):\n%s", diff)
	}
}
