// Package policytest holds the benchmark workloads of the policy engine, so
// that the engine's own benchmarks and the side-by-side comparison module
// under bench/ (MinIO's policy package, cedar-go) evaluate the same
// policies and requests.
//
// Each Workload is plain data (JSON documents, request fields and context
// values) plus helpers that compile it for package policy. The documents use
// only S3 actions and condition keys that MinIO's policy package also
// understands (aws:SourceIp, aws:Referer, aws:username), so the comparison
// module can load the same JSON into MinIO; cedar-go needs a translation.
package policytest

import (
	"fmt"
	"strings"

	"github.com/persona-iam/persona/policy"
	"github.com/persona-iam/persona/policy/condition"
)

// Account is the account id every workload uses.
const Account = "111122223333"

// Workload is one benchmark case: identity-based policies, a request and
// the expected decision.
type Workload struct {
	Name        string
	Description string
	// Identity holds the JSON identity-based policy documents attached to
	// the caller.
	Identity []string
	// Principal, Action and Resource describe the request; the caller is
	// an IAM user of Account.
	Principal policy.Caller
	Action    string
	Resource  string
	// Context holds the request's condition keys.
	Context map[string][]string
	// Want is the expected decision; WantSid the Sid of the statement that
	// decides it.
	Want    policy.Decision
	WantSid string
}

var user = policy.Caller{Type: policy.CallerUser, ARN: "arn:aws:iam::" + Account + ":user/alice", Account: Account}

// W1 is a three-statement identity policy whose second statement allows the
// request.
func W1() Workload {
	return Workload{
		Name:        "W1",
		Description: "3-statement identity policy, allow",
		Identity: []string{`{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ListBuckets", "Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "s3:GetBucketLocation"], "Resource": "arn:aws:s3:::*"},
    {"Sid": "ReadBucket", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::reports", "arn:aws:s3:::reports/*"]},
    {"Sid": "WriteUploads", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::uploads/*"}
  ]
}`},
		Principal: user,
		Action:    "s3:GetObject",
		Resource:  "arn:aws:s3:::reports/2026/q3.csv",
		Context:   map[string][]string{"aws:SourceIp": {"192.0.2.10"}},
		Want:      policy.Allow,
		WantSid:   "ReadBucket",
	}
}

// W2 is one policy of 100 statements, each with wildcard actions and
// resources and a StringLike and an IpAddress condition; only statement 97
// matches, so nearly all statements are evaluated up to their conditions.
func W2() Workload {
	var b strings.Builder
	b.WriteString(`{"Version": "2012-10-17", "Statement": [`)
	for i := 0; i < 100; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `
  {"Sid": "Team%d", "Effect": "Allow", "Action": ["s3:Get*", "s3:List*", "s3:Put*Tagging"],
   "Resource": ["arn:aws:s3:::shared-*/home/*", "arn:aws:s3:::team-%d-*"],
   "Condition": {
     "StringLike": {"aws:Referer": "https://team-%d.example.com/*"},
     "IpAddress": {"aws:SourceIp": ["10.%d.0.0/16", "2001:db8:%x::/48"]}}}`, i, i, i, i, i)
	}
	b.WriteString("]}")
	return Workload{
		Name:        "W2",
		Description: "100 statements, wildcard actions/resources, StringLike+IpAddress, match at statement 97",
		Identity:    []string{b.String()},
		Principal:   user,
		Action:      "s3:GetObject",
		Resource:    "arn:aws:s3:::shared-data/home/alice/notes.txt",
		Context: map[string][]string{
			"aws:Referer":  {"https://team-97.example.com/docs/index.html"},
			"aws:SourceIp": {"10.97.3.4"},
		},
		Want:    policy.Allow,
		WantSid: "Team97",
	}
}

// W3 is an explicit Deny that overrides two Allows.
func W3() Workload {
	return Workload{
		Name:        "W3",
		Description: "explicit deny overriding allows",
		Identity: []string{`{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "AllowS3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
    {"Sid": "AllowDelete", "Effect": "Allow", "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"], "Resource": "arn:aws:s3:::prod-*/*"},
    {"Sid": "DenyProdDelete", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "arn:aws:s3:::prod-*/*",
     "Condition": {"StringNotEquals": {"aws:username": "admin"}}}
  ]
}`},
		Principal: user,
		Action:    "s3:DeleteObject",
		Resource:  "arn:aws:s3:::prod-orders/2026/11/22.json",
		Context:   map[string][]string{"aws:username": {"alice"}},
		Want:      policy.ExplicitDeny,
		WantSid:   "DenyProdDelete",
	}
}

// All returns W1, W2 and W3.
func All() []Workload { return []Workload{W1(), W2(), W3()} }

// Set compiles the workload's policies into a policy.Set. It panics on an
// invalid document, which would be a bug in this package.
func (w Workload) Set() *policy.Set {
	s := &policy.Set{}
	for i, doc := range w.Identity {
		s.Identity = append(s.Identity, policy.MustCompile([]byte(doc), policy.KindIdentity, fmt.Sprintf("%s/identity/%d", w.Name, i)))
	}
	return s
}

// Request returns the workload's request with its context.
func (w Workload) Request() *policy.Request {
	return &policy.Request{
		Principal: w.Principal,
		Action:    w.Action,
		Resource:  w.Resource,
		Context:   condition.NewMapContext(w.Context),
	}
}
