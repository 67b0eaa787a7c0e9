package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Options tune a replay.
type Options struct {
	// Conns is the number of concurrent keep-alive connections, each with one request in flight; 32 when 0.
	Conns int
	// Duration is the measured window; 10 seconds when 0.
	Duration time.Duration
	// Warmup is an unmeasured lead-in before the window (connections open, caches fill, the heap grows).
	Warmup time.Duration
	// Status is the expected HTTP status; 200 when 0.
	Status int
	// ServerCPU, when set, reports the CPU time used so far by a server in another process; its share of the
	// measured window is added to Summary.CPU.
	ServerCPU func() time.Duration
}

// DefaultDuration and DefaultWarmup are the measured window and the warm-up when Options leaves them zero.
const (
	DefaultDuration = 10 * time.Second
	DefaultWarmup   = 2 * time.Second
)

func (o Options) withDefaults() Options {
	if o.Conns <= 0 {
		o.Conns = 32
	}
	if o.Duration <= 0 {
		o.Duration = DefaultDuration
	}
	if o.Status == 0 {
		o.Status = http.StatusOK
	}
	return o
}

// Render serializes r as the HTTP/1.1 bytes a client sends, so a replay costs the client no signing, no header
// building and no allocation for the request. r's body is consumed.
func Render(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Replay sends the rendered requests to addr (host:port) over opt.Conns keep-alive connections for
// opt.Warmup+opt.Duration. Each connection sends one request at a time, cycling through reqs from its own offset,
// and reads the whole response before sending the next. Only responses to requests sent inside the measured window
// are counted; a response with another status than opt.Status is an error, as is a failed round trip (the
// connection is then opened again). Replay returns an error only when it cannot connect at all.
func Replay(ctx context.Context, addr string, reqs [][]byte, opt Options) (Summary, error) {
	if len(reqs) == 0 {
		return Summary{}, errors.New("loadtest: nothing to replay")
	}
	opt = opt.withDefaults()
	start := time.Now().Add(opt.Warmup)
	end := start.Add(opt.Duration)
	ctx, cancel := context.WithDeadline(ctx, end.Add(30*time.Second))
	defer cancel()

	type result struct {
		samples []time.Duration
		errors  int
		first   string
		err     error
	}
	results := make([]result, opt.Conns)
	processCPU := func() time.Duration {
		d := cpuTime()
		if opt.ServerCPU != nil {
			d += opt.ServerCPU()
		}
		return d
	}
	cpuAtStart := make(chan time.Duration, 1)
	go func() {
		time.Sleep(time.Until(start))
		cpuAtStart <- processCPU()
	}()
	var wg sync.WaitGroup
	for i := range opt.Conns {
		wg.Go(func() {
			w := worker{addr: addr, reqs: reqs, next: i * len(reqs) / opt.Conns, status: opt.Status}
			r := &results[i]
			r.samples, r.errors, r.first, r.err = w.run(ctx, start, end)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU() - <-cpuAtStart

	samples := make([][]time.Duration, len(results))
	errs, first := 0, ""
	for i, r := range results {
		if r.err != nil {
			return Summary{}, r.err
		}
		samples[i] = r.samples
		errs += r.errors
		if first == "" {
			first = r.first
		}
	}
	sum := summarize(samples, errs, elapsed, first)
	sum.CPU = cpu
	return sum, nil
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// worker is one client connection.
type worker struct {
	addr   string
	reqs   [][]byte
	next   int
	status int

	conn net.Conn
	br   *bufio.Reader
}

func (w *worker) run(ctx context.Context, start, end time.Time) (samples []time.Duration, errs int, first string, err error) {
	defer func() {
		if w.conn != nil {
			w.conn.Close()
		}
	}()
	samples = make([]time.Duration, 0, 1<<14)
	deadline, _ := ctx.Deadline()
	for ctx.Err() == nil {
		t0 := time.Now()
		if !t0.Before(end) {
			break
		}
		if w.conn == nil {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", w.addr)
			if err != nil {
				return nil, 0, "", fmt.Errorf("loadtest: connect to %s: %w", w.addr, err)
			}
			c.SetDeadline(deadline)
			w.conn, w.br = c, bufio.NewReaderSize(c, 32<<10)
			t0 = time.Now()
		}
		req := w.reqs[w.next%len(w.reqs)]
		w.next++
		status, body, closed, rtErr := w.roundTrip(req)
		t1 := time.Now()
		measured := !t0.Before(start)
		if rtErr != nil || closed {
			w.conn.Close()
			w.conn = nil
		}
		switch {
		case rtErr != nil:
			if measured {
				errs++
				if first == "" {
					first = rtErr.Error()
				}
			}
		case status != w.status:
			if measured {
				errs++
				if first == "" {
					first = fmt.Sprintf("HTTP %d: %.300s", status, body)
				}
			}
		case measured:
			samples = append(samples, t1.Sub(t0))
		}
	}
	return samples, errs, first, nil
}

// roundTrip writes one request and reads its response; it returns the body only for an unexpected status.
func (w *worker) roundTrip(req []byte) (status int, body []byte, closed bool, err error) {
	if _, err := w.conn.Write(req); err != nil {
		return 0, nil, true, err
	}
	resp, err := http.ReadResponse(w.br, nil)
	if err != nil {
		return 0, nil, true, err
	}
	if resp.StatusCode != w.status {
		body, err = io.ReadAll(io.LimitReader(resp.Body, 4096))
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	return resp.StatusCode, body, resp.Close, err
}

// Probe sends one rendered request to addr and returns the response's status and body.
func Probe(ctx context.Context, addr string, req []byte) (int, []byte, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(req); err != nil {
		return 0, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}
