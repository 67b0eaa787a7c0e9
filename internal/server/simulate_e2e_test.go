package server

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"
)

// The IAM policy simulator through the real server, driven by aws-sdk-go-v2.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html

// simStatement is a MatchedStatement reduced to what the tests compare.
type simStatement struct {
	ID, Type         string
	StartL, StartC   int32
	EndL, EndC       int32
	HasStart, HasEnd bool
}

func statements(list []types.Statement) []simStatement {
	var out []simStatement
	for _, s := range list {
		st := simStatement{ID: aws.ToString(s.SourcePolicyId), Type: string(s.SourcePolicyType)}
		if s.StartPosition != nil {
			st.HasStart, st.StartL, st.StartC = true, s.StartPosition.Line, s.StartPosition.Column
		}
		if s.EndPosition != nil {
			st.HasEnd, st.EndL, st.EndC = true, s.EndPosition.Line, s.EndPosition.Column
		}
		out = append(out, st)
	}
	return out
}

func at(id, typ string, sl, sc, el, ec int32) simStatement {
	return simStatement{ID: id, Type: typ, StartL: sl, StartC: sc, EndL: el, EndC: ec, HasStart: true, HasEnd: true}
}

// awsDateExample is the policy of AWS's simulate-custom-policy examples.
// https://docs.aws.amazon.com/cli/latest/reference/iam/simulate-custom-policy.html
const awsDateExample = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}`

func dateEntry(v string) []types.ContextEntry {
	return []types.ContextEntry{{ContextKeyName: aws.String("aws:CurrentTime"), ContextKeyValues: []string{v}, ContextKeyType: types.ContextKeyTypeEnumDate}}
}

// TestSimulateCustomPolicyAWSExamples replays the two documented simulate-custom-policy examples: the same
// decision, the same matched statement and the same positions (Line 1, Column 38 to Line 1, Column 167).
func TestSimulateCustomPolicyAWSExamples(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	tests := []struct {
		name        string
		entries     []types.ContextEntry
		decision    types.PolicyEvaluationDecisionType
		matched     []simStatement
		missingKeys []string
	}{
		{
			name: "example 1: after the date, allowed", entries: dateEntry("2019-04-25T11:00:00Z"),
			decision: types.PolicyEvaluationDecisionTypeAllowed,
			matched:  []simStatement{at("PolicyInputList.1", "IAM Policy", 1, 38, 1, 167)},
		},
		{
			name: "example 2: before the date, implicit deny", entries: dateEntry("2014-04-25T11:00:00Z"),
			decision: types.PolicyEvaluationDecisionTypeImplicitDeny,
		},
		{
			name:     "no aws:CurrentTime: implicit deny and the key is missing",
			decision: types.PolicyEvaluationDecisionTypeImplicitDeny, missingKeys: []string{"aws:CurrentTime"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := must[*iam.SimulateCustomPolicyOutput](t)(e.iam.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
				PolicyInputList: []string{awsDateExample}, ActionNames: []string{"dynamodb:CreateBackup"}, ContextEntries: tt.entries,
			}))
			if len(out.EvaluationResults) != 1 {
				t.Fatalf("%d results, want 1", len(out.EvaluationResults))
			}
			r := out.EvaluationResults[0]
			if aws.ToString(r.EvalActionName) != "dynamodb:CreateBackup" || aws.ToString(r.EvalResourceName) != "*" || r.EvalDecision != tt.decision {
				t.Errorf("result = %s on %s: %s, want %s on *: %s", aws.ToString(r.EvalActionName), aws.ToString(r.EvalResourceName), r.EvalDecision, "dynamodb:CreateBackup", tt.decision)
			}
			if diff := cmp.Diff(tt.matched, statements(r.MatchedStatements)); diff != "" {
				t.Errorf("MatchedStatements mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.missingKeys, r.MissingContextValues, emptyIsNil); diff != "" {
				t.Errorf("MissingContextValues mismatch (-want +got):\n%s", diff)
			}
			if r.ResourceSpecificResults != nil || r.PermissionsBoundaryDecisionDetail != nil || r.OrganizationsDecisionDetail != nil {
				t.Errorf("unexpected details for a '*' simulation without boundary: %+v", r)
			}
			if out.IsTruncated {
				t.Error("IsTruncated for one result")
			}
		})
	}
}

var emptyIsNil = cmp.Transformer("emptyIsNil", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

// TestSimulateCustomPolicyDecisions covers explicit deny (only the deny statement is reported), a permissions
// boundary, resource-specific results and a resource-based policy, same account and cross-account.
func TestSimulateCustomPolicyDecisions(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	const allowS3 = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\": \"All\",\n      \"Effect\": \"Allow\",\n      \"Action\": \"s3:*\",\n      \"Resource\": \"*\"\n    }\n  ]\n}"
	const denyDelete = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:List*","Resource":"*"},{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::logs/*"}]}`
	const onlyGet = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}]}`

	t.Run("explicit deny reports only the deny statement", func(t *testing.T) {
		out := must[*iam.SimulateCustomPolicyOutput](t)(e.iam.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
			PolicyInputList: []string{allowS3, denyDelete},
			ActionNames:     []string{"s3:DeleteObject", "s3:GetObject"},
			ResourceArns:    []string{"arn:aws:s3:::logs/2026/a.txt"},
		}))
		if len(out.EvaluationResults) != 2 {
			t.Fatalf("%d results, want 2", len(out.EvaluationResults))
		}
		del, get := out.EvaluationResults[0], out.EvaluationResults[1]
		if del.EvalDecision != types.PolicyEvaluationDecisionTypeExplicitDeny || get.EvalDecision != types.PolicyEvaluationDecisionTypeAllowed {
			t.Errorf("decisions = %s, %s; want explicitDeny, allowed", del.EvalDecision, get.EvalDecision)
		}
		// The deny statement is the second of a one-line document: its '{' is character 92, its '}' character 168.
		if diff := cmp.Diff([]simStatement{at("PolicyInputList.2", "IAM Policy", 1, 92, 1, 168)}, statements(del.MatchedStatements)); diff != "" {
			t.Errorf("deny MatchedStatements mismatch (-want +got):\n%s", diff)
		}
		// The pretty-printed statement spans lines 4 to 9, from its '{' in column 5 to its '}' in column 5.
		if diff := cmp.Diff([]simStatement{at("PolicyInputList.1", "IAM Policy", 4, 5, 9, 5)}, statements(get.MatchedStatements)); diff != "" {
			t.Errorf("allow MatchedStatements mismatch (-want +got):\n%s", diff)
		}
		if len(del.ResourceSpecificResults) != 1 {
			t.Fatalf("ResourceSpecificResults = %d, want 1 for one explicit resource", len(del.ResourceSpecificResults))
		}
		rsr := del.ResourceSpecificResults[0]
		if aws.ToString(rsr.EvalResourceName) != "arn:aws:s3:::logs/2026/a.txt" || rsr.EvalResourceDecision != types.PolicyEvaluationDecisionTypeExplicitDeny {
			t.Errorf("resource-specific result = %s %s", aws.ToString(rsr.EvalResourceName), rsr.EvalResourceDecision)
		}
		if diff := cmp.Diff(statements(del.MatchedStatements), statements(rsr.MatchedStatements)); diff != "" {
			t.Errorf("resource-specific MatchedStatements mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("permissions boundary", func(t *testing.T) {
		out := must[*iam.SimulateCustomPolicyOutput](t)(e.iam.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
			PolicyInputList:                    []string{allowS3},
			PermissionsBoundaryPolicyInputList: []string{onlyGet},
			ActionNames:                        []string{"s3:GetObject", "s3:PutObject"},
		}))
		get, put := out.EvaluationResults[0], out.EvaluationResults[1]
		if get.EvalDecision != types.PolicyEvaluationDecisionTypeAllowed || put.EvalDecision != types.PolicyEvaluationDecisionTypeImplicitDeny {
			t.Errorf("decisions = %s, %s; want allowed, implicitDeny", get.EvalDecision, put.EvalDecision)
		}
		for _, c := range []struct {
			r    types.EvaluationResult
			want bool
		}{{get, true}, {put, false}} {
			d := c.r.PermissionsBoundaryDecisionDetail
			if d == nil || d.AllowedByPermissionsBoundary != c.want {
				t.Errorf("%s: PermissionsBoundaryDecisionDetail = %+v, want AllowedByPermissionsBoundary %v", aws.ToString(c.r.EvalActionName), d, c.want)
			}
		}
		// The boundary only limits: the granting statement is the identity policy's.
		if diff := cmp.Diff([]simStatement{at("PolicyInputList.1", "IAM Policy", 4, 5, 9, 5)}, statements(get.MatchedStatements)); diff != "" {
			t.Errorf("MatchedStatements mismatch (-want +got):\n%s", diff)
		}
		_, err := e.iam.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
			PolicyInputList: []string{allowS3}, PermissionsBoundaryPolicyInputList: []string{onlyGet, onlyGet}, ActionNames: []string{"s3:GetObject"},
		})
		apiError(t, err, "InvalidInput")
	})

	t.Run("missing context keys move to the resource-specific results", func(t *testing.T) {
		const tagged = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/team":"red"}}}]}`
		out := must[*iam.SimulateCustomPolicyOutput](t)(e.iam.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
			PolicyInputList: []string{tagged}, ActionNames: []string{"s3:GetObject"}, ResourceArns: []string{"arn:aws:s3:::home/bob/notes.txt"},
		}))
		r := out.EvaluationResults[0]
		if r.EvalDecision != types.PolicyEvaluationDecisionTypeImplicitDeny || len(r.MissingContextValues) != 0 {
			t.Errorf("decision %s, top-level MissingContextValues %v; want implicitDeny and none (they belong to the resource)", r.EvalDecision, r.MissingContextValues)
		}
		if diff := cmp.Diff([]string{"aws:username"}, r.ResourceSpecificResults[0].MissingContextValues); diff != "" {
			t.Errorf("resource MissingContextValues mismatch (-want +got):\n%s", diff)
		}
		out = must[*iam.SimulateCustomPolicyOutput](t)(e.iam.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
			PolicyInputList: []string{tagged}, ActionNames: []string{"s3:GetObject"}, ResourceArns: []string{"arn:aws:s3:::home/bob/notes.txt"},
			ContextEntries: []types.ContextEntry{
				{ContextKeyName: aws.String("aws:username"), ContextKeyValues: []string{"bob"}, ContextKeyType: types.ContextKeyTypeEnumString},
				{ContextKeyName: aws.String("s3:ExistingObjectTag/team"), ContextKeyValues: []string{"red"}, ContextKeyType: types.ContextKeyTypeEnumString},
			},
		}))
		if r := out.EvaluationResults[0]; r.EvalDecision != types.PolicyEvaluationDecisionTypeAllowed || len(r.ResourceSpecificResults[0].MissingContextValues) != 0 {
			t.Errorf("with the keys: %s, missing %v; want allowed, none", r.EvalDecision, r.ResourceSpecificResults[0].MissingContextValues)
		}
	})

	t.Run("resource-based policy", func(t *testing.T) {
		const alice = "arn:aws:iam::" + testAccount + ":user/alice"
		const bucketPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}]}`
		const nothing = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}]}`
		// Same account: a bucket policy naming the user allows on its own.
		out := must[*iam.SimulateCustomPolicyOutput](t)(e.iam.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
			PolicyInputList: []string{nothing}, ResourcePolicy: aws.String(bucketPolicy), CallerArn: aws.String(alice),
			ActionNames: []string{"s3:GetObject"}, ResourceArns: []string{"arn:aws:s3:::shared/x"},
		}))
		r := out.EvaluationResults[0]
		if r.EvalDecision != types.PolicyEvaluationDecisionTypeAllowed {
			t.Errorf("same account: %s, want allowed by the resource policy", r.EvalDecision)
		}
		if diff := cmp.Diff([]simStatement{at("ResourcePolicy", "resource", 1, 38, 1, 173)}, statements(r.MatchedStatements)); diff != "" {
			t.Errorf("MatchedStatements mismatch (-want +got):\n%s", diff)
		}
		// The bucket belongs to another account: the caller's own policies must allow too.
		out = must[*iam.SimulateCustomPolicyOutput](t)(e.iam.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
			PolicyInputList: []string{nothing}, ResourcePolicy: aws.String(bucketPolicy), CallerArn: aws.String(alice),
			ResourceOwner: aws.String("arn:aws:iam::444455556666:root"),
			ActionNames:   []string{"s3:GetObject"}, ResourceArns: []string{"arn:aws:s3:::shared/x"},
		}))
		if d := out.EvaluationResults[0].EvalDecision; d != types.PolicyEvaluationDecisionTypeImplicitDeny {
			t.Errorf("cross-account without an identity allow: %s, want implicitDeny", d)
		}
		out = must[*iam.SimulateCustomPolicyOutput](t)(e.iam.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
			PolicyInputList: []string{onlyGet}, ResourcePolicy: aws.String(bucketPolicy), CallerArn: aws.String(alice),
			ResourceOwner: aws.String("444455556666"),
			ActionNames:   []string{"s3:GetObject"}, ResourceArns: []string{"arn:aws:s3:::shared/x"},
		}))
		r = out.EvaluationResults[0]
		if r.EvalDecision != types.PolicyEvaluationDecisionTypeAllowed {
			t.Errorf("cross-account with both allows: %s, want allowed", r.EvalDecision)
		}
		if got := statements(r.MatchedStatements); len(got) != 2 {
			t.Errorf("cross-account MatchedStatements = %+v, want the identity and the resource statements", got)
		}
		// Another user is not the bucket policy's principal.
		out = must[*iam.SimulateCustomPolicyOutput](t)(e.iam.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
			PolicyInputList: []string{nothing}, ResourcePolicy: aws.String(bucketPolicy), CallerArn: aws.String("arn:aws:iam::" + testAccount + ":user/mallory"),
			ActionNames: []string{"s3:GetObject"}, ResourceArns: []string{"arn:aws:s3:::shared/x"},
		}))
		if d := out.EvaluationResults[0].EvalDecision; d != types.PolicyEvaluationDecisionTypeImplicitDeny {
			t.Errorf("other caller: %s, want implicitDeny", d)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		tests := []struct {
			name string
			in   iam.SimulateCustomPolicyInput
			want string // part of the message
		}{
			{"not JSON", iam.SimulateCustomPolicyInput{PolicyInputList: []string{`{"Version":"2012-10-17" "Statement":[]}`}, ActionNames: []string{"s3:GetObject"}}, "PolicyInputList.1"},
			{"a Principal in an identity policy", iam.SimulateCustomPolicyInput{PolicyInputList: []string{allowS3, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`}, ActionNames: []string{"s3:GetObject"}}, "PolicyInputList.2"},
			{"resource policy without caller", iam.SimulateCustomPolicyInput{PolicyInputList: []string{allowS3}, ResourcePolicy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`), ActionNames: []string{"s3:GetObject"}}, "CallerArn"},
			{"caller is a role", iam.SimulateCustomPolicyInput{PolicyInputList: []string{allowS3}, CallerArn: aws.String("arn:aws:iam::" + testAccount + ":role/r"), ActionNames: []string{"s3:GetObject"}}, "IAM user"},
			{"wildcard action", iam.SimulateCustomPolicyInput{PolicyInputList: []string{allowS3}, ActionNames: []string{"s3:*"}}, "s3:*"},
			{"bad date", iam.SimulateCustomPolicyInput{PolicyInputList: []string{awsDateExample}, ActionNames: []string{"dynamodb:Scan"}, ContextEntries: dateEntry("yesterday")}, "aws:CurrentTime"},
			{"two values for a single-valued type", iam.SimulateCustomPolicyInput{PolicyInputList: []string{allowS3}, ActionNames: []string{"s3:GetObject"},
				ContextEntries: []types.ContextEntry{{ContextKeyName: aws.String("aws:SourceIp"), ContextKeyValues: []string{"10.0.0.1", "10.0.0.2"}, ContextKeyType: types.ContextKeyTypeEnumIp}}}, "ipList"},
			{"bad resource owner", iam.SimulateCustomPolicyInput{PolicyInputList: []string{allowS3}, ResourceOwner: aws.String("arn:aws:iam::12:root"), ActionNames: []string{"s3:GetObject"}}, "ResourceOwner"},
			{"scenario without its resources", iam.SimulateCustomPolicyInput{PolicyInputList: []string{allowS3}, ActionNames: []string{"ec2:RunInstances"},
				ResourceHandlingOption: aws.String("EC2-VPC-EBS"), ResourceArns: []string{"arn:aws:ec2:us-east-1:111122223333:instance/*"}}, "requires the image resource"},
			{"bad marker", iam.SimulateCustomPolicyInput{PolicyInputList: []string{allowS3}, Marker: aws.String("7"), ActionNames: []string{"s3:GetObject"}}, "Marker"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.iam.SimulateCustomPolicy(ctx, &tt.in)
				if ae := apiError(t, err, "InvalidInput"); !strings.Contains(ae.ErrorMessage(), tt.want) {
					t.Errorf("message %q does not mention %q", ae.ErrorMessage(), tt.want)
				}
			})
		}
	})
}

