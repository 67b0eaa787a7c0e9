package orgs

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/awsjson"
	"github.com/persona-iam/persona/internal/awsjson/orgsapi"
)

func TestInvalidReasons(t *testing.T) {
	tests := []struct {
		name, op, body, reason string
	}{
		{"missing member", "DescribeAccount", `{}`, "INPUT_REQUIRED"},
		{"bad email", "CreateAccount", `{"Email":"nope-at-all","AccountName":"a"}`, "INVALID_EMAIL_ADDRESS_TARGET"},
		{"bad role name", "CreateAccount", `{"Email":"a@example.com","AccountName":"a","RoleName":"a/b"}`, "INVALID_ROLE_NAME"},
		{"too long", "CreateAccount", `{"Email":"a@example.com","AccountName":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}`, "MAX_LENGTH_EXCEEDED"},
		{"too short", "CreateAccount", `{"Email":"a@b.c","AccountName":"a"}`, "MIN_LENGTH_EXCEEDED"},
		{"below range", "ListAccounts", `{"MaxResults":0}`, "MIN_VALUE_EXCEEDED"},
		{"enum", "CreateOrganization", `{"FeatureSet":"SOME"}`, "INVALID_ENUM"},
		{"pattern", "DescribeCreateAccountStatus", `{"CreateAccountRequestId":"car-X"}`, "INVALID_PATTERN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := orgsapi.DecodeInput(tt.op, []byte(tt.body))
			var ve *awsjson.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a validation error", err)
			}
			got := Invalid(ve)
			if got.Code != "InvalidInputException" || got.HTTPStatus != 400 || got.Message == "" {
				t.Errorf("Invalid = %+v", got)
			}
			if diff := cmp.Diff(tt.reason, got.Fields["Reason"]); diff != "" {
				t.Errorf("Reason mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzNextToken checks the NextToken codec: every marker survives a round trip, and any string decodes to a
// marker or to InvalidInputException with Reason INVALID_NEXT_TOKEN, never anything else.
func FuzzNextToken(f *testing.F) {
	for _, s := range []string{"", "o-abcdefghij/123456789012", "car-0123456789", "!!", "bz", "==", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s != "" {
			back, err := decodeToken(encodeToken(s))
			if err != nil || back != s {
				t.Fatalf("round trip of %q = %q, %v", s, back, err)
			}
		}
		m, err := decodeToken(s)
		if err != nil {
			var ae *awsjson.Error
			if !errors.As(err, &ae) || ae.Code != "InvalidInputException" || ae.Fields["Reason"] != "INVALID_NEXT_TOKEN" {
				t.Fatalf("decodeToken(%q) error %v", s, err)
			}
			return
		}
		if s != "" && m == "" {
			t.Fatalf("decodeToken(%q) accepted an empty marker", s)
		}
	})
}
