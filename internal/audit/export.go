package audit

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/persona-iam/persona/internal/store"
)

// Export formats.
const (
	// FormatCloudTrail is a CloudTrail log file: {"Records":[…]}, what CloudTrail delivers to S3.
	// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html
	FormatCloudTrail = "cloudtrail"
	// FormatJSONL is one record per line, for shipping to a SIEM.
	FormatJSONL = "jsonl"
)

// exportWindow is the slice of time Export reads at once: records are read newest first, so Export reads the
// range window by window from its start and reverses each, holding at most one window in memory.
const exportWindow = 10 * time.Minute

// Accounts returns the ids of every account in st.
func Accounts(ctx context.Context, st store.Reader) ([]string, error) {
	var out []string
	marker := ""
	for {
		page, err := st.List(ctx, store.KindAccount, "", "", marker, 1000)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Records {
			out = append(out, r.Key)
		}
		if page.Next == "" {
			return out, nil
		}
		marker = page.Next
	}
}

// Export writes the records of accounts whose time is in [since, until], oldest first within each account, to w
// in format (FormatCloudTrail or FormatJSONL). It returns how many records it wrote.
func Export(ctx context.Context, log store.AuditLog, accounts []string, since, until time.Time, format string, w io.Writer) (int, error) {
	if format != FormatCloudTrail && format != FormatJSONL {
		return 0, fmt.Errorf("audit: unknown export format %q (cloudtrail or jsonl)", format)
	}
	if until.Before(since) {
		return 0, fmt.Errorf("audit: --until %s is before --since %s", until.Format(time.RFC3339), since.Format(time.RFC3339))
	}
	n := 0
	if format == FormatCloudTrail {
		if _, err := io.WriteString(w, `{"Records":[`); err != nil {
			return 0, err
		}
	}
	emit := func(data []byte) error {
		var err error
		switch {
		case format == FormatJSONL:
			_, err = w.Write(append(data, '\n'))
		case n > 0:
			_, err = w.Write(append([]byte{','}, data...))
		default:
			_, err = w.Write(data)
		}
		n++
		return err
	}
	for _, account := range accounts {
		for start := since; !start.After(until); start = start.Add(exportWindow) {
			end := start.Add(exportWindow - time.Microsecond)
			if end.After(until) {
				end = until
			}
			recs, err := readRange(ctx, log, account, start, end)
			if err != nil {
				return n, err
			}
			slices.Reverse(recs)
			for _, r := range recs {
				if err := emit(r.Data); err != nil {
					return n, err
				}
			}
		}
	}
	if format == FormatCloudTrail {
		if _, err := io.WriteString(w, "]}\n"); err != nil {
			return n, err
		}
	}
	return n, nil
}

// readRange returns every record of account in [start, end], newest first.
func readRange(ctx context.Context, log store.AuditLog, account string, start, end time.Time) ([]store.AuditRecord, error) {
	var out []store.AuditRecord
	q := store.AuditQuery{Account: account, Start: start, End: end, Max: 500}
	for {
		recs, next, err := log.LookupAudit(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
		if next == "" {
			return out, nil
		}
		q.Marker = next
	}
}

// TailOptions configures Tail.
type TailOptions struct {
	// Accounts are the trails to follow.
	Accounts []string
	// Since is how far back to start; records newer than now-Since are written first.
	Since time.Duration
	// Poll is how often the store is read; one second when 0.
	Poll time.Duration
	// Lag is how long after its time a record may still arrive (records are stamped with the time their request
	// was received and written when it is answered, reads by group commit); a minute when 0.
	Lag time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Tail writes records as they are appended, one JSON record per line, until ctx is done. Each record is written
// once, oldest first within each poll.
func Tail(ctx context.Context, log store.AuditLog, opts TailOptions, w io.Writer) error {
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Lag <= 0 {
		opts.Lag = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	seen := map[string]time.Time{} // account/eventID → record time, forgotten once older than the lag window
	from := opts.Now().Add(-opts.Since)
	t := time.NewTicker(opts.Poll)
	defer t.Stop()
	for {
		now := opts.Now()
		var fresh []store.AuditRecord
		for _, account := range opts.Accounts {
			recs, err := readRange(ctx, log, account, from, now.Add(time.Minute))
			if err != nil {
				return err
			}
			for _, r := range recs {
				k := r.Account + "/" + r.EventID
				if _, ok := seen[k]; !ok {
					seen[k] = r.Time
					fresh = append(fresh, r)
				}
			}
		}
		slices.SortStableFunc(fresh, func(a, b store.AuditRecord) int { return a.Time.Compare(b.Time) })
		for _, r := range fresh {
			if _, err := w.Write(append(r.Data, '\n')); err != nil {
				return err
			}
		}
		if f, ok := w.(interface{ Flush() error }); ok {
			if err := f.Flush(); err != nil {
				return err
			}
		}
		// Records older than the lag window will not arrive any more: stop reading and remembering them.
		if lagged := now.Add(-opts.Lag); lagged.After(from) {
			from = lagged
		}
		for k, at := range seen {
			if at.Before(from) {
				delete(seen, k)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
