package iam

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store/sqlite"
)

// TestAllowedNamespaces: the services a report lists come from Allow statements' actions; "*" and NotAction
// reach every known service (NotAction "svc:*" leaves svc out); Deny removes nothing.
func TestAllowedNamespaces(t *testing.T) {
	ns := func(docs ...string) []string {
		var out []string
		for n := range allowedNamespaces(docs) {
			out = append(out, n)
		}
		slices.Sort(out)
		return out
	}
	got := ns(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["S3:GetObject","iam:List*"],"Resource":"*"},
		{"Effect":"Deny","Action":"ec2:*","Resource":"*"}]}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*"}}`)
	if want := []string{"dynamodb", "iam", "s3"}; !slices.Equal(got, want) {
		t.Errorf("namespaces = %v, want %v", got, want)
	}
	all := ns(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	if len(all) != len(serviceNames) {
		t.Errorf("Action * gives %d services, want all %d", len(all), len(serviceNames))
	}
	notIAM := ns(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","sts:GetCallerIdentity"],"Resource":"*"}]}`)
	if slices.Contains(notIAM, "iam") || !slices.Contains(notIAM, "sts") || len(notIAM) != len(serviceNames)-1 {
		t.Errorf("NotAction iam:* gives %d services (iam %v, sts %v)", len(notIAM), slices.Contains(notIAM, "iam"), slices.Contains(notIAM, "sts"))
	}
	if got := ns(`not json`, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"*","Resource":"*"}]}`); len(got) != 0 {
		t.Errorf("unreadable policy or NotAction * gives %v", got)
	}
}

// FuzzPageMarker: page never panics; it accepts exactly the markers it hands out (canonical decimal indexes up to
// n), and its bounds stay within the list.
func FuzzPageMarker(f *testing.F) {
	f.Add(10, "", int32(3))
	f.Add(10, "3", int32(100))
	f.Add(0, "0", int32(1))
	f.Add(5, "-1", int32(1))
	f.Add(5, "03", int32(1))
	f.Fuzz(func(t *testing.T, n int, marker string, max int32) {
		if n < 0 || n > 1<<20 {
			return
		}
		start, end, next, err := page(n, marker, &max)
		if err != nil {
			var ae *awsquery.Error
			if !errors.As(err, &ae) || ae.Code != "InvalidInput" {
				t.Fatalf("error %v, want InvalidInput", err)
			}
			if i, aerr := strconv.Atoi(marker); aerr == nil && i >= 0 && i <= n && strconv.Itoa(i) == marker {
				t.Fatalf("valid marker %q (n=%d) refused", marker, n)
			}
			return
		}
		if start < 0 || start > end || end > n {
			t.Fatalf("page(%d, %q, %d) = [%d, %d)", n, marker, max, start, end)
		}
		if next != "" {
			if s2, _, _, err := page(n, next, &max); err != nil || s2 != end {
				t.Fatalf("next marker %q does not continue at %d: %d, %v", next, end, s2, err)
			}
		} else if end != n {
			t.Fatalf("no next marker before the end: [%d, %d) of %d", start, end, n)
		}
	})
}

// TestJobsKeepNewest: job ids sort by creation time, and an account keeps its newest maxJobs reports.
func TestJobsKeepNewest(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/p.db", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s := New(Config{Store: st, Authz: authz.New(st), Now: func() time.Time { return clock }})
	ctx = authz.WithPrincipal(ctx, &authz.Principal{Type: authz.Root, Account: "111122223333", ARN: "arn:aws:iam::111122223333:root", UserID: "111122223333"})
	defer func(n int) { maxJobs = n }(maxJobs)
	maxJobs = 3
	var ids []string
	for range 5 {
		clock = clock.Add(time.Millisecond)
		out, err := s.GenerateServiceLastAccessedDetails(ctx, &iamapi.GenerateServiceLastAccessedDetailsInput{Arn: "arn:aws:iam::aws:policy/IAMReadOnlyAccess"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, out.JobId)
	}
	if !slices.IsSorted(ids) || len(ids[0]) != 36 || ids[0][14] != '7' {
		t.Errorf("job ids %v are not time-ordered version 7 UUIDs", ids)
	}
	for i, id := range ids {
		out, err := s.GetServiceLastAccessedDetails(ctx, &iamapi.GetServiceLastAccessedDetailsInput{JobId: id})
		if i < 2 {
			var ae *awsquery.Error
			if !errors.As(err, &ae) || ae.Code != "NoSuchEntity" {
				t.Errorf("job %d of 5 (beyond the newest 3): %v, want NoSuchEntity", i+1, err)
			}
			continue
		}
		if err != nil || len(out.ServicesLastAccessed) != 1 || out.ServicesLastAccessed[0].ServiceNamespace != "iam" {
			t.Errorf("job %d: %+v, %v", i+1, out, err)
		}
	}
}
