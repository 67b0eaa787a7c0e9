package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/sqlite"
)

const (
	crashRootKey    = "AKIAIOSFODNN7EXAMPLE"
	crashRootSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// serveProc is a `persona serve` process on a data directory that outlives it.
type serveProc struct {
	cmd  *exec.Cmd
	addr string
}

// serveOn starts `persona serve` on dataDir with a fixed root key and waits until it answers.
func serveOn(t *testing.T, bin, dataDir string) *serveProc {
	t.Helper()
	// Port 0, and the address read from what serve prints: a port chosen beforehand could be taken by another
	// process (or a previous server's lingering socket) before serve listens on it.
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "PERSONA_ROOT_ACCESS_KEY_ID="+crashRootKey, "PERSONA_ROOT_SECRET_ACCESS_KEY="+crashRootSecret,
		"PERSONA_ACCOUNT_ID=111122223333")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "AWS_ENDPOINT_URL=http://"); ok && !sent {
				found <- strings.Fields(rest)[0]
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	select {
	case addr, ok := <-found:
		if !ok {
			t.Fatal("persona serve exited without printing its endpoint")
		}
		return &serveProc{cmd: cmd, addr: addr}
	case <-time.After(30 * time.Second):
		t.Fatal("persona serve printed no endpoint within 30s")
	}
	return nil
}

func (s *serveProc) iam() *iam.Client {
	return iam.NewFromConfig(aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(crashRootKey, crashRootSecret, ""),
		BaseEndpoint:     aws.String("http://" + s.addr),
		RetryMaxAttempts: 1,
		// A transport of its own: no idle connection to a killed server (which may have had the same port) is
		// reused.
		HTTPClient: &http.Client{Transport: &http.Transport{}},
	})
}

// exportJSONL runs `persona audit export --format jsonl` on dataDir and returns the records.
func exportJSONL(t *testing.T, bin, dataDir string, extra ...string) []map[string]any {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"audit", "export", "--data-dir", dataDir, "--since", "1h", "--format", "jsonl"}, extra...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("persona audit export: %v\n%s", err, stderr.String())
	}
	var recs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

