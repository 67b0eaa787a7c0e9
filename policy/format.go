package policy

import (
	"unicode/utf8"
)

// Format returns the document as canonical JSON: two-space indentation,
// elements in the order of the IAM grammar (Version, Id, Statement; Sid,
// Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource,
// Condition), Statement as an array unless it was a single object, one-value lists as a plain string
// and longer ones as arrays, and condition numbers and booleans written as
// they were. Parse(d.Format()) yields a document equal to d apart from
// positions, and formatting that again gives the same bytes.
func (d *Document) Format() []byte {
	w := &jsonWriter{}
	w.raw("{")
	first := true
	field := func(name string) {
		if !first {
			w.raw(",")
		}
		first = false
		w.nl(1)
		w.quote(name)
		w.raw(": ")
	}
	if d.Version.Value != "" {
		field("Version")
		w.quote(d.Version.Value)
	}
	if d.ID.Value != "" {
		field("Id")
		w.quote(d.ID.Value)
	}
	field("Statement")
	if d.SingleStatement && len(d.Statements) == 1 {
		w.statement(&d.Statements[0], 1)
	} else {
		w.raw("[")
		for i := range d.Statements {
			if i > 0 {
				w.raw(",")
			}
			w.nl(2)
			w.statement(&d.Statements[i], 2)
		}
		w.nl(1)
		w.raw("]")
	}
	w.nl(0)
	w.raw("}\n")
	return w.buf
}

type jsonWriter struct{ buf []byte }

func (w *jsonWriter) raw(s string) { w.buf = append(w.buf, s...) }

func (w *jsonWriter) nl(depth int) {
	w.buf = append(w.buf, '\n')
	for i := 0; i < depth; i++ {
		w.buf = append(w.buf, "  "...)
	}
}

// quote writes s as a JSON string, escaping only what JSON requires so that
// the output stays readable (no \u003c for '<', unlike encoding/json).
func (w *jsonWriter) quote(s string) {
	const hex = "0123456789abcdef"
	w.buf = append(w.buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				w.buf = append(w.buf, `\ufffd`...)
			} else {
				w.buf = append(w.buf, s[i:i+n]...)
			}
			i += n
			continue
		}
		switch {
		case c == '"' || c == '\\':
			w.buf = append(w.buf, '\\', c)
		case c == '\n':
			w.buf = append(w.buf, `\n`...)
		case c == '\r':
			w.buf = append(w.buf, `\r`...)
		case c == '\t':
			w.buf = append(w.buf, `\t`...)
		case c < 0x20:
			w.buf = append(w.buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		default:
			w.buf = append(w.buf, c)
		}
		i++
	}
	w.buf = append(w.buf, '"')
}

func (w *jsonWriter) scalar(s String) {
	if s.Bare {
		w.raw(s.Value)
		return
	}
	w.quote(s.Value)
}

func (w *jsonWriter) list(vals []String) {
	if len(vals) == 1 {
		w.scalar(vals[0])
		return
	}
	w.raw("[")
	for i, v := range vals {
		if i > 0 {
			w.raw(", ")
		}
		w.scalar(v)
	}
	w.raw("]")
}

func (w *jsonWriter) principal(p *Principal, depth int) {
	if p.Wildcard {
		w.quote("*")
		return
	}
	w.raw("{")
	for i, e := range p.Entries {
		if i > 0 {
			w.raw(",")
		}
		w.nl(depth + 1)
		w.quote(e.Type.Value)
		w.raw(": ")
		w.list(e.Values.Values)
	}
	w.nl(depth)
	w.raw("}")
}

func (w *jsonWriter) statement(s *Statement, depth int) {
	w.raw("{")
	first := true
	field := func(name string) {
		if !first {
			w.raw(",")
		}
		first = false
		w.nl(depth + 1)
		w.quote(name)
		w.raw(": ")
	}
	if s.Sid.Value != "" || s.Sid.Pos.IsValid() {
		field("Sid")
		w.quote(s.Sid.Value)
	}
	field("Effect")
	w.quote(s.Effect.Value)
	for _, p := range []struct {
		name string
		p    *Principal
	}{{"Principal", s.Principal}, {"NotPrincipal", s.NotPrincipal}} {
		if p.p != nil {
			field(p.name)
			w.principal(p.p, depth+1)
		}
	}
	for _, l := range []struct {
		name string
		l    *List
	}{{"Action", s.Action}, {"NotAction", s.NotAction}, {"Resource", s.Resource}, {"NotResource", s.NotResource}} {
		if l.l != nil {
			field(l.name)
			w.list(l.l.Values)
		}
	}
	if s.Condition != nil {
		field("Condition")
		w.condition(s.Condition, depth+1)
	}
	w.nl(depth)
	w.raw("}")
}

// condition groups entries by operator, in order of first appearance.
func (w *jsonWriter) condition(entries []ConditionEntry, depth int) {
	w.raw("{")
	done := make([]bool, len(entries))
	firstOp := true
	for i := range entries {
		if done[i] {
			continue
		}
		if !firstOp {
			w.raw(",")
		}
		firstOp = false
		op := entries[i].Operator.Value
		w.nl(depth + 1)
		w.quote(op)
		w.raw(": {")
		firstKey := true
		for j := i; j < len(entries); j++ {
			if done[j] || entries[j].Operator.Value != op {
				continue
			}
			done[j] = true
			if !firstKey {
				w.raw(",")
			}
			firstKey = false
			w.nl(depth + 2)
			w.quote(entries[j].Key.Value)
			w.raw(": ")
			w.list(entries[j].Values.Values)
		}
		w.nl(depth + 1)
		w.raw("}")
	}
	if len(entries) > 0 {
		w.nl(depth)
	}
	w.raw("}")
}
