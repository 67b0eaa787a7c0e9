package arn

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     ARN
		wantCode string // empty: no error
	}{
		{name: "iam user", in: "arn:aws:iam::123456789012:user/johndoe",
			want: ARN{Partition: "aws", Service: "iam", AccountID: "123456789012", Resource: "user/johndoe"}},
		{name: "resource keeps colons", in: "arn:aws:logs:us-east-1:123456789012:log-group:my-group:*",
			want: ARN{Partition: "aws", Service: "logs", Region: "us-east-1", AccountID: "123456789012", Resource: "log-group:my-group:*"}},
		{name: "s3 object", in: "arn:aws:s3:::bucket/key/a.txt",
			want: ARN{Partition: "aws", Service: "s3", Resource: "bucket/key/a.txt"}},
		{name: "s3 extra colon parses", in: "arn:aws:s3::::my-bucket/*",
			want: ARN{Partition: "aws", Service: "s3", Resource: ":my-bucket/*"}},
		{name: "wildcards everywhere", in: "arn:*:ec2:*:*:instance/*",
			want: ARN{Partition: "*", Service: "ec2", Region: "*", AccountID: "*", Resource: "instance/*"}},
		{name: "variable with colon in account", in: "arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}",
			want: ARN{Partition: "aws", Service: "iam", AccountID: "${aws:PrincipalAccount}", Resource: "user/${aws:username}"}},
		{name: "sts assumed role", in: "arn:aws:sts::123456789012:assumed-role/R/s",
			want: ARN{Partition: "aws", Service: "sts", AccountID: "123456789012", Resource: "assumed-role/R/s"}},
		{name: "no prefix", in: "aws:iam::123456789012:user/x", wantCode: CodeMalformed},
		{name: "prefix case matters", in: "ARN:aws:iam::123456789012:user/x", wantCode: CodeMalformed},
		{name: "too few sections", in: "arn:aws:s3:bucket", wantCode: CodeMalformed},
		{name: "empty", in: "", wantCode: CodeMalformed},
		{name: "missing partition", in: "arn::s3:::b", wantCode: CodeMalformed},
		{name: "missing service", in: "arn:aws::::b", wantCode: CodeMalformed},
		{name: "missing resource", in: "arn:aws:s3:::", wantCode: CodeMissingResource},
		{name: "iam with region", in: "arn:aws:iam:us-east-1:123456789012:user/x", wantCode: CodeRegionNotAllowed},
		{name: "iam without account", in: "arn:aws:iam:::user/x", wantCode: CodeAccountRequired},
		{name: "sts without account", in: "arn:aws:sts:::assumed-role/R/s", wantCode: CodeAccountRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantCode != "" {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Parse(%q) error = %v, want *Error", tt.in, err)
				}
				if e.Code != tt.wantCode || e.Input != tt.in || !strings.HasPrefix(e.Reason, "arn: ") {
					t.Errorf("Parse(%q) error = %+v, want code %s", tt.in, e, tt.wantCode)
				}
				if IsARN(tt.in) {
					t.Errorf("IsARN(%q) = true", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("String() = %q, want %q", s, tt.in)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "prefix", in: "foo", want: `arn: must start with "arn:": "foo"`},
		{name: "sections", in: "arn:aws:s3", want: `arn: not enough sections: "arn:aws:s3"`},
		{name: "iam region", in: "arn:aws:iam:eu-west-1:123456789012:role/r", want: `arn: iam ARNs must have an empty region: "arn:aws:iam:eu-west-1:123456789012:role/r"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tt.in)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // problem codes
	}{
		{name: "valid iam", in: "arn:aws:iam::123456789012:role/r"},
		{name: "valid s3", in: "arn:aws:s3:::my-bucket/*"},
		{name: "valid managed policy", in: "arn:aws:iam::aws:policy/ReadOnlyAccess"},
		{name: "valid wildcard account", in: "arn:aws:dynamodb:*:*:table/Books"},
		{name: "valid variable", in: "arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}"},
		// The example: one colon too many in an S3 ARN.
		{name: "s3 extra colon", in: "arn:aws:s3::::my-bucket/*", want: []string{CodeExtraColon}},
		{name: "unknown partition", in: "arn:amazon:s3:::b", want: []string{CodeUnknownPartition}},
		{name: "short account", in: "arn:aws:sqs:us-east-1:12345:q", want: []string{CodeInvalidAccount}},
		{name: "letters in account", in: "arn:aws:sqs:us-east-1:12345678901x:q", want: []string{CodeInvalidAccount}},
		{name: "two problems", in: "arn:awz:sqs:us-east-1:1:q", want: []string{CodeUnknownPartition, CodeInvalidAccount}},
		{name: "missing resource", in: "arn:aws:s3:::", want: []string{CodeMissingResource}},
		{name: "malformed", in: "arn:aws:s3", want: []string{CodeMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range Check(tt.in) {
				got = append(got, p.Code)
				if p.Message == "" || p.Severity == 0 {
					t.Errorf("problem %+v lacks message or severity", p)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check(%q) codes mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns
func TestBuilders(t *testing.T) {
	tests := []struct {
		name string
		got  ARN
		want string
	}{
		{"user root path", User("", "123456789012", "", "bob"), "arn:aws:iam::123456789012:user/bob"},
		{"user with path", User("aws", "123456789012", "/division_abc/subdivision_xyz/", "JaneDoe"),
			"arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/JaneDoe"},
		{"path normalised", Role("", "123456789012", "service", "r"), "arn:aws:iam::123456789012:role/service/r"},
		{"group", Group("aws-cn", "123456789012", "/", "Devs"), "arn:aws-cn:iam::123456789012:group/Devs"},
		{"managed policy", Policy("", "aws", "/", "AdministratorAccess"), "arn:aws:iam::aws:policy/AdministratorAccess"},
		{"instance profile", InstanceProfile("", "123456789012", "/web/", "ws"), "arn:aws:iam::123456789012:instance-profile/web/ws"},
		{"mfa", MFA("", "123456789012", "", "JaneMFA"), "arn:aws:iam::123456789012:mfa/JaneMFA"},
		{"root", Root("", "123456789012"), "arn:aws:iam::123456789012:root"},
		{"oidc", OIDCProvider("", "123456789012", "https://token.actions.githubusercontent.com"),
			"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
		{"saml", SAMLProvider("", "123456789012", "ADFS"), "arn:aws:iam::123456789012:saml-provider/ADFS"},
		{"assumed role", AssumedRole("", "123456789012", "Accounting-Role", "Mary"),
			"arn:aws:sts::123456789012:assumed-role/Accounting-Role/Mary"},
		{"federated user", FederatedUser("", "123456789012", "Bob"), "arn:aws:sts::123456789012:federated-user/Bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got.String()); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if _, err := Parse(tt.want); err != nil {
				t.Errorf("built ARN does not parse: %v", err)
			}
		})
	}
}

func TestSplitIAM(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    IAMResource
		wantErr bool
	}{
		{name: "user", in: "arn:aws:iam::123456789012:user/bob", want: IAMResource{Type: "user", Path: "/", Name: "bob"}},
		{name: "role with path", in: "arn:aws:iam::123456789012:role/application_abc/component_xyz/RDSAccess",
			want: IAMResource{Type: "role", Path: "/application_abc/component_xyz/", Name: "RDSAccess"}},
		{name: "oidc keeps slashes", in: "arn:aws:iam::123456789012:oidc-provider/example.com/tenant/1",
			want: IAMResource{Type: "oidc-provider", Path: "/", Name: "example.com/tenant/1"}},
		{name: "assumed role", in: "arn:aws:sts::123456789012:assumed-role/R/session@example.com",
			want: IAMResource{Type: "assumed-role", Path: "/", Name: "R", Session: "session@example.com"}},
		{name: "root", in: "arn:aws:iam::123456789012:root", want: IAMResource{Type: "root", Path: "/"}},
		{name: "assumed role without session", in: "arn:aws:sts::123456789012:assumed-role/R", wantErr: true},
		{name: "trailing slash, no name", in: "arn:aws:iam::123456789012:user/path/", wantErr: true},
		{name: "no name", in: "arn:aws:iam::123456789012:user", wantErr: true},
		{name: "not iam", in: "arn:aws:s3:::b/k", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := SplitIAM(a)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("SplitIAM(%q) = %+v, want error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			// Round trip through the builder for path-bearing types.
			if got.Type == TypeUser || got.Type == TypeRole {
				if b := IAM(a.Partition, a.AccountID, got.Type, got.Path, got.Name).String(); b != tt.in {
					t.Errorf("rebuilt %q, want %q", b, tt.in)
				}
			}
		})
	}
}

func seeds(f *testing.F) []string {
	file, err := os.Open("testdata/arns.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	var out []string
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

func FuzzARNParse(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Input != s || e.Code == "" || !strings.HasPrefix(e.Reason, "arn: ") {
				t.Fatalf("Parse(%q): malformed error %#v", s, err)
			}
			if len(Check(s)) == 0 {
				t.Fatalf("Check(%q) found nothing but Parse failed", s)
			}
			return
		}
		// Round trip: String gives back the input, and reparses to the same ARN.
		if a.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, a.String())
		}
		b, err := Parse(a.String())
		if err != nil {
			t.Fatalf("reparse of %q: %v", a.String(), err)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Fatalf("round trip mismatch (-want +got):\n%s", diff)
		}
		if a.Partition == "" || a.Service == "" || a.Resource == "" {
			t.Fatalf("Parse(%q) = %+v with an empty required section", s, a)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Parse("arn:aws:iam::123456789012:role/application_abc/component_xyz/RDSAccess")
	}
}
