package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/sqlite"
)

// BenchmarkAppendAudit measures storing audit records (1.3 KB of JSON each, differing in their time and ids) in
// batches of several sizes (the group-commit writer's
// batches): wall time per record (fsync included) and the process's CPU time per record (user + system, from
// getrusage), which is what recording costs a busy server.
func BenchmarkAppendAudit(b *testing.B) {
	data := []byte(`{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:s1",` +
		`"arn":"arn:aws:sts::111122223333:assumed-role/r1/s1","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE"},` +
		strings.Repeat(`"padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",`, 16) + `"readOnly":true}`)
	for _, batch := range []int{1, 8, 32, 128} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			recs := make([]store.AuditRecord, batch)
			at := time.Now()
			b.ReportAllocs()
			var before syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &before)
			b.ResetTimer()
			n := 0
			for i := 0; i < b.N; i += batch {
				for j := range recs {
					n++
					recs[j] = store.AuditRecord{EventID: "e" + strconv.Itoa(n), Account: "111122223333",
						Time: at.Add(time.Duration(n) * time.Microsecond), EventName: "GetRole",
						EventSource: "iam.amazonaws.com", Username: "s1", AccessKeyID: "ASIAEXAMPLE",
						PrincipalARN: "arn:aws:sts::111122223333:assumed-role/r1/s1", ReadOnly: true,
						Resources: []store.AuditResource{{Type: "AWS::IAM::Role", Name: "r" + strconv.Itoa(n%100)},
							{Type: "AWS::IAM::Role", Name: "arn:aws:iam::111122223333:role/r" + strconv.Itoa(n%100)}},
						// Like real records of one batch: alike but for their time and ids.
						Data: append(data[:len(data)-1:len(data)-1], fmt.Sprintf(
							`,"eventTime":"%s","requestID":"%08x-5d2b-4c7f-9d1e-%012x","eventID":"%08x-1a2b-4c3d-8e4f-%012x"}`,
							at.Add(time.Duration(n)*time.Microsecond).Format(time.RFC3339Nano), n*7919, n*104729, n*31, n*1299709)...)}
				}
				if err := s.AppendAudit(context.Background(), recs); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			var after syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &after)
			cpu := time.Duration(after.Utime.Nano() - before.Utime.Nano() + after.Stime.Nano() - before.Stime.Nano())
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/record")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
		})
	}
}

// BenchmarkLookupAudit measures LookupAudit over a trail of 100,000 records appended in batches of 32: the
// newest page, a page by a common attribute value, and a lookup by a rare one (an event id), which tests the
// terms of every block in the time range.
func BenchmarkLookupAudit(b *testing.B) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	at := time.Now()
	recs := make([]store.AuditRecord, 32)
	n := 0
	for n < 100000 {
		for j := range recs {
			n++
			recs[j] = store.AuditRecord{EventID: "e" + strconv.Itoa(n), Account: "111122223333",
				Time: at.Add(time.Duration(n) * time.Millisecond), EventName: []string{"GetRole", "AssumeRole"}[n%2],
				EventSource: "iam.amazonaws.com", Username: "s1", ReadOnly: true,
				Resources: []store.AuditResource{{Type: "AWS::IAM::Role", Name: "r" + strconv.Itoa(n%100)}},
				Data:      []byte(`{"eventVersion":"1.08"}`)}
		}
		if err := s.AppendAudit(context.Background(), recs); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		q    store.AuditQuery
		want int
	}{
		{"Newest50", store.AuditQuery{Account: "111122223333", Max: 50}, 50},
		{"EventName50", store.AuditQuery{Account: "111122223333", Attribute: store.AuditEventName, Value: "AssumeRole", Max: 50}, 50},
		{"RareEventId", store.AuditQuery{Account: "111122223333", Attribute: store.AuditEventID, Value: "e17", Max: 50}, 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				got, _, err := s.LookupAudit(context.Background(), tc.q)
				if err != nil || len(got) != tc.want {
					b.Fatalf("LookupAudit = %d records, %v; want %d", len(got), err, tc.want)
				}
			}
		})
	}
}
