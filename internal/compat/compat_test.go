package compat

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/iam"
)

// TestDocumentUpToDate fails when docs/compatibility.md differs from what the models and the code say now.
func TestDocumentUpToDate(t *testing.T) {
	want, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../docs/compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("docs/compatibility.md is out of date: run `go generate ./internal/compat` and commit it\n%s",
			cmp.Diff(string(got), string(want)))
	}
}

// TestStatusFromCode pins the detection: an operation the IAM service writes is implemented, one it inherits from
// the generated Unimplemented is not, a note marks a written one partial, and a service without code has nothing.
func TestStatusFromCode(t *testing.T) {
	iamSvc := Service{Key: "iam", Handler: reflect.TypeOf((*iam.Service)(nil))}
	tests := []struct {
		name string
		svc  Service
		op   string
		want Status
	}{
		{"written by hand", iamSvc, "CreateRole", Implemented},
		{"inherited from Unimplemented", iamSvc, "CreateServiceLinkedRole", NotImplemented},
		{"written, with a note of what is missing", iamSvc, "SimulatePrincipalPolicy", Partial},
		{"no such method", iamSvc, "NoSuchOperation", NotImplemented},
		{"no code for the service", Service{Key: "organizations"}, "CreateAccount", NotImplemented},
		{"served without a handler type", Service{Key: "cloudtrail"}, "LookupEvents", Implemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := StatusOf(tt.svc, tt.op); got != tt.want {
				t.Errorf("StatusOf(%s) = %v, want %v", tt.op, got, tt.want)
			}
		})
	}
}

// TestModelsComplete checks the extracted models against what the document promises: every service has
// operations, and the operations of the notes exist.
func TestModelsComplete(t *testing.T) {
	svcs, err := Services()
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, s := range svcs {
		if len(s.Model.Operations) == 0 || s.Model.Title == "" {
			t.Errorf("%s: no operations or title in the model", s.Key)
		}
		for _, op := range s.Model.Operations {
			ops[s.Key+":"+op] = true
		}
	}
	for _, want := range []string{"organizations:CreateAccount", "organizations:DescribeCreateAccountStatus", "cloudtrail:LookupEvents", "sts:AssumeRole", "iam:SimulatePrincipalPolicy"} {
		if !ops[want] {
			t.Errorf("%s missing from the models", want)
		}
	}
	for k := range notes {
		if !ops[k] {
			t.Errorf("notes.go names %s, which no model has", k)
		}
	}
	for k := range servedWithoutHandler {
		if !ops[k] {
			t.Errorf("servedWithoutHandler names %s, which no model has", k)
		}
	}
}