// TestSimulatePaginates pages through 3 actions × 2 resources with MaxItems 4.
func TestSimulatePaginates(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	in := &iam.SimulateCustomPolicyInput{
		PolicyInputList: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`},
		ActionNames:     []string{"s3:GetObject", "s3:PutObject", "s3:GetObjectAcl"},
		ResourceArns:    []string{"arn:aws:s3:::a/1", "arn:aws:s3:::b/2"},
		MaxItems:        aws.Int32(4),
	}
	var got []string
	pages := 0
	p := iam.NewSimulateCustomPolicyPaginator(e.iam, in)
	for p.HasMorePages() {
		out := must[*iam.SimulateCustomPolicyOutput](t)(p.NextPage(ctx))
		pages++
		if pages == 1 && (!out.IsTruncated || aws.ToString(out.Marker) == "" || len(out.EvaluationResults) != 4) {
			t.Errorf("first page: truncated %v, marker %q, %d results; want true, a marker, 4", out.IsTruncated, aws.ToString(out.Marker), len(out.EvaluationResults))
		}
		for _, r := range out.EvaluationResults {
			got = append(got, aws.ToString(r.EvalActionName)+" "+aws.ToString(r.EvalResourceName)+" "+string(r.EvalDecision))
		}
	}
	want := []string{
		"s3:GetObject arn:aws:s3:::a/1 allowed", "s3:GetObject arn:aws:s3:::b/2 allowed",
		"s3:PutObject arn:aws:s3:::a/1 implicitDeny", "s3:PutObject arn:aws:s3:::b/2 implicitDeny",
		"s3:GetObjectAcl arn:aws:s3:::a/1 allowed", "s3:GetObjectAcl arn:aws:s3:::b/2 allowed",
	}
	if diff := cmp.Diff(want, got); diff != "" || pages != 2 {
		t.Errorf("%d pages; results mismatch (-want +got):\n%s", pages, diff)
	}
}

// TestSimulatePrincipalPolicy gathers a user's inline, managed, group and boundary policies, a role's and a group's,
// on every backend, and checks that the simulator agrees with enforcement.
func TestSimulatePrincipalPolicy(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			const pretty = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\": \"Roles\",\n      \"Effect\": \"Allow\",\n      \"Action\": \"iam:CreateRole\",\n      \"Resource\": \"arn:aws:iam::*:role/apps/*\"\n    }\n  ]\n}"
			must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")}))
			must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("apps"), PolicyDocument: aws.String(pretty)}))
			must[*iam.CreateGroupOutput](t)(e.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("readers")}))
			must[*iam.AttachGroupPolicyOutput](t)(e.iam.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("readers"), PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")}))
			must[*iam.PutGroupPolicyOutput](t)(e.iam.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("readers"), PolicyName: aws.String("no-keys"), PolicyDocument: aws.String(
				`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:ListAccessKeys","Resource":"*"}]}`)}))
			must[*iam.AddUserToGroupOutput](t)(e.iam.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("readers"), UserName: aws.String("bob")}))
			// The group's managed policy is attached to bob directly too: its statement is still reported once.
			must[*iam.AttachUserPolicyOutput](t)(e.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")}))
			bobARN := "arn:aws:iam::" + testAccount + ":user/bob"

			out := must[*iam.SimulatePrincipalPolicyOutput](t)(e.iam.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
				PolicySourceArn: aws.String(bobARN),
				ActionNames:     []string{"iam:CreateRole", "iam:ListUsers", "iam:ListAccessKeys", "iam:CreateUser"},
				ResourceArns:    []string{"arn:aws:iam::" + testAccount + ":role/apps/web"},
			}))
			type row struct {
				Action, Decision string
				Matched          []simStatement
			}
			var got []row
			for _, r := range out.EvaluationResults {
				got = append(got, row{aws.ToString(r.EvalActionName), string(r.EvalDecision), statements(r.MatchedStatements)})
			}
			want := []row{
				{"iam:CreateRole", "allowed", []simStatement{at("apps", "IAM Policy", 4, 5, 9, 5)}},
				{"iam:ListUsers", "allowed", []simStatement{at("IAMReadOnlyAccess", "IAM Policy", 3, 9, 14, 9)}},
				{"iam:ListAccessKeys", "explicitDeny", []simStatement{at("no-keys", "IAM Policy", 1, 38, 1, 99)}},
				{"iam:CreateUser", "implicitDeny", nil},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("results mismatch (-want +got):\n%s", diff)
			}

			// A boundary on a user limits it, and the simulator says so.
			must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ann"), PermissionsBoundary: aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")}))
			must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("ann"), PolicyName: aws.String("all"), PolicyDocument: aws.String(
				`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`)}))
			annARN := "arn:aws:iam::" + testAccount + ":user/ann"
			out = must[*iam.SimulatePrincipalPolicyOutput](t)(e.iam.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
				PolicySourceArn: aws.String(annARN), ActionNames: []string{"iam:CreateRole", "iam:ListUsers"},
			}))
			cr, lu := out.EvaluationResults[0], out.EvaluationResults[1]
			if cr.EvalDecision != types.PolicyEvaluationDecisionTypeImplicitDeny || cr.PermissionsBoundaryDecisionDetail == nil || cr.PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary {
				t.Errorf("CreateRole under a read-only boundary: %s, boundary detail %+v; want implicitDeny, not allowed by the boundary", cr.EvalDecision, cr.PermissionsBoundaryDecisionDetail)
			}
			if lu.EvalDecision != types.PolicyEvaluationDecisionTypeAllowed || lu.PermissionsBoundaryDecisionDetail == nil || !lu.PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary {
				t.Errorf("ListUsers under a read-only boundary: %s, %+v; want allowed, allowed by the boundary", lu.EvalDecision, lu.PermissionsBoundaryDecisionDetail)
			}
			// The simulation agrees with what happens when ann calls.
			key := must[*iam.CreateAccessKeyOutput](t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ann")})).AccessKey
			ann := e.iamAs(aws.Credentials{AccessKeyID: aws.ToString(key.AccessKeyId), SecretAccessKey: aws.ToString(key.SecretAccessKey)})
			_, err := ann.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("web"), Path: aws.String("/apps/"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
			apiError(t, err, "AccessDenied")
			must[*iam.ListUsersOutput](t)(ann.ListUsers(ctx, &iam.ListUsersInput{}))
			// An input boundary replaces the user's own.
			out = must[*iam.SimulatePrincipalPolicyOutput](t)(e.iam.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
				PolicySourceArn: aws.String(annARN), ActionNames: []string{"iam:CreateRole"}, ResourceArns: []string{"arn:aws:iam::" + testAccount + ":role/apps/web"},
				PermissionsBoundaryPolicyInputList: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`},
			}))
			if d := out.EvaluationResults[0].EvalDecision; d != types.PolicyEvaluationDecisionTypeAllowed {
				t.Errorf("with an input boundary that allows: %s, want allowed", d)
			}

			// A role's policies, and extra input policies.
			must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("builder"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
			must[*iam.AttachRolePolicyOutput](t)(e.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("builder"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")}))
			out = must[*iam.SimulatePrincipalPolicyOutput](t)(e.iam.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
				PolicySourceArn: aws.String("arn:aws:iam::" + testAccount + ":role/builder"),
				PolicyInputList: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}]}`},
				ActionNames:     []string{"s3:GetObject", "sqs:SendMessage", "s3:PutObject"},
			}))
			var ids []string
			for _, r := range out.EvaluationResults {
				for _, m := range r.MatchedStatements {
					ids = append(ids, aws.ToString(m.SourcePolicyId))
				}
				ids = append(ids, string(r.EvalDecision))
			}
			if diff := cmp.Diff([]string{"AmazonS3ReadOnlyAccess", "allowed", "PolicyInputList.1", "allowed", "implicitDeny"}, ids); diff != "" {
				t.Errorf("role simulation mismatch (-want +got):\n%s", diff)
			}
			_, err = e.iam.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
				PolicySourceArn: aws.String("arn:aws:iam::" + testAccount + ":role/builder"), ActionNames: []string{"s3:GetObject"},
				ResourcePolicy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`),
			})
			apiError(t, err, "InvalidInput")

			// A group alone.
			out = must[*iam.SimulatePrincipalPolicyOutput](t)(e.iam.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
				PolicySourceArn: aws.String("arn:aws:iam::" + testAccount + ":group/readers"), ActionNames: []string{"iam:GetUser", "iam:CreateRole"},
			}))
			if a, b := out.EvaluationResults[0].EvalDecision, out.EvaluationResults[1].EvalDecision; a != "allowed" || b != "implicitDeny" {
				t.Errorf("group simulation: %s, %s; want allowed, implicitDeny", a, b)
			}

			// Unknown and foreign entities.
			_, err = e.iam.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::" + testAccount + ":user/nobody"), ActionNames: []string{"s3:GetObject"}})
			if ae := apiError(t, err, "NoSuchEntity"); ae.ErrorMessage() != "The user with name nobody cannot be found." {
				t.Errorf("message = %q", ae.ErrorMessage())
			}
			_, err = e.iam.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::" + testAccount + ":user/other/bob"), ActionNames: []string{"s3:GetObject"}})
			apiError(t, err, "NoSuchEntity")
			_, err = e.iam.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::444455556666:user/bob"), ActionNames: []string{"s3:GetObject"}})
			apiError(t, err, "AccessDenied")
			_, err = e.iam.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:s3:::a-bucket-not-an-entity"), ActionNames: []string{"s3:GetObject"}})
			apiError(t, err, "InvalidInput")
		})
	}
}

// TestSimulatorIsAuthorized: SimulatePrincipalPolicy needs iam:SimulatePrincipalPolicy on the entity's ARN,
// SimulateCustomPolicy iam:SimulateCustomPolicy on "*".
func TestSimulatorIsAuthorized(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	for _, u := range []string{"bob", "alice"} {
		must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u)}))
	}
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("self"), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:SimulatePrincipalPolicy","iam:GetContextKeysForPrincipalPolicy"],"Resource":"arn:aws:iam::*:user/${aws:username}"}]}`)}))
	key := must[*iam.CreateAccessKeyOutput](t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")})).AccessKey
	bob := e.iamAs(aws.Credentials{AccessKeyID: aws.ToString(key.AccessKeyId), SecretAccessKey: aws.ToString(key.SecretAccessKey)})

	out := must[*iam.SimulatePrincipalPolicyOutput](t)(bob.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::" + testAccount + ":user/bob"), ActionNames: []string{"iam:SimulatePrincipalPolicy"},
		ResourceArns:   []string{"arn:aws:iam::" + testAccount + ":user/bob"},
		ContextEntries: []types.ContextEntry{{ContextKeyName: aws.String("aws:username"), ContextKeyValues: []string{"bob"}, ContextKeyType: types.ContextKeyTypeEnumString}},
	}))
	if d := out.EvaluationResults[0].EvalDecision; d != types.PolicyEvaluationDecisionTypeAllowed {
		t.Errorf("bob simulating his own permission: %s, want allowed", d)
	}
	_, err := bob.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::" + testAccount + ":user/alice"), ActionNames: []string{"s3:GetObject"}})
	ae := apiError(t, err, "AccessDenied")
	if !strings.Contains(ae.ErrorMessage(), "iam:SimulatePrincipalPolicy on resource: arn:aws:iam::"+testAccount+":user/alice") {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	_, err = bob.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{PolicyInputList: []string{awsDateExample}, ActionNames: []string{"dynamodb:Scan"}})
	ae = apiError(t, err, "AccessDenied")
	if !strings.Contains(ae.ErrorMessage(), "iam:SimulateCustomPolicy") {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	_, err = bob.GetContextKeysForCustomPolicy(ctx, &iam.GetContextKeysForCustomPolicyInput{PolicyInputList: []string{awsDateExample}})
	apiError(t, err, "AccessDenied")
	must[*iam.GetContextKeysForPrincipalPolicyOutput](t)(bob.GetContextKeysForPrincipalPolicy(ctx, &iam.GetContextKeysForPrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::" + testAccount + ":user/bob")}))
	_, err = bob.GetContextKeysForPrincipalPolicy(ctx, &iam.GetContextKeysForPrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::" + testAccount + ":user/alice")})
	apiError(t, err, "AccessDenied")
}

// TestGetContextKeys replays AWS's get-context-keys examples and gathers a user's keys from its groups' policies.
// https://docs.aws.amazon.com/cli/latest/reference/iam/get-context-keys-for-custom-policy.html
func TestGetContextKeys(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	const example = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}`
	out := must[*iam.GetContextKeysForCustomPolicyOutput](t)(e.iam.GetContextKeysForCustomPolicy(ctx, &iam.GetContextKeysForCustomPolicyInput{PolicyInputList: []string{example}}))
	if diff := cmp.Diff([]string{"aws:username", "aws:CurrentTime"}, out.ContextKeyNames); diff != "" {
		t.Errorf("custom keys mismatch (-want +got):\n%s", diff)
	}
	_, err := e.iam.GetContextKeysForCustomPolicy(ctx, &iam.GetContextKeysForCustomPolicyInput{PolicyInputList: []string{`{"Statement":`}})
	if ae := apiError(t, err, "InvalidInput"); !strings.Contains(ae.ErrorMessage(), "PolicyInputList.1 is not a valid policy: line 1, column 14") {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	// Any kind of policy can be listed: a bucket policy's keys too.
	out = must[*iam.GetContextKeysForCustomPolicyOutput](t)(e.iam.GetContextKeysForCustomPolicy(ctx, &iam.GetContextKeysForCustomPolicyInput{PolicyInputList: []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`}}))
	if diff := cmp.Diff([]string{"aws:SecureTransport"}, out.ContextKeyNames); diff != "" {
		t.Errorf("bucket policy keys mismatch (-want +got):\n%s", diff)
	}

	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("saanvi")}))
	must[*iam.CreateGroupOutput](t)(e.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("dba")}))
	must[*iam.AddUserToGroupOutput](t)(e.iam.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("dba"), UserName: aws.String("saanvi")}))
	must[*iam.PutGroupPolicyOutput](t)(e.iam.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("dba"), PolicyName: aws.String("tables"), PolicyDocument: aws.String(example)}))
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("saanvi"), PolicyName: aws.String("mfa"), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}`)}))
	pout := must[*iam.GetContextKeysForPrincipalPolicyOutput](t)(e.iam.GetContextKeysForPrincipalPolicy(ctx, &iam.GetContextKeysForPrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::" + testAccount + ":user/saanvi"),
		PolicyInputList: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"DateLessThan":{"aws:currenttime":"2030-01-01T00:00:00Z"}}}]}`},
	}))
	if diff := cmp.Diff([]string{"aws:MultiFactorAuthPresent", "aws:username", "aws:CurrentTime", "aws:SourceIp"}, pout.ContextKeyNames); diff != "" {
		t.Errorf("principal keys mismatch (-want +got):\n%s", diff)
	}
}
