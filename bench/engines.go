// Package bench compares Persona's policy engine with MinIO's policy package
// (github.com/minio/pkg/v3/policy) and cedar-go on the workloads of
// policy/policytest (W1, W2, W3).
//
// It is a separate Go module so that the main module never depends on the
// engines it is compared with. MinIO's package is AGPL: it is only called
// from here, never copied.
//
// The other engines cannot read every workload as written, so each workload
// is translated into the closest equivalent:
//   - MinIO accepts only S3 actions and arn:aws:s3 resources, and only its
//     own condition keys. W1's logs/ec2 statements become S3 statements of
//     the same shape (same number of actions, same literal/wildcard mix);
//     aws:PrincipalTag/* conditions use aws:username instead (same operator,
//     same single-valued key); W3's "Resource": "*" becomes "arn:aws:s3:::*".
//   - Cedar has no IAM globs on actions or ARNs, so each IAM statement
//     becomes one Cedar policy: literal action lists use
//     `action in [Action::"..."]`, wildcard actions and resources use `like`
//     on context attributes, IpAddress uses ip(...).isInRange, and a
//     StringNotEquals becomes `!(context has k) || context.k != v` so that a
//     missing key behaves as in IAM.
//
// Every engine is checked to reach the workload's expected decision before
// it is timed.
package bench

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	minio "github.com/minio/pkg/v3/policy"

	"github.com/persona-iam/persona/policy"
	"github.com/persona-iam/persona/policy/policytest"
)

// Engine names, in table order.
const (
	Persona = "persona"
	MinIO   = "minio"
	Cedar   = "cedar"
)

// Engines lists the engines compared.
var Engines = []string{Persona, MinIO, Cedar}

// Decider makes one authorization decision and reports whether it was the
// workload's expected one. It is what the benchmarks time.
type Decider func() bool

// Prepare compiles workload w for engine and returns its Decider. All parsing
// and request construction happen here, outside the timed loop, for every
// engine alike.
func Prepare(engine string, w policytest.Workload) (Decider, error) {
	switch engine {
	case Persona:
		set, req := w.Set(), w.Request()
		var res policy.Result
		return func() bool {
			policy.EvaluateInto(set, req, &res)
			return res.Decision == w.Want
		}, nil
	case MinIO:
		return prepareMinIO(w)
	case Cedar:
		return prepareCedar(w)
	}
	return nil, fmt.Errorf("unknown engine %q", engine)
}

// minioCase is a workload translated for MinIO.
type minioCase struct {
	doc  string
	args minio.Args
}

func minioCases(name string) (minioCase, error) {
	switch name {
	case "W1":
		return minioCase{
			doc: `{"Version": "2012-10-17", "Statement": [
  {"Sid": "ReadLogs", "Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"], "Resource": "arn:aws:s3:::app-logs/*"},
  {"Sid": "ReadBucket", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::reports", "arn:aws:s3:::reports/*"]},
  {"Sid": "DescribeEC2", "Effect": "Allow", "Action": "s3:GetBucket*", "Resource": "arn:aws:s3:::*"}]}`,
			args: minio.Args{AccountName: "alice", Action: "s3:GetObject", BucketName: "reports", ObjectName: "2026/q3.csv",
				ConditionValues: map[string][]string{"SourceIp": {"192.0.2.10"}}},
		}, nil
	case "W2":
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
     "StringLike": {"aws:username": "team-%d-*"},
     "IpAddress": {"aws:SourceIp": ["10.%d.0.0/16", "2001:db8:%x::/48"]}}}`, i, i, i, i, i)
		}
		b.WriteString("]}")
		return minioCase{
			doc: b.String(),
			args: minio.Args{AccountName: "alice", Action: "s3:GetObject", BucketName: "shared-data", ObjectName: "home/alice/notes.txt",
				ConditionValues: map[string][]string{"username": {"team-97-blue"}, "SourceIp": {"10.97.3.4"}}},
		}, nil
	case "W3":
		return minioCase{
			doc: `{"Version": "2012-10-17", "Statement": [
  {"Sid": "AllowS3", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*"},
  {"Sid": "AllowDelete", "Effect": "Allow", "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"], "Resource": "arn:aws:s3:::prod-*/*"},
  {"Sid": "DenyProdDelete", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "arn:aws:s3:::prod-*/*",
   "Condition": {"StringNotEquals": {"aws:username": "admin"}}}]}`,
			args: minio.Args{AccountName: "alice", Action: "s3:DeleteObject", BucketName: "prod-orders", ObjectName: "2026/11/22.json",
				ConditionValues: map[string][]string{"username": {"developer"}}},
		}, nil
	}
	return minioCase{}, fmt.Errorf("no MinIO translation of workload %s", name)
}

func prepareMinIO(w policytest.Workload) (Decider, error) {
	mc, err := minioCases(w.Name)
	if err != nil {
		return nil, err
	}
	p, err := minio.ParseConfig(bytes.NewReader([]byte(mc.doc)))
	if err != nil {
		return nil, fmt.Errorf("minio: %s: %w", w.Name, err)
	}
	want := w.Want == policy.Allow
	args := mc.args
	return func() bool { return p.IsAllowed(args) == want }, nil
}

// cedarCase is a workload translated for Cedar.
type cedarCase struct {
	policies string
	ctx      cedar.RecordMap
}

func cedarCases(w policytest.Workload) (cedarCase, error) {
	ctx := cedar.RecordMap{
		"action":   cedar.String(w.Action),
		"resource": cedar.String(w.Resource),
	}
	if ips := w.Context["aws:SourceIp"]; len(ips) == 1 {
		ip, err := types.ParseIPAddr(ips[0])
		if err != nil {
			return cedarCase{}, err
		}
		ctx["ip"] = ip
	}
	for k, attr := range map[string]string{"aws:PrincipalTag/team": "team", "aws:PrincipalTag/role": "role"} {
		if v := w.Context[k]; len(v) == 1 {
			ctx[types.String(attr)] = cedar.String(v[0])
		}
	}
	switch w.Name {
	case "W1":
		return cedarCase{ctx: ctx, policies: `
