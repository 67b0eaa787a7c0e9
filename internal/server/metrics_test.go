package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestMetricsLabelOnlyKnownActions pins down the bound on the metrics' label set: actions a caller invents, signed
// or not, are all counted under "unknown", and real ones under their name.
func TestMetricsLabelOnlyKnownActions(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	if _, err := e.sts.GetCallerIdentity(ctx, nil); err != nil {
		t.Fatal(err)
	}
	post := func(form string, sign bool) {
		t.Helper()
		r, err := http.NewRequest(http.MethodPost, e.url+"/", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sign {
			sum := sha256.Sum256([]byte(form))
			if err := v4.NewSigner().SignHTTP(ctx, e.root, r, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("%s answered 200", form)
		}
	}
	post("Action=InventedActionOne&Version=2010-05-08", false)
	post("Action=InventedActionTwo&Version=2010-05-08", true)
	post("Action="+url.QueryEscape(strings.Repeat("A", 40)+"\xff")+"&Version=2010-05-08", true)

	resp, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, bad := range []string{"InventedActionOne", "InventedActionTwo", strings.Repeat("A", 40)} {
		if strings.Contains(text, bad) {
			t.Errorf("metrics carry the caller's action %q as a label", bad)
		}
	}
	for _, want := range []string{`action="unknown"`, `action="GetCallerIdentity"`} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s:\n%s", want, grep(text, "persona_requests_total"))
		}
	}
}

func grep(text, substr string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
