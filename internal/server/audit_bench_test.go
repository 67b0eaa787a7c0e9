package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/persona-iam/persona/internal/audit"
	persiam "github.com/persona-iam/persona/internal/iam"
	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/sqlite"
)

// benchServer starts a server on a fresh SQLite store and returns it with a root IAM client.
func benchServer(b *testing.B) (*Server, *iam.Client) {
	b.Helper()
	st, err := sqlite.Open(context.Background(), b.TempDir()+"/persona.db", sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	box, _ := secrets.NewBox(bytes.Repeat([]byte{1}, secrets.KeySize))
	if _, err := persiam.Bootstrap(context.Background(), st, box, persiam.BootstrapOptions{
		AccountID: testAccount, RootAccessKeyID: testRootKey, RootSecret: testRootSecret}); err != nil {
		b.Fatal(err)
	}
	srv := New(Config{Store: st, Box: box})
	hs := httptest.NewServer(srv)
	b.Cleanup(hs.Close)
	client := iam.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(testRootKey, testRootSecret, "")})
	return srv, client
}

// BenchmarkAuditRecords measures audit records made durable per second through the server's group-commit writer
// from 16 producers, on SQLite, alone ("idle") and while 8 clients send signed IAM requests to the same server
// ("under-load": reads, whose records go through the same writer, and mutations, whose records commit in their
// own transactions on the same database). The load's own records are counted in load-records/s.
//
//	go test ./internal/server -run XXX -bench BenchmarkAuditRecords -benchtime 20000x
func BenchmarkAuditRecords(b *testing.B) {
	for _, load := range []bool{false, true} {
		name := "idle"
		if load {
			name = "under-load"
		}
		b.Run(name, func(b *testing.B) {
			srv, client := benchServer(b)
			row, err := audit.Build(audit.Event{Time: time.Now(), Source: audit.SourceIAM, Action: "GetRole",
				Identity: &audit.UserIdentity{Type: "Root", AccountID: testAccount}, Params: map[string]any{"roleName": "r"}})
			if err != nil {
				b.Fatal(err)
			}
			ctx, stop := context.WithCancel(context.Background())
			var loadReqs atomic.Int64
			var loaders sync.WaitGroup
			if load {
				for w := range 8 {
					loaders.Go(func() {
						for i := 0; ctx.Err() == nil; i++ {
							var err error
							if i%4 == 0 {
								_, err = client.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(fmt.Sprintf("u%d-%d", w, i))})
							} else {
								_, err = client.ListUsers(ctx, &iam.ListUsersInput{MaxItems: aws.Int32(1)})
							}
							if err == nil {
								loadReqs.Add(1)
							}
						}
					})
				}
				time.Sleep(200 * time.Millisecond) // let the load reach a steady state
			}
			var next atomic.Int64
			var producers sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			loadStart := loadReqs.Load()
			for range 16 {
				producers.Go(func() {
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						r := row
						r.EventID = "bench-" + strconv.FormatInt(i, 10)
						if err := srv.audit.writer.Record(context.Background(), r); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			producers.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
			if load {
				loadRecs := float64(loadReqs.Load() - loadStart)
				b.ReportMetric(loadRecs/elapsed.Seconds(), "load-records/s")
				b.ReportMetric((loadRecs+float64(b.N))/elapsed.Seconds(), "total-records/s")
			}
			stop()
			loaders.Wait()
		})
	}
}

// BenchmarkAuditedRequests measures signed IAM requests per second through the HTTP server from 16 clients, each
// producing its audit record: mutations (CreateUser, record in the mutation's transaction) and reads (GetUser,
// record by group commit).
//
//	go test ./internal/server -run XXX -bench BenchmarkAuditedRequests -benchtime 3000x
func BenchmarkAuditedRequests(b *testing.B) {
	for _, kind := range []string{"mutations", "reads"} {
		b.Run(kind, func(b *testing.B) {
			srv, client := benchServer(b)
			ctx := context.Background()
			if _, err := client.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("reader")}); err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range 16 {
				wg.Go(func() {
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						var err error
						if kind == "mutations" {
							_, err = client.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u" + strconv.FormatInt(i, 10))})
						} else {
							_, err = client.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("reader")})
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
			b.StopTimer()
			// Every request has its record.
			if err := srv.audit.writer.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			name := map[string]string{"mutations": "CreateUser", "reads": "GetUser"}[kind]
			n := 0
			q := store.AuditQuery{Account: testAccount, Attribute: store.AuditEventName, Value: name, Max: 1000}
			for {
				recs, marker, err := srv.audit.log.LookupAudit(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				n += len(recs)
				if marker == "" {
					break
				}
				q.Marker = marker
			}
			if want := b.N + map[string]int{"mutations": 1, "reads": 0}[kind]; n < want {
				b.Fatalf("%d %s records for %d requests", n, name, want)
			}
		})
	}
}