@id("ReadLogs")
permit (principal, action in [Action::"logs:GetLogEvents", Action::"logs:FilterLogEvents"], resource)
when { context.resource like "arn:aws:logs:us-east-1:` + policytest.Account + `:log-group:app:*" };
@id("ReadBucket")
permit (principal, action in [Action::"s3:GetObject", Action::"s3:ListBucket"], resource)
when { context.resource == "arn:aws:s3:::reports" || context.resource like "arn:aws:s3:::reports/*" };
@id("DescribeEC2")
permit (principal, action, resource)
when { context.action like "ec2:Describe*" };
`}, nil
	case "W2":
		var b strings.Builder
		for i := 0; i < 100; i++ {
			fmt.Fprintf(&b, `
@id("Team%d")
permit (principal, action, resource)
when {
  (context.action like "s3:Get*" || context.action like "s3:List*" || context.action like "s3:Put*Tagging") &&
  (context.resource like "arn:aws:s3:::shared-*/home/*" || context.resource like "arn:aws:s3:::team-%d-*") &&
  context has team && context.team like "team-%d-*" &&
  context has ip && (context.ip.isInRange(ip("10.%d.0.0/16")) || context.ip.isInRange(ip("2001:db8:%x::/48")))
};
`, i, i, i, i, i)
		}
		return cedarCase{ctx: ctx, policies: b.String()}, nil
	case "W3":
		return cedarCase{ctx: ctx, policies: `
@id("AllowS3")
permit (principal, action, resource)
when { context.action like "s3:*" };
@id("AllowDelete")
permit (principal, action in [Action::"s3:DeleteObject", Action::"s3:DeleteObjectVersion"], resource)
when { context.resource like "arn:aws:s3:::prod-*/*" };
@id("DenyProdDelete")
forbid (principal, action, resource)
when {
  context.action like "s3:Delete*" && context.resource like "arn:aws:s3:::prod-*/*" &&
  (!(context has role) || context.role != "admin")
};
`}, nil
	}
	return cedarCase{}, fmt.Errorf("no Cedar translation of workload %s", w.Name)
}

func prepareCedar(w policytest.Workload) (Decider, error) {
	cc, err := cedarCases(w)
	if err != nil {
		return nil, err
	}
	ps, err := cedar.NewPolicySetFromBytes(w.Name+".cedar", []byte(cc.policies))
	if err != nil {
		return nil, fmt.Errorf("cedar: %s: %w", w.Name, err)
	}
	req := cedar.Request{
		Principal: cedar.NewEntityUID("User", "alice"),
		Action:    cedar.NewEntityUID("Action", cedar.String(w.Action)),
		Resource:  cedar.NewEntityUID("Resource", cedar.String(w.Resource)),
		Context:   cedar.NewRecord(cc.ctx),
	}
	entities := cedar.EntityMap{}
	want := cedar.Deny
	if w.Want == policy.Allow {
		want = cedar.Allow
	}
	return func() bool {
		d, _ := cedar.Authorize(ps, entities, req)
		return d == want
	}, nil
}
