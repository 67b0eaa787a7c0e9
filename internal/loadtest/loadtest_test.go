package loadtest

import (
	"context"
	"crypto/sha256"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/store/postgres/pgtest"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{name: "empty", sorted: nil, p: 50, want: 0},
		{name: "one sample", sorted: []time.Duration{7}, p: 99, want: 7},
		{name: "p50 of 1..100", sorted: hundred, p: 50, want: 50 * time.Millisecond},
		{name: "p99 of 1..100", sorted: hundred, p: 99, want: 99 * time.Millisecond},
		{name: "p100 is the max", sorted: hundred, p: 100, want: 100 * time.Millisecond},
		{name: "p0 is the min", sorted: hundred, p: 0, want: 1 * time.Millisecond},
		{name: "nearest rank rounds up", sorted: []time.Duration{1, 2, 3, 4}, p: 50, want: 2},
		{name: "nearest rank of 99 in 4 samples", sorted: []time.Duration{1, 2, 3, 4}, p: 99, want: 4},
		{name: "p1 of 1..100", sorted: hundred, p: 1, want: 1 * time.Millisecond},
		{name: "p99.9 of 1..100", sorted: hundred, p: 99.9, want: 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarizeMergesWorkers(t *testing.T) {
	got := summarize([][]time.Duration{{5, 1, 9}, {3}, nil, {7, 2}}, 4, 2*time.Second, "boom")
	want := Summary{Requests: 6, Errors: 4, Elapsed: 2 * time.Second, P50: 3, P99: 9, Max: 9, FirstError: "boom"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summarize mismatch (-want +got):\n%s", diff)
	}
	if got.RPS() != 3 {
		t.Errorf("RPS = %v, want 3 (6 expected answers in 2s)", got.RPS())
	}
}

func TestMedianAndMedianRatio(t *testing.T) {
	rounds := func(counts ...int) []Summary {
		var s []Summary
		for _, n := range counts {
			s = append(s, Summary{Requests: n, Elapsed: time.Second})
		}
		return s
	}
	if got := Median(rounds(30, 10, 20)).Requests; got != 20 {
		t.Errorf("Median of 30,10,20 = %d, want 20", got)
	}
	if got := Median(rounds(40, 10, 20, 30)).Requests; got != 20 {
		t.Errorf("Median of four = %d, want the lower middle 20", got)
	}
	// Ratios per pair: 0.5, 0.25, 1 → median 0.5, although the medians' ratio would be 20/40.
	if got := MedianRatio(rounds(10, 10, 40), rounds(20, 40, 40)); got != 0.5 {
		t.Errorf("MedianRatio = %v, want 0.5", got)
	}
	withCPU := func(s []Summary, cpus ...time.Duration) []Summary {
		for i := range s {
			s[i].CPU = cpus[i]
		}
		return s
	}
	// CPU per request: ceiling 10, 10, 10 µs; Persona 20, 40, 10 µs → ratios 0.5, 0.25, 1 → 0.5.
	ceil := withCPU(rounds(100, 100, 100), 1000*time.Microsecond, 1000*time.Microsecond, 1000*time.Microsecond)
	pers := withCPU(rounds(100, 100, 100), 2000*time.Microsecond, 4000*time.Microsecond, 1000*time.Microsecond)
	if got := MedianCPURatio(ceil, pers); got != 0.5 {
		t.Errorf("MedianCPURatio = %v, want 0.5", got)
	}
	if got := MedianRatio(nil, nil); got != 0 {
		t.Errorf("MedianRatio of nothing = %v, want 0", got)
	}
}

func render(t *testing.T, method, url, body string) []byte {
	t.Helper()
	r, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReplayAgainstHTTPTest replays two requests over several connections and checks that the server saw both, that
// the counts agree, and that the latencies are ordered.
func TestReplayAgainstHTTPTest(t *testing.T) {
	var a, b atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			a.Add(1)
		case "/b":
			b.Add(1)
		}
		w.Write([]byte("<ok/>"))
	}))
	defer hs.Close()
	reqs := [][]byte{render(t, "POST", hs.URL+"/a", "x=1"), render(t, "GET", hs.URL+"/b", "")}
	s, err := Replay(context.Background(), hs.Listener.Addr().String(), reqs, Options{Conns: 4, Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors != 0 || s.FirstError != "" {
		t.Fatalf("errors = %d (%s), want none", s.Errors, s.FirstError)
	}
	if s.Requests == 0 {
		t.Fatal("no request was measured")
	}
	if a.Load() == 0 || b.Load() == 0 {
		t.Errorf("server saw /a %d times and /b %d times; each connection should cycle through both", a.Load(), b.Load())
	}
	if total := a.Load() + b.Load(); total < int64(s.Requests) {
		t.Errorf("server saw %d requests but %d were counted", total, s.Requests)
	}
	if !(0 < s.P50 && s.P50 <= s.P99 && s.P99 <= s.Max) {
		t.Errorf("latencies out of order: p50 %v, p99 %v, max %v", s.P50, s.P99, s.Max)
	}
	if s.Elapsed < 200*time.Millisecond {
		t.Errorf("Elapsed = %v, shorter than the measured window", s.Elapsed)
	}
}

func TestReplayCountsUnexpectedStatus(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			http.Error(w, "SignatureDoesNotMatch", http.StatusForbidden)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer hs.Close()
	reqs := [][]byte{render(t, "GET", hs.URL+"/good", ""), render(t, "GET", hs.URL+"/bad", "")}
	s, err := Replay(context.Background(), hs.Listener.Addr().String(), reqs, Options{Conns: 2, Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors == 0 || s.Requests == 0 {
		t.Fatalf("Requests = %d, Errors = %d; want both counted apart", s.Requests, s.Errors)
	}
	if !strings.Contains(s.FirstError, "HTTP 403") || !strings.Contains(s.FirstError, "SignatureDoesNotMatch") {
		t.Errorf("FirstError = %q, want the status and the body", s.FirstError)
	}
}

// TestReplayReconnects checks that a server closing every connection after one answer costs no error.
func TestReplayReconnects(t *testing.T) {
	var n atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Connection", "close")
		w.Write([]byte("ok"))
	}))
	defer hs.Close()
	s, err := Replay(context.Background(), hs.Listener.Addr().String(), [][]byte{render(t, "GET", hs.URL+"/", "")},
		Options{Conns: 1, Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors != 0 || s.Requests < 2 {
		t.Errorf("Requests = %d, Errors = %d (%s); want several answers over new connections", s.Requests, s.Errors, s.FirstError)
	}
}

func TestReplayFailsWhenNothingListens(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	addr := hs.Listener.Addr().String()
	hs.Close()
	if _, err := Replay(context.Background(), addr, [][]byte{[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}, Options{Duration: 50 * time.Millisecond}); err == nil {
		t.Error("Replay to a closed port succeeded")
	}
}

func TestCeilingBodyIsXMLOfTheAskedSize(t *testing.T) {
	for _, size := range []int{0, 300, 1000, 40000} {
		b := ceilingBody(size)
		if size >= 300 && len(b) != size {
			t.Errorf("ceilingBody(%d) has %d bytes", size, len(b))
		}
		var v struct {
			XMLName   xml.Name
			RequestID string `xml:"ResponseMetadata>RequestId"`
		}
		if err := xml.Unmarshal(b, &v); err != nil || v.XMLName.Local != "CeilingResponse" || v.RequestID == "" {
			t.Errorf("ceilingBody(%d) is not the XML expected: %v %+v", size, err, v)
		}
	}
}

// TestCeilingVerifiesSignatures checks that the ceiling does the crypto: a request signed by the SDK's signer with
// its key is answered 200 with the body size asked, a tampered one or an unknown key 403.
func TestCeilingVerifiesSignatures(t *testing.T) {
	c := NewCeiling(500)
	c.AddKey("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	hs := httptest.NewServer(c)
	defer hs.Close()
	addr := hs.Listener.Addr().String()
	target := &Target{URL: hs.URL, Addr: addr}
	good := aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	now := time.Now()

	post, err := signedPost(target, good, "iam", "Action=GetRole&RoleName=r&Version=2010-05-08", now)
	if err != nil {
		t.Fatal(err)
	}
	presigned, err := presignedGet(target, good, "sts", "Action=GetCallerIdentity&Version=2011-06-15", now)
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := signedPost(target, aws.Credentials{AccessKeyID: "AKIAI44QH8DHBEXAMPLE", SecretAccessKey: "x"}, "iam", "Action=GetRole", now)
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(strings.Replace(string(post), "RoleName=r", "RoleName=s", 1))
	tests := []struct {
		name string
		req  []byte
		want int
	}{
		{name: "header-signed POST", req: post, want: 200},
		{name: "presigned GET", req: presigned, want: 200},
		{name: "tampered body", req: tampered, want: 403},
		{name: "unknown key", req: unknown, want: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, err := Probe(context.Background(), addr, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if status != tt.want {
				t.Fatalf("status = %d (%s), want %d", status, body, tt.want)
			}
			if status == 200 && len(body) != 500 {
				t.Errorf("body has %d bytes, want 500", len(body))
			}
		})
	}
}

// TestRunInProcessPersona runs the harness end to end against an in-process Persona with tiny windows: the
// scenarios must be answered 200 by Persona and by the ceiling, or be reported skipped with a reason.
func TestRunInProcessPersona(t *testing.T) {
	rep, err := Run(context.Background(), Config{
		Options:   Options{Conns: 2, Duration: 100 * time.Millisecond},
		Rounds:    1,
		Roles:     3,
		Dir:       t.TempDir(),
		Scenarios: []string{"GetRole", "ListRoles", "GetCallerIdentity/presigned", "GetCallerIdentity/temporary/presigned"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rep.Rows))
	}
	for _, row := range rep.Rows {
		if row.Skipped != "" {
			if !row.Scenario.Temp {
				t.Errorf("%s skipped: %s", row.Scenario.Name, row.Skipped)
			}
			continue
		}
		for _, s := range append(append([]Summary{}, row.Persona...), row.Ceiling...) {
			if s.Errors != 0 || s.Requests == 0 {
				t.Errorf("%s: %d answers, %d errors (%s)", row.Scenario.Name, s.Requests, s.Errors, s.FirstError)
			}
		}
		if row.ResponseBytes == 0 {
			t.Errorf("%s: Persona's answer was empty", row.Scenario.Name)
		}
	}
	var md strings.Builder
	rep.WriteMarkdown(&md)
	if !strings.Contains(md.String(), "| GetRole | ") {
		t.Errorf("report lacks the GetRole row:\n%s", md.String())
	}
}

func TestStatCPU(t *testing.T) {
	// Fields 14–17 (utime stime cutime cstime) are 250 50 7 3 ticks: 3.1 s at 100 ticks per second. The command
	// name holds ") " to check that fields are counted from its last parenthesis.
	line := "4242 (moto) (x y) S 1 4242 4242 0 -1 4194304 9000 0 0 0 250 50 7 3 20 0 5 0 123 456789 1234 18446744073709551615"
	if got, want := statCPU(line), 3100*time.Millisecond; got != want {
		t.Errorf("statCPU = %v, want %v", got, want)
	}
	if got := statCPU("garbage"); got != 0 {
		t.Errorf("statCPU(garbage) = %v, want 0", got)
	}
	if got := processCPU(-1); got != 0 {
		t.Errorf("processCPU of no process = %v, want 0", got)
	}
	// Our own process: /proc and getrusage must roughly agree once some CPU has been used.
	for cpuTime() < 100*time.Millisecond {
		for range 1000 {
			_ = sha256Sum(nil)
		}
	}
	own, ru := processCPU(os.Getpid()), cpuTime()
	if own < ru/2 || own > 2*ru {
		t.Errorf("processCPU(self) = %v, getrusage says %v", own, ru)
	}
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

// TestRunInProcessPersonaOnPostgres runs two scenarios with Persona's data in a fresh PostgreSQL schema, which the
// harness drops afterwards.
func TestRunInProcessPersonaOnPostgres(t *testing.T) {
	rep, err := Run(context.Background(), Config{
		Options:   Options{Conns: 2, Duration: 100 * time.Millisecond},
		Rounds:    1,
		Roles:     2,
		Postgres:  pgtest.BaseDSN(),
		Scenarios: []string{"GetRole", "AssumeRole"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Store != "PostgreSQL" {
		t.Errorf("Store = %q", rep.Store)
	}
	for _, row := range rep.Rows {
		if row.Skipped != "" {
			t.Errorf("%s skipped: %s", row.Scenario.Name, row.Skipped)
			continue
		}
		if s := row.Persona[0]; s.Errors != 0 || s.Requests == 0 {
			t.Errorf("%s: %d answers, %d errors (%s)", row.Scenario.Name, s.Requests, s.Errors, s.FirstError)
		}
	}
}
