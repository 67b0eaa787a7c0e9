package audit

import (
	"context"
	"sync"

	"github.com/persona-iam/persona/internal/store"
)

// Pending is the record of a request being answered, carried in the request's context so that a mutation can
// append it in its own store transaction: the record commits with the mutation or not at all, so an acknowledged
// mutation never lacks its record, even after kill -9.
//
// The server makes one per request (NewPending, WithPending); a service's write path calls Append inside its
// transaction and Committed once the transaction committed; the server then knows (Written) that the request's
// record is durable and writes nothing more for it. A nil *Pending is valid and does nothing, so services work
// unchanged outside the server.
type Pending struct {
	mu       sync.Mutex
	ev       Event
	response func() any
	written  bool
}

// NewPending returns the pending record of ev. ev.EventID is fixed now, so a transaction that is retried appends
// the same record (the store keeps one per event id).
func NewPending(ev Event) *Pending {
	if ev.EventID == "" {
		ev.EventID = NewID()
	}
	return &Pending{ev: ev}
}

type pendingKey struct{}

// WithPending returns a context carrying p.
func WithPending(ctx context.Context, p *Pending) context.Context {
	return context.WithValue(ctx, pendingKey{}, p)
}

// PendingFrom returns the pending record in ctx, or nil.
func PendingFrom(ctx context.Context) *Pending {
	p, _ := ctx.Value(pendingKey{}).(*Pending)
	return p
}

// PendingFor returns the pending record in ctx when the request being answered is a call to the service whose
// eventSource is source, else nil. A service's write path asks for its own requests' records only: a write it
// makes on behalf of another service's call (IAM recording a used MFA code while STS answers AssumeRole) must
// not commit that call's record before the call has succeeded.
func PendingFor(ctx context.Context, source string) *Pending {
	p := PendingFrom(ctx)
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ev.Source != source {
		return nil
	}
	return p
}

// Update lets the server complete the event (principal, parameters, resources) before the operation runs.
func (p *Pending) Update(fn func(ev *Event)) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fn(&p.ev)
}

// Event returns a copy of the event as it stands.
func (p *Pending) Event() Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ev
}

// RespondWith sets how to compute the operation's output for responseElements, for a mutation whose output is
// known only once its transaction ran: fn is called inside the transaction, after the operation's own writes
// succeeded (so it sees what they set, such as a creation date). Its value is converted with Elements and redacted.
func (p *Pending) RespondWith(fn func() any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.response = fn
	p.mu.Unlock()
}

// Append appends the request's record to tx, once per request: a second transaction of the same request appends
// nothing (its first record stands for the request). Call it inside the transaction, after the mutation's writes.
func (p *Pending) Append(ctx context.Context, tx store.Tx) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	if p.written {
		p.mu.Unlock()
		return nil
	}
	ev, respond := p.ev, p.response
	p.mu.Unlock()
	if respond != nil {
		ev.Response = Elements(respond())
	}
	row, err := Build(ev)
	if err != nil {
		return err
	}
	return tx.AppendAudit(ctx, row)
}

// Committed records that the transaction that appended the record committed.
func (p *Pending) Committed() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.written = true
	p.mu.Unlock()
}

// Written reports whether the request's record was committed with a mutation.
func (p *Pending) Written() bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.written
}

// Response returns the operation's output for responseElements, as set by RespondWith; nil when none was set.
func (p *Pending) Response() map[string]any {
	p.mu.Lock()
	fn := p.response
	p.mu.Unlock()
	if fn == nil {
		return nil
	}
	return Elements(fn())
}

// Tx runs fn in a transaction of st and appends the pending record of the request in ctx (when it is a call to the
// service whose eventSource is source) in the same transaction, after fn's writes: an acknowledged mutation can
// never lack its record, and a rolled-back one has none. Every service's write path goes through it.
func Tx(ctx context.Context, st store.Store, source string, fn func(ctx context.Context, tx store.Tx) error) error {
	pending := PendingFor(ctx, source)
	err := st.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := fn(ctx, tx); err != nil {
			return err
		}
		return pending.Append(ctx, tx)
	})
	if err == nil {
		pending.Committed()
	}
	return err
}
