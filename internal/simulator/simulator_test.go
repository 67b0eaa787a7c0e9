package simulator

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/policy"
)

func TestParseContextFlag(t *testing.T) {
	tests := []struct {
		name, in string
		want     ContextEntry
		wantErr  bool
	}{
		{name: "typed", in: "aws:SourceIp=ip:10.0.0.1", want: ContextEntry{"aws:SourceIp", []string{"10.0.0.1"}, "ip"}},
		{name: "untyped is a string", in: "aws:username=bob", want: ContextEntry{"aws:username", []string{"bob"}, "string"}},
		{name: "an ARN is not a type", in: "aws:PrincipalArn=arn:aws:iam::123456789012:user/bob", want: ContextEntry{"aws:PrincipalArn", []string{"arn:aws:iam::123456789012:user/bob"}, "string"}},
		{name: "a date keeps its colons", in: "aws:CurrentTime=date:2019-04-25T11:00:00Z", want: ContextEntry{"aws:CurrentTime", []string{"2019-04-25T11:00:00Z"}, "date"}},
		{name: "list", in: "aws:TagKeys=stringList:a,b", want: ContextEntry{"aws:TagKeys", []string{"a", "b"}, "stringList"}},
		{name: "no key", in: "=x", wantErr: true},
		{name: "no equals", in: "aws:username", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseContextFlag(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseContextFlag: a flag that parses names the key before '=' and keeps the values' text; Context accepts
// or rejects the entry with an InputError, never a panic.
func FuzzParseContextFlag(f *testing.F) {
	for _, s := range []string{"aws:SourceIp=ip:10.0.0.1", "k=numericList:1,2.5", "k=boolean:TRUE", "k=binary:AAE=", "k=date:1700000000", "k=dateList:2020-01-01,x", "=", "a=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseContextFlag(s)
		if err != nil {
			return
		}
		key, val, _ := strings.Cut(s, "=")
		if e.ContextKeyName != key || key == "" {
			t.Fatalf("key %q from %q", e.ContextKeyName, s)
		}
		if joined := strings.Join(e.ContextKeyValues, ","); !strings.HasSuffix(val, joined) {
			t.Fatalf("values %q lost text of %q", e.ContextKeyValues, val)
		}
		if _, err := Context([]ContextEntry{e}); err != nil {
			if _, ok := err.(*InputError); !ok {
				t.Fatalf("error %T is not an InputError", err)
			}
		}
	})
}

// TestPageEvaluatesOnlyThePage: a page of a huge simulation (ten million results) holds exactly its results, in
// action-major order, with the right total; evaluating everything first would not finish.
func TestPageEvaluatesOnlyThePage(t *testing.T) {
	sim := &Simulation{Caller: policy.Caller{Type: policy.CallerUser, Account: "111122223333"}, Owner: "111122223333"}
	sim.Set.Identity = []*policy.Policy{policy.MustCompile([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`), policy.KindIdentity, "p")}
	var actions, resources []string
	for i := 0; i < 10000; i++ {
		actions = append(actions, "s3:"+[]string{"GetObject", "PutObject"}[i%2]+strconv.Itoa(i))
	}
	for i := 0; i < 1000; i++ {
		resources = append(resources, "arn:aws:s3:::b/"+strconv.Itoa(i))
	}
	page, total, err := sim.Page(actions, resources, "", 2999, 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range page {
		got = append(got, r.EvalActionName+" "+r.EvalResourceName+" "+r.EvalDecision)
	}
	want := []string{"s3:GetObject2 arn:aws:s3:::b/999 allowed", "s3:PutObject3 arn:aws:s3:::b/0 implicitDeny", "s3:PutObject3 arn:aws:s3:::b/1 implicitDeny"}
	if total != 10_000_000 {
		t.Errorf("total = %d, want 10000000", total)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("page mismatch (-want +got):\n%s", diff)
	}
}

// TestScenario: a ResourceHandlingOption requires its resources, and gives one result per action over all of them,
// allowed only when every resource is.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html
func TestScenario(t *testing.T) {
	sim := &Simulation{Caller: policy.Caller{Type: policy.CallerUser, Account: "111122223333"}, Owner: "111122223333"}
	sim.Set.Identity = []*policy.Policy{sim.Name(policy.MustCompile([]byte(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:RunInstances","NotResource":"arn:aws:ec2:*:*:volume/*"}]}`), policy.KindIdentity, "p"), "p", TypeIAMPolicy)}
	base := []string{"arn:aws:ec2:us-east-1:111122223333:instance/*", "arn:aws:ec2:us-east-1::image/ami-1", "arn:aws:ec2:us-east-1:111122223333:security-group/sg-1",
		"arn:aws:ec2:us-east-1:111122223333:network-interface/*"}
	res, err := sim.Run([]string{"ec2:RunInstances"}, base, "EC2-VPC-InstanceStore")
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].EvalDecision != "allowed" || len(res[0].ResourceSpecificResults) != 4 || res[0].EvalResourceName != "" {
		t.Errorf("instance store scenario = %+v, want one allowed result over 4 resources", res)
	}
	if _, err := sim.Run([]string{"ec2:RunInstances"}, base, "EC2-VPC-EBS"); err == nil || !strings.Contains(err.Error(), "requires the volume resource") {
		t.Errorf("EBS scenario without a volume: err = %v", err)
	}
	res, err = sim.Run([]string{"ec2:RunInstances"}, append(base, "arn:aws:ec2:us-east-1:111122223333:volume/*"), "EC2-VPC-EBS")
	if err != nil {
		t.Fatal(err)
	}
	if res[0].EvalDecision != "implicitDeny" || res[0].ResourceSpecificResults[4].EvalResourceDecision != "implicitDeny" || len(res[0].MatchedStatements) != 0 {
		t.Errorf("EBS scenario with a denied volume = %+v, want implicitDeny from the volume", res[0])
	}
	if _, err := sim.Run([]string{"ec2:RunInstances"}, base, "EC2-Classic-EBS"); err == nil {
		t.Error("an EC2-Classic scenario was accepted")
	}
}