// TestAuditSurvivesKill9 fires mutations at `persona serve` on SQLite from 16 clients, kills the process with
// SIGKILL mid-way, restarts it, and checks that every mutation a client saw acknowledged has its record, and
// that every recorded mutation happened (the record and the mutation commit together).
func TestAuditSurvivesKill9(t *testing.T) {
	bin := persona(t)
	dataDir := t.TempDir()
	srv := serveOn(t, bin, dataDir)
	client := srv.iam()

	var (
		mu       sync.Mutex
		acked    []string
		attempts atomic.Int64
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("u%d-%d", w, i)
				attempts.Add(1)
				_, err := client.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
				if err != nil {
					continue // refused, in flight at the kill, or after it: not acknowledged
				}
				mu.Lock()
				acked = append(acked, name)
				mu.Unlock()
			}
		})
	}
	// Kill once a good number of mutations were acknowledged, with many still in flight.
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 400 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d mutations acknowledged of %d attempted before kill -9", len(acked), attempts.Load())

	// The trail after the crash, read by the export command straight from the store.
	recorded := map[string]bool{}
	for _, r := range exportJSONL(t, bin, dataDir) {
		if r["eventName"] == "CreateUser" && r["errorCode"] == nil {
			params, _ := r["requestParameters"].(map[string]any)
			recorded[fmt.Sprint(params["userName"])] = true
		}
	}
	for _, name := range acked {
		if !recorded[name] {
			t.Errorf("CreateUser %s was acknowledged but has no record after kill -9", name)
		}
	}

	// Restart: the server comes back on the crashed store and is ready.
	srv = serveOn(t, bin, dataDir)
	resp, err := http.Get("http://" + srv.addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("restarted server: /readyz answered %d", resp.StatusCode)
	}
	// Every recorded CreateUser created its user. The users are read from the store itself (beside the running
	// server, as SQLite's WAL allows): what is asserted is what the crash left on disk.
	// TODO: reading them through the restarted server with aws-sdk-go-v2's paginator failed about one run in ten
	// on a loaded machine with "use of closed network connection" on the client's side while decoding a 200
	// answer; the cause is not found yet.
	st, err := sqlite.Open(context.Background(), filepath.Join(dataDir, "persona.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	users := map[string]bool{}
	for marker := ""; ; {
		page, err := st.List(context.Background(), store.KindUser, "111122223333", "", marker, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			users[r.Key] = true
		}
		if page.Next == "" {
			break
		}
		marker = page.Next
	}
	for name := range recorded {
		if !users[name] {
			t.Errorf("a CreateUser record for %s exists but the user does not", name)
		}
	}
	if len(users) != len(recorded) {
		t.Errorf("%d users but %d CreateUser records: each committed mutation must have exactly its record", len(users), len(recorded))
	}
}

// TestAuditExportFormats checks both export formats and the time range through the command.
func TestAuditExportFormats(t *testing.T) {
	bin := persona(t)
	dataDir := t.TempDir()
	srv := serveOn(t, bin, dataDir)
	for _, n := range []string{"a", "b", "c"} {
		if _, err := srv.iam().CreateUser(context.Background(), &iam.CreateUserInput{UserName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for _, r := range exportJSONL(t, bin, dataDir) {
		if r["eventName"] == "CreateUser" {
			names = append(names, fmt.Sprint(r["requestParameters"].(map[string]any)["userName"]))
		}
	}
	if strings.Join(names, ",") != "a,b,c" {
		t.Errorf("jsonl CreateUser records = %v, want a,b,c oldest first", names)
	}
	out, err := exec.Command(bin, "audit", "export", "--data-dir", dataDir, "--since", "1h", "--format", "cloudtrail").Output()
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Records []map[string]any }
	if err := json.Unmarshal(out, &file); err != nil || len(file.Records) < 3 {
		t.Fatalf("cloudtrail export: %v, %d records\n%s", err, len(file.Records), out)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if recs := exportJSONL(t, bin, dataDir, "--since", future, "--until", future); len(recs) != 0 {
		t.Errorf("a range in the future exported %d records", len(recs))
	}
	if out, err := exec.Command(bin, "audit", "export", "--data-dir", dataDir, "--format", "xml").CombinedOutput(); err == nil {
		t.Errorf("--format xml was accepted: %s", out)
	}
}

// TestAuditTail follows the trail with `persona audit tail` while calls are made.
func TestAuditTail(t *testing.T) {
	bin := persona(t)
	dataDir := t.TempDir()
	srv := serveOn(t, bin, dataDir)
	tail := exec.Command(bin, "audit", "tail", "--data-dir", dataDir, "--since", "1m")
	stdout, err := tail.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	tail.Stderr = os.Stderr
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tail.Process.Kill(); tail.Wait() })
	lines := make(chan map[string]any)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var r map[string]any
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				lines <- r
			}
		}
		close(lines)
	}()
	for _, n := range []string{"tail-1", "tail-2"} {
		if _, err := srv.iam().CreateUser(context.Background(), &iam.CreateUserInput{UserName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	timeout := time.After(30 * time.Second)
	for len(got) < 2 {
		select {
		case r, ok := <-lines:
			if !ok {
				t.Fatalf("persona audit tail ended; got %v", got)
			}
			if r["eventName"] == "CreateUser" {
				got = append(got, fmt.Sprint(r["requestParameters"].(map[string]any)["userName"]))
			}
		case <-timeout:
			t.Fatalf("tail printed %v in 30s, want tail-1 and tail-2", got)
		}
	}
	if strings.Join(got, ",") != "tail-1,tail-2" {
		t.Errorf("tail printed %v, want tail-1,tail-2 in order", got)
	}
}

// TestPolicyGenerate writes a user's policy from its activity with `persona policy generate`, after a graceful
// stop (which must write the queued records of reads and denials first).
func TestPolicyGenerate(t *testing.T) {
	bin := persona(t)
	dataDir := t.TempDir()
	srv := serveOn(t, bin, dataDir)
	ctx := context.Background()
	root := srv.iam()
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	alice := iam.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://" + srv.addr), RetryMaxAttempts: 1,
		HTTPClient:  &http.Client{Transport: &http.Transport{}},
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), "")})
	if _, err := alice.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String("{}")}); err == nil {
		t.Fatal("alice may create roles")
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.cmd.Wait()

	cmd := exec.Command(bin, "policy", "generate", "--data-dir", dataDir, "--principal", "arn:aws:iam::111122223333:user/alice", "--since", "1h")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("policy generate: %v\n%s", err, stderr.String())
	}
	var doc struct {
		Statement []struct{ Action, Resource []string }
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := map[string]string{}
	for _, s := range doc.Statement {
		for _, a := range s.Action {
			got[a] = strings.Join(s.Resource, ",")
		}
	}
	want := map[string]string{"iam:GetUser": "arn:aws:iam::111122223333:user/alice", "iam:ListRoles": "*"}
	if fmt.Sprint(want) != fmt.Sprint(got) {
		t.Errorf("generated %v, want %v\n%s", got, want, out)
	}
	if !strings.Contains(stderr.String(), "tried and denied (not granted): iam:CreateRole") {
		t.Errorf("report = %q, want the denied CreateRole listed", stderr.String())
	}

	// Granted but unused: alice may Get* and List* everything and used GetUser and ListRoles.
	cmd = exec.Command(bin, "policy", "generate", "--data-dir", dataDir, "--principal", "arn:aws:iam::111122223333:user/alice", "--since", "1h", "--unused")
	stderr.Reset()
	cmd.Stderr = &stderr
	if _, err := cmd.Output(); err != nil {
		t.Fatalf("policy generate --unused: %v\n%s", err, stderr.String())
	}
	_, report, ok := strings.Cut(stderr.String(), "granted on every resource but not used")
	if !ok {
		t.Fatalf("no unused report in %q", stderr.String())
	}
	unused := map[string]bool{}
	_, list, _ := strings.Cut(report, ": ")
	for _, a := range strings.Split(strings.TrimSpace(list), ", ") {
		unused[a] = true
	}
	for a, want := range map[string]bool{"iam:GetRole": true, "iam:ListUsers": true, "iam:GetUser": false, "iam:ListRoles": false,
		"iam:CreateRole": false, "sts:AssumeRole": false, "iam:DeleteUser": false} {
		if unused[a] != want {
			t.Errorf("%s unused = %v, want %v (report %q)", a, unused[a], want, report)
		}
	}
}

// TestParseDuration pins the durations --since and --audit-retention take.
func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true}, {"0", 0, true}, {"0d", 0, true}, {"2160h", 2160 * time.Hour, true},
		{"90m", 90 * time.Minute, true}, {"-1h", 0, false}, {"-1d", 0, false}, {"1.5d", 0, false}, {"d", 0, false},
		{"forever", 0, false}, {"99999999d", 0, false},
	} {
		got, err := parseDuration(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseDuration(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if _, err := exec.Command(persona(t), "serve", "--audit-retention", "forever", "--data-dir", t.TempDir()).CombinedOutput(); err == nil {
		t.Error("serve accepted --audit-retention forever")
	}
}
