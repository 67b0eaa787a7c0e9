package awsquery_test

import (
	"bufio"
	"encoding/xml"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/awsquery"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/awsquery/stsapi"
)

func seedForms(f *testing.F) []string {
	f.Helper()
	file, err := os.Open("testdata/forms.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	var out []string
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// FuzzParseForm checks that ParseForm never panics, fails only with a wire error, and that what it accepts
// survives re-encoding: ParseForm(Encode(v)) == v.
func FuzzParseForm(f *testing.F) {
	for _, s := range seedForms(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := awsquery.ParseForm([]byte(s))
		if err != nil {
			var apiErr *awsquery.Error
			if !errors.As(err, &apiErr) || apiErr.HTTPStatus < 400 {
				t.Fatalf("ParseForm(%q) error %v is not a wire error", s, err)
			}
			return
		}
		again, err := awsquery.ParseForm([]byte(v.Encode()))
		if err != nil {
			t.Fatalf("re-encoded form %q: %v", v.Encode(), err)
		}
		if diff := cmp.Diff(v, again); diff != "" {
			t.Errorf("round trip mismatch (-want +got):\n%s", diff)
		}
	})
}

var validationMessage = regexp.MustCompile(`^[1-9][0-9]* validation errors? detected: Value`)

// FuzzDecode checks, for any form and operation, that decoding never panics; that a failure is a
// ValidationError whose count matches its parts; and that a decoded input, rendered back to a form
// (EncodeInput) and decoded again, is stable: the second rendering equals the first.
func FuzzDecode(f *testing.F) {
	for _, s := range seedForms(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		form, err := awsquery.ParseForm([]byte(s))
		if err != nil {
			return
		}
		action := form.Get("Action")
		if _, ok := iamapi.Operations[action]; !ok {
			action = "CreateRole"
		}
		in, err := iamapi.DecodeInput(action, form)
		if err != nil {
			var apiErr *awsquery.Error
			if !errors.As(err, &apiErr) || apiErr.Code != "ValidationError" || !validationMessage.MatchString(apiErr.Message) {
				t.Fatalf("DecodeInput(%s, %q) = %v, want a ValidationError", action, s, err)
			}
			return
		}
		f1 := iamapi.EncodeInput(in)
		in2, err := iamapi.DecodeInput(action, f1)
		if err != nil {
			t.Fatalf("re-decoding %v: %v", f1, err)
		}
		if diff := cmp.Diff(f1, iamapi.EncodeInput(in2)); diff != "" {
			t.Errorf("unstable round trip of %q (-want +got):\n%s", s, diff)
		}
		if strings.Contains(s, "RoleName=") && action == "GetRole" && f1.Get("RoleName") != form.Get("RoleName") {
			t.Errorf("RoleName %q became %q", form.Get("RoleName"), f1.Get("RoleName"))
		}
	})
}

// FuzzEncodeError checks that any message yields well-formed XML that gives the message back, with only the
// characters XML cannot carry replaced.
func FuzzEncodeError(f *testing.F) {
	for _, s := range []string{"plain", "<&>\"'", "tab\tnl\ncr\r", "nul\x00", "bad utf8 \xff", "é😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		body := awsquery.EncodeError(&awsquery.Error{Code: "X", Message: msg, HTTPStatus: 400, Sender: true}, `ns"q`, "id")
		var doc struct {
			Error struct {
				Type, Code, Message string
			}
			RequestId string
		}
		if err := xml.Unmarshal(body, &doc); err != nil {
			t.Fatalf("EncodeError(%q) is not XML: %v\n%s", msg, err, body)
		}
		want := strings.Map(func(r rune) rune {
			if r == utf8.RuneError || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF {
				return utf8.RuneError
			}
			return r
		}, msg)
		if diff := cmp.Diff(want, doc.Error.Message); diff != "" {
			t.Errorf("message mismatch (-want +got):\n%s", diff)
		}
	})
}

// FuzzDecodeSTS is FuzzDecode for the STS operations: decoding never panics; a failure is a ValidationError
// whose count matches its parts; an accepted input rendered back to a form and decoded again is stable; and
// the RoleArn and RoleSessionName of an AssumeRole are those sent.
func FuzzDecodeSTS(f *testing.F) {
	for _, s := range []string{
		"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fweb&RoleSessionName=s1&DurationSeconds=900",
		"Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fweb&RoleSessionName=s&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess&Tags.member.1.Key=k&Tags.member.1.Value=v&TransitiveTagKeys.member.1=k&ProvidedContexts.member.1.ProviderArn=arn%3Aaws%3Aiam%3A%3Aaws%3Acontextprovider%2FIdentityCenter&ProvidedContexts.member.1.ContextAssertion=abc",
		"Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fweb&RoleSessionName=s1&WebIdentityToken=a.b.c&ProviderId=www.amazon.com",
		"Action=AssumeRoleWithSAML&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fweb&PrincipalArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Asaml-provider%2Fidp&SAMLAssertion=PHNhbWw%2B",
		"Action=GetSessionToken&DurationSeconds=3600&SerialNumber=arn%3Aaws%3Aiam%3A%3A111122223333%3Amfa%2Fu&TokenCode=123456",
		"Action=GetFederationToken&Name=bob&Policy=%7B%7D&PolicyArns=",
		"Action=DecodeAuthorizationMessage&EncodedMessage=abc",
		"Action=GetAccessKeyInfo&AccessKeyId=AKIAIOSFODNN7EXAMPLE",
		"Action=AssumeRoot&TargetPrincipal=111122223333&TaskPolicyArn.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2Froot-task%2FIAMAuditRootUserCredentials",
		"Action=GetCallerIdentity&Version=2011-06-15",
		"Action=AssumeRole&DurationSeconds=abc&Tags.member.2.Key=x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		form, err := awsquery.ParseForm([]byte(s))
		if err != nil {
			return
		}
		action := form.Get("Action")
		if _, ok := stsapi.Operations[action]; !ok {
			action = "AssumeRole"
		}
		in, err := stsapi.DecodeInput(action, form)
		if err != nil {
			var apiErr *awsquery.Error
			if !errors.As(err, &apiErr) || apiErr.Code != "ValidationError" || !validationMessage.MatchString(apiErr.Message) {
				t.Fatalf("DecodeInput(%s, %q) = %v, want a ValidationError", action, s, err)
			}
			return
		}
		f1 := stsapi.EncodeInput(in)
		in2, err := stsapi.DecodeInput(action, f1)
		if err != nil {
			t.Fatalf("re-decoding %v: %v", f1, err)
		}
		if diff := cmp.Diff(f1, stsapi.EncodeInput(in2)); diff != "" {
			t.Errorf("unstable round trip of %q (-want +got):\n%s", s, diff)
		}
		if ar, ok := in.(*stsapi.AssumeRoleInput); ok && (ar.RoleArn != form.Get("RoleArn") || ar.RoleSessionName != form.Get("RoleSessionName")) {
			t.Errorf("AssumeRole of %q decoded RoleArn %q, RoleSessionName %q", s, ar.RoleArn, ar.RoleSessionName)
		}
	})
}
