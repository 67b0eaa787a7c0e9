package awsquery_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/persona-iam/persona/internal/awsquery"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
)

// benchIAM returns prebuilt outputs so the benchmarks measure the codec, not the handler.
type benchIAM struct {
	iamapi.Unimplemented
	role  *iamapi.GetRoleOutput
	roles *iamapi.ListRolesOutput
}

func newBenchIAM() *benchIAM {
	r := testRole("web")
	r.Tags = []iamapi.Tag{{Key: "team", Value: "blue"}}
	h := &benchIAM{role: &iamapi.GetRoleOutput{Role: &r}, roles: &iamapi.ListRolesOutput{Marker: "next"}}
	for i := range 100 {
		h.roles.Roles = append(h.roles.Roles, testRole("role-"+strconv.Itoa(i)))
	}
	t := true
	h.roles.IsTruncated = &t
	return h
}

func (h *benchIAM) GetRole(context.Context, *iamapi.GetRoleInput) (*iamapi.GetRoleOutput, error) {
	return h.role, nil
}

func (h *benchIAM) ListRoles(context.Context, *iamapi.ListRolesInput) (*iamapi.ListRolesOutput, error) {
	return h.roles, nil
}

func benchDispatch(b *testing.B, body string) {
	h := newBenchIAM()
	ctx := context.Background()
	raw := []byte(body)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		form, err := awsquery.ParseForm(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := iamapi.Dispatch(ctx, h, form.Get("Action"), form, requestID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetRole is parse form + decode + validate + call + encode of GetRole.
func BenchmarkGetRole(b *testing.B) {
	benchDispatch(b, "Action=GetRole&Version=2010-05-08&RoleName=web")
}

// BenchmarkListRoles100 is the same for a page of 100 roles, each with its URL-encoded trust policy.
func BenchmarkListRoles100(b *testing.B) {
	benchDispatch(b, "Action=ListRoles&Version=2010-05-08&PathPrefix=%2F&MaxItems=100")
}

// BenchmarkCreateRoleDecode decodes and validates a CreateRole with ten tags.
func BenchmarkCreateRoleDecode(b *testing.B) {
	body := "Action=CreateRole&RoleName=r1&AssumeRolePolicyDocument=%7B%22a%22%3A+1%7D&MaxSessionDuration=3600&Path=%2Fa%2F"
	for i := 1; i <= 10; i++ {
		n := strconv.Itoa(i)
		body += "&Tags.member." + n + ".Key=k" + n + "&Tags.member." + n + ".Value=v" + n
	}
	form, err := awsquery.ParseForm([]byte(body))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iamapi.DecodeInput("CreateRole", form); err != nil {
			b.Fatal(err)
		}
	}
}
