package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/persona-iam/persona/policy"
)

// finding is the part of a policy.Finding the table compares; messages are
// checked separately where their wording matters.
type finding struct {
	Type policy.FindingType
	Code string
	Path string
	Pos  string
}

func TestValidate(t *testing.T) {
	const aa = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html"
	tests := []struct {
		name string
		kind policy.PolicyKind
		doc  string
		want []finding
		// message, when set, must appear in the first finding's message.
		message string
	}{
		{name: "clean identity policy", kind: policy.KindIdentity,
			doc: `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}`},
		{name: "S3 ARN with one colon too many", kind: policy.KindIdentity,
			doc:     `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3::::my-bucket/*"}}`,
			want:    []finding{{policy.FindingWarning, policy.CodeExtraColonInARN, "Statement.Resource", "1:98"}},
			message: `resource "arn:aws:s3::::my-bucket/*" has one colon too many; did you mean "arn:aws:s3:::my-bucket/*"?`},
		{name: "wildcard in the service prefix of an action", kind: policy.KindIdentity,
			doc:     `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["s3:GetObject", "s3*:Get*"], "Resource": "*"}}`,
			want:    []finding{{policy.FindingError, policy.CodeInvalidServiceInAction, "Statement.Action[1]", "1:87"}},
			message: `wildcard in its service prefix "s3*"`},
		{name: "action without a service", kind: policy.KindIdentity,
			doc:  `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "GetObject", "Resource": "*"}}`,
			want: []finding{{policy.FindingError, policy.CodeInvalidAction, "Statement.Action", "1:70"}}},
		{name: "unknown condition operator", kind: policy.KindIdentity,
			doc:  `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEqual": {"aws:username": "a"}}}}`,
			want: []finding{{policy.FindingError, policy.CodeInvalidConditionOp, "Statement.Condition.StringEqual", "1:109"}}},
		{name: "condition operator in the wrong case", kind: policy.KindIdentity,
			doc:     `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"stringequals": {"aws:username": "a"}}}}`,
			want:    []finding{{policy.FindingError, policy.CodeInvalidConditionOp, "Statement.Condition.stringequals", "1:109"}},
			message: `did you mean "StringEquals"?`},
		{name: "bad condition value points at the value", kind: policy.KindIdentity,
			doc:  `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"NumericLessThan": {"s3:max-keys": ["10", "ten"]}}}}`,
			want: []finding{{policy.FindingError, policy.CodeInvalidCondition, "Statement.Condition.NumericLessThan.s3:max-keys", "1:151"}}},
		{name: "unknown condition key of a known service", kind: policy.KindIdentity,
			doc:  `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*", "Condition": {"StringLike": {"s3:prefixes": "a/*", "aws:PrincipalTag/team": "x", "dynamodb:LeadingKeys": "k"}}}}`,
			want: []finding{{policy.FindingWarning, policy.CodeUnknownConditionKey, "Statement.Condition.StringLike.s3:prefixes", "1:133"}}},
		{name: "Principal in an identity policy", kind: policy.KindIdentity,
			doc:  `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "s3:*", "Resource": "*"}}`,
			want: []finding{{policy.FindingError, policy.CodeUnsupportedPrincipal, "Statement.Principal", "1:73"}}},
		{name: "missing Principal in a trust policy", kind: policy.KindTrust,
			doc:  `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}`,
			want: []finding{{policy.FindingError, policy.CodeMissingPrincipal, "Statement[0]", "1:41"}}},
		{name: "Resource in a trust policy", kind: policy.KindTrust,
			doc:  `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole", "Resource": "*"}]}`,
			want: []finding{{policy.FindingError, policy.CodeUnsupportedResource, "Statement[0].Resource", "1:148"}}},
		{name: "missing Resource in an identity policy", kind: policy.KindIdentity,
			doc:  `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*"}]}`,
			want: []finding{{policy.FindingError, policy.CodeMissingResource, "Statement[0]", "1:41"}}},
		{name: "Allow with NotAction on every resource", kind: policy.KindIdentity,
			doc:  `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}`,
			want: []finding{{policy.FindingSecurityWarning, policy.CodeAllowWithNotAction, "Statement.NotAction", "1:73"}}},
		{name: "redundant statement", kind: policy.KindIdentity,
			doc: `{"Version": "2012-10-17", "Statement": [
  {"Sid": "All", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},
  {"Sid": "One", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/k"}]}`,
			want:    []finding{{policy.FindingSuggestion, policy.CodeRedundantStatement, "Statement[1]", "3:3"}},
			message: "Statement[0] already allows everything it does"},
		{name: "identical statements: only the later is redundant", kind: policy.KindIdentity,
			doc: `{"Version": "2012-10-17", "Statement": [
  {"Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"},
  {"Effect": "Deny", "Action": "S3:delete*", "Resource": "*"}]}`,
			want: []finding{{policy.FindingSuggestion, policy.CodeRedundantStatement, "Statement[1]", "3:3"}}},
		{name: "statements with different conditions are not redundant", kind: policy.KindIdentity,
			doc: `{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
  {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}`},
		{name: "redundant action in a statement", kind: policy.KindIdentity,
			doc:  `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["s3:Get*", "s3:GetObject"], "Resource": "*"}}`,
			want: []finding{{policy.FindingSuggestion, policy.CodeRedundantAction, "Statement.Action[1]", "1:82"}}},
		{name: "resource that is not an ARN", kind: policy.KindIdentity,
			doc:  `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": ["my-bucket", "arn:aws:s3"]}}`,
			want: []finding{{policy.FindingError, policy.CodeInvalidARNResource, "Statement.Resource[0]", "1:91"}, {policy.FindingError, policy.CodeInvalidARNResource, "Statement.Resource[1]", "1:104"}}},
		{name: "missing Version", kind: policy.KindIdentity,
			doc:  `{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}`,
			want: []finding{{policy.FindingWarning, policy.CodeMissingVersion, "Version", "1:15"}}},
		{name: "duplicate and invalid Sid", kind: policy.KindIdentity,
			doc: `{"Version": "2012-10-17", "Statement": [
  {"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
  {"Sid": "A", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
  {"Sid": "my sid", "Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}]}`,
			want: []finding{{policy.FindingError, policy.CodeDuplicateSid, "Statement[1].Sid", "3:11"}, {policy.FindingError, policy.CodeInvalidSid, "Statement[2].Sid", "4:11"}}},
		{name: "wildcard inside a principal ARN", kind: policy.KindResource,
			doc:  `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/*"}, "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}}`,
			want: []finding{{policy.FindingError, policy.CodeInvalidPrincipal, "Statement.Principal.AWS", "1:81"}}},
		// A learner's cross-account trust policy kept the placeholder; IAM answers "Invalid principal in policy".
		{name: "placeholder account in a principal ARN", kind: policy.KindTrust,
			doc:     `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::ACCOUNT-B-ID:root"}, "Action": "sts:AssumeRole"}]}`,
			want:    []finding{{policy.FindingError, policy.CodeInvalidPrincipal, "Statement[0].Principal.AWS", "1:82"}},
			message: `invalid principal "arn:aws:iam::ACCOUNT-B-ID:root": the account "ACCOUNT-B-ID" must be a 12-digit account id`},
		{name: "CloudFront origin access identity is a principal", kind: policy.KindResource,
			doc: `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2QWRUHAPOMQZL"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}`},
		{name: "public resource policy", kind: policy.KindResource,
			doc:  `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}`,
			want: []finding{{policy.FindingSecurityWarning, policy.CodePublicAccess, "Statement.Principal", "1:73"}}},
		{name: "ForAllValues with a single-valued key in an Allow", kind: policy.KindIdentity,
			doc:  `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/x"}}}}`,
			want: []finding{{policy.FindingSecurityWarning, policy.CodeForAllValuesSingleValue, "Statement.Condition.ForAllValues:StringEquals", "1:109"}}},
		{name: "variable in a 2008-10-17 policy", kind: policy.KindIdentity,
			doc:  `{"Version": "2008-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::home/${aws:username}/*"}}`,
			want: []finding{{policy.FindingWarning, policy.CodeVariableInOldVersion, "Statement.Resource", "1:90"}}},
		{name: "NotPrincipal with Allow", kind: policy.KindResource,
			doc:  `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "NotPrincipal": {"AWS": "111122223333"}, "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}}`,
			want: []finding{{policy.FindingError, policy.CodeAllowWithNotPrincipal, "Statement.NotPrincipal", "1:76"}}},
		{name: "NotPrincipal in a trust policy", kind: policy.KindTrust,
			doc:  `{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "NotPrincipal": {"AWS": "111122223333"}, "Action": "sts:AssumeRole"}}`,
			want: []finding{{policy.FindingError, policy.CodeUnsupportedPrincipal, "Statement.NotPrincipal", "1:75"}}},
		{name: "web identity trust without a condition on the token", kind: policy.KindTrust,
			doc:  `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {"aws:SourceIp": "192.0.2.1"}}}}`,
			want: []finding{{policy.FindingSecurityWarning, policy.CodeMissingWebIdentityCond, "Statement.Principal.Federated", "1:87"}}},
		{name: "web identity trust with a sub condition", kind: policy.KindTrust,
			doc: `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:org/repo:*"}}}}`},
		{name: "clean trust policy", kind: policy.KindTrust,
			doc: `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := policy.Parse([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			fs := policy.Validate(d, tt.kind)
			var got []finding
			for _, f := range fs {
				got = append(got, finding{f.Type, f.Code, f.Path, f.Pos.String()})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s\nfindings mismatch (-want +got):\n%s\n%v", aa, diff, fs)
			}
			if tt.message != "" && len(fs) > 0 && !strings.Contains(fs[0].Message, tt.message) {
				t.Errorf("message %q does not contain %q", fs[0].Message, tt.message)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	_, _, err := policy.Check([]byte(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}, {"Effect": "Allow", "Action": "s3*:x", "Principal": "*"}]}`), policy.KindTrust)
	var ie *policy.InvalidPolicyError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v (%T), want *InvalidPolicyError", err, err)
	}
	want := "line 1, column 41: a role trust policy statement must name who it applies to with a Principal or NotPrincipal element (and 1 more error)"
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("message mismatch (-want +got):\n%s", diff)
	}
	if _, err := policy.Compile(mustParse(t, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}}`), policy.KindIdentity, "x"); !errors.As(err, &ie) {
		t.Errorf("Compile of an identity policy with a Principal: error %v, want *InvalidPolicyError", err)
	}
}

func mustParse(t *testing.T, doc string) *policy.Document {
	t.Helper()
	d, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return d
}
