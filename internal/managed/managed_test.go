package managed

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestLookupKnownPolicies(t *testing.T) {
	tests := []struct {
		name, arn, wantAction string
	}{
		{name: "admin", arn: "arn:aws:iam::aws:policy/AdministratorAccess", wantAction: `"*"`},
		{name: "s3 read only", arn: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", wantAction: `"s3:Get*"`},
		{name: "lambda basic, service-role path", arn: "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", wantAction: `"logs:CreateLogGroup"`},
		{name: "iam read only", arn: "arn:aws:iam::aws:policy/IAMReadOnlyAccess", wantAction: `"iam:Get*"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := Lookup(tt.arn)
			if !ok {
				t.Fatalf("Lookup(%q) not found", tt.arn)
			}
			if !json.Valid([]byte(p.Document)) {
				t.Fatalf("document of %s is not JSON", p.Name)
			}
			if !strings.Contains(p.Document, tt.wantAction) {
				t.Errorf("document of %s lacks %s:\n%s", p.Name, tt.wantAction, p.Document)
			}
			if !strings.HasPrefix(p.ID, "ANPA") || len(p.ID) != 21 {
				t.Errorf("ID = %q, want ANPA + 17 characters", p.ID)
			}
		})
	}
}

func TestLookupUnknown(t *testing.T) {
	if _, ok := Lookup("arn:aws:iam::aws:policy/NoSuchPolicy"); ok {
		t.Fatal("Lookup of an unknown policy succeeded")
	}
}

func TestAllSortedAndUnique(t *testing.T) {
	all := All()
	if len(all) < 1000 {
		t.Fatalf("only %d managed policies", len(all))
	}
	seen := map[string]bool{}
	for i, p := range all {
		if seen[p.ID] {
			t.Errorf("duplicate id %s", p.ID)
		}
		seen[p.ID] = true
		if i > 0 && strings.ToLower(all[i-1].Name) > strings.ToLower(p.Name) {
			t.Errorf("not sorted at %d: %s > %s", i, all[i-1].Name, p.Name)
		}
	}
}
