package awsjson_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/awsjson"
	"github.com/persona-iam/persona/internal/awsjson/orgsapi"
)

func TestTimeJSON(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{"whole seconds", time.Unix(1700000000, 0), "1700000000"},
		{"milliseconds", time.Unix(1700000000, 123e6), "1700000000.123"},
		{"trailing zeros trimmed", time.Unix(1700000000, 500e6), "1700000000.5"},
		{"sub-millisecond dropped", time.Unix(1700000000, 999), "1700000000"},
		{"before the epoch", time.Unix(-5, 250e6), "-4.75"},
		// Regression (found by FuzzTime): the sign was lost when the whole part was 0.
		{"fraction just before the epoch", time.Unix(0, -100e6), "-0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(awsjson.At(tt.t))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(b)); diff != "" {
				t.Fatalf("mismatch (-want +got):\n%s", diff)
			}
			var back awsjson.Time
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !back.Equal(awsjson.At(tt.t).Time) {
				t.Errorf("round trip = %v, want %v", back.Time, awsjson.At(tt.t).Time)
			}
		})
	}
	for _, bad := range []string{`"2020-01-01T00:00:00Z"`, `1e300`, `true`, `{}`} {
		var v awsjson.Time
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", bad, v)
		}
	}
	type opt struct {
		T awsjson.Time `json:"T,omitzero"`
	}
	if b, _ := json.Marshal(opt{}); string(b) != "{}" {
		t.Errorf("zero Time marshals as %s, want omitted", b)
	}
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	awsjson.WriteError(rec, orgsapi.InvalidInput("bad token").With("Reason", "INVALID_NEXT_TOKEN"))
	if rec.Code != http.StatusBadRequest || rec.Header().Get("x-amzn-ErrorType") != "InvalidInputException" || rec.Header().Get("Content-Type") != awsjson.ContentType {
		t.Errorf("status %d, headers %v", rec.Code, rec.Header())
	}
	var got map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"__type": "InvalidInputException", "message": "bad token", "Reason": "INVALID_NEXT_TOKEN"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
	// A nil error never yields an empty 200.
	rec = httptest.NewRecorder()
	awsjson.WriteError(rec, nil)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "InternalFailure") {
		t.Errorf("nil error: %d %s", rec.Code, rec.Body)
	}
	if orgsapi.ServiceException("x").HTTPStatus != http.StatusInternalServerError {
		t.Errorf("ServiceException is a server fault in the model; want HTTP 500")
	}
}

type bodyCase struct{ op, body string }

func readBodies(t testing.TB) []bodyCase {
	f, err := os.Open("testdata/bodies.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []bodyCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		op, body, _ := strings.Cut(line, " ")
		out = append(out, bodyCase{op, body})
	}
	return out
}

func TestDecodeInput(t *testing.T) {
	tests := []struct {
		name, op, body string
		want           any    // the decoded input, when valid
		code           string // SerializationException, or "" for a validation error or success
		violations     []string
	}{
		{name: "valid", op: "CreateAccount", body: `{"Email":"dev@example.com","AccountName":"dev","Unknown":1}`,
			want: &orgsapi.CreateAccountInput{Email: "dev@example.com", AccountName: "dev"}},
		{name: "empty body is an empty input", op: "DescribeOrganization", body: ``, want: &orgsapi.DescribeOrganizationInput{}},
		{name: "required, length, pattern", op: "CreateAccount", body: `{"Email":"x","RoleName":"a b"}`,
			violations: []string{"Email:minLength", "Email:pattern", "AccountName:required", "RoleName:pattern"}},
		{name: "enum and list elements", op: "ListCreateAccountStatus", body: `{"States":["FAILED","NOPE"],"MaxResults":21}`,
			violations: []string{"States.1:enum", "MaxResults:maxValue"}},
		{name: "nested structure", op: "CreateAccount", body: `{"Email":"dev@example.com","AccountName":"d","Tags":[{"Value":"v"}]}`,
			violations: []string{"Tags.0.Key:required"}},
		{name: "wrong type", op: "ListAccounts", body: `{"MaxResults":"5"}`, code: "SerializationException"},
		{name: "not an object", op: "ListAccounts", body: `"x"`, code: "SerializationException"},
		{name: "trailing data", op: "ListAccounts", body: `{} {}`, code: "SerializationException"},
		{name: "unknown operation", op: "Nope", body: `{}`, code: "UnknownOperationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := orgsapi.DecodeInput(tt.op, []byte(tt.body))
			var ae *awsjson.Error
			var ve *awsjson.ValidationError
			switch {
			case tt.code != "":
				if !errors.As(err, &ae) || ae.Code != tt.code || ae.HTTPStatus != 400 {
					t.Fatalf("err = %v, want %s", err, tt.code)
				}
			case tt.violations != nil:
				if !errors.As(err, &ve) {
					t.Fatalf("err = %v, want a validation error", err)
				}
				var got []string
				for _, v := range ve.Violations {
					got = append(got, v.Path+":"+string(v.Constraint))
				}
				if diff := cmp.Diff(tt.violations, got); diff != "" {
					t.Errorf("violations mismatch (-want +got):\n%s", diff)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, in); diff != "" {
					t.Errorf("input mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestSensitiveValuesNotEchoed pins down that a sensitive member's value (an email address) never appears in
// a validation message.
func TestSensitiveValuesNotEchoed(t *testing.T) {
	_, err := orgsapi.DecodeInput("CreateAccount", []byte(`{"Email":"secret-address","AccountName":"n"}`))
	if err == nil || strings.Contains(err.Error(), "secret-address") {
		t.Errorf("err = %v, want a validation error that does not echo the email", err)
	}
	_, err = orgsapi.DecodeInput("DescribeAccount", []byte(`{"AccountId":"12ab"}`))
	if err == nil || !strings.Contains(err.Error(), "Value '12ab' at 'AccountId'") {
		t.Errorf("err = %v, want the value of a non-sensitive member echoed", err)
	}
}

func TestViolationsBounded(t *testing.T) {
	body := `{"States":[` + strings.Repeat(`"X",`, 10000) + `"X"]}`
	_, err := orgsapi.DecodeInput("ListCreateAccountStatus", []byte(body))
	var ve *awsjson.ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) != 10 {
		t.Fatalf("err = %v, want 10 violations at most", err)
	}
}
