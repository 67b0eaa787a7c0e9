package policy

import (
	"bytes"
	"slices"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Parse parses an IAM JSON policy document. It checks the JSON syntax and
// the document's structure: the top-level and statement element names, the
// type of every element, Effect, Version, and that each statement has an
// Effect and exactly one of Action/NotAction, at most one of
// Resource/NotResource and of Principal/NotPrincipal. Rules that depend on
// the kind of policy (such as "a trust policy needs a Principal") and
// warnings are Validate's job.
//
// Errors are *SyntaxError values naming the element and its position.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
func Parse(doc []byte) (*Document, error) {
	root, err := parseJSON(doc)
	if err != nil {
		return nil, err
	}
	b := &builder{src: doc, lines: lineStarts(doc)}
	if utf8.Valid(doc) {
		b.starts = runeCheckpoints(doc)
	}
	return b.document(root)
}

// builder turns the JSON tree into a Document.
type builder struct {
	src   []byte
	lines []int // byte offset of the start of each line
	// starts[k] is the number of characters in src[:k*checkpoint], so that a column costs at most checkpoint bytes
	// of counting however long its line is. Policies usually arrive on one line (SDKs and the aws CLI send them
	// minified): counting from the line's start for every value made Parse quadratic, half a second of CPU for
	// one 128 KiB policy. nil when src is not valid UTF-8 (the JSON scanner has then refused it anyway).
	starts []int
}

// checkpoint is the spacing, in bytes, of builder.starts.
const checkpoint = 256

// runeCheckpoints returns the number of characters before every checkpoint-th byte of valid UTF-8 src.
func runeCheckpoints(src []byte) []int {
	cp := make([]int, 0, len(src)/checkpoint+1)
	n := 0
	for off := 0; off <= len(src); off += checkpoint {
		cp = append(cp, n)
		n += charStarts(src[off:min(off+checkpoint, len(src))])
	}
	return cp
}

// charStarts counts the bytes of p that start a UTF-8 character (are not continuation bytes): in valid UTF-8
// cut at character boundaries, its character count.
func charStarts(p []byte) int {
	n := 0
	for _, c := range p {
		if c&0xC0 != 0x80 {
			n++
		}
	}
	return n
}

// charsBefore returns the number of characters in src[:off]; off is at a character boundary.
func (b *builder) charsBefore(off int) int {
	k := off / checkpoint
	return b.starts[k] + charStarts(b.src[k*checkpoint:off])
}

func lineStarts(src []byte) []int {
	ls := make([]int, 1, 1+bytes.Count(src, []byte{'\n'}))
	for off := 0; ; {
		i := bytes.IndexByte(src[off:], '\n')
		if i < 0 {
			return ls
		}
		off += i + 1
		ls = append(ls, off)
	}
}

// pos converts an offset in O(log lines), however long the line.
func (b *builder) pos(off int) Pos {
	i := sort.Search(len(b.lines), func(i int) bool { return b.lines[i] > off }) - 1
	start := b.lines[i]
	switch {
	case b.starts == nil:
		return Pos{Line: i + 1, Column: utf8.RuneCount(b.src[start:off]) + 1, Offset: off}
	case off-start <= checkpoint:
		return Pos{Line: i + 1, Column: charStarts(b.src[start:off]) + 1, Offset: off}
	}
	return Pos{Line: i + 1, Column: b.charsBefore(off) - b.charsBefore(start) + 1, Offset: off}
}

func (b *builder) errf(off int, path, msg string) *SyntaxError {
	p := b.pos(off)
	if path != "" {
		msg = path + ": " + msg
	}
	return &SyntaxError{Line: p.Line, Column: p.Column, Offset: p.Offset, Msg: msg}
}

func (b *builder) wantKind(v *jvalue, path string, kinds ...jkind) error {
	for _, k := range kinds {
		if v.kind == k {
			return nil
		}
	}
	want := kinds[0].String()
	for i, k := range kinds[1:] {
		if i == len(kinds)-2 {
			want += " or " + k.String()
		} else {
			want += ", " + k.String()
		}
	}
	return b.errf(v.off, path, "must be "+want+", found "+v.kind.String())
}

func (b *builder) str(v *jvalue) String {
	return String{Value: v.str, Pos: b.pos(v.off), Bare: v.kind != jString}
}

var topLevel = []string{"Version", "Id", "Statement"}

func (b *builder) document(root *jvalue) (*Document, error) {
	if root.kind != jObject {
		return nil, b.errf(root.off, "", "a policy document must be a JSON object, found "+root.kind.String())
	}
	d := &Document{}
	var stmt *jvalue
	for _, m := range root.members {
		switch m.key {
		case "Version":
			if err := b.wantKind(m.val, "Version", jString); err != nil {
				return nil, err
			}
			d.Version = b.str(m.val)
			if d.Version.Value != Version2012 && d.Version.Value != Version2008 {
				return nil, b.errf(m.val.off, "Version", "must be \""+Version2012+"\" or \""+Version2008+"\", found "+strconv.Quote(m.val.str))
			}
		case "Id":
			if err := b.wantKind(m.val, "Id", jString); err != nil {
				return nil, err
			}
			d.ID = b.str(m.val)
		case "Statement":
			stmt = m.val
		default:
			msg := "unknown top-level element " + strconv.Quote(m.key) + suggestName(m.key, topLevel)
			if slices.Contains(statementElements, m.key) {
				// A lone statement, as notes and answers often quote one.
				msg += ` (it belongs in a statement: this looks like a single statement; wrap it as {"Version": "2012-10-17", "Statement": [ … ]})`
			}
			return nil, b.errf(m.keyOff, "", msg)
		}
	}
	if stmt == nil {
		return nil, b.errf(root.off, "", "missing required element \"Statement\"")
	}
	d.StatementPos = b.pos(stmt.off)
	switch stmt.kind {
	case jObject:
		s, err := b.statement(stmt, "Statement")
		if err != nil {
			return nil, err
		}
		d.Statements = []Statement{s}
		d.SingleStatement = true
	case jArray:
		if len(stmt.elems) == 0 {
			return nil, b.errf(stmt.off, "Statement", "must contain at least one statement")
		}
		d.Statements = make([]Statement, 0, len(stmt.elems))
		for i, e := range stmt.elems {
			path := "Statement[" + strconv.Itoa(i) + "]"
			if e.kind != jObject {
				return nil, b.errf(e.off, path, "must be an object, found "+e.kind.String())
			}
			s, err := b.statement(e, path)
			if err != nil {
				return nil, err
			}
			d.Statements = append(d.Statements, s)
		}
	default:
		return nil, b.errf(stmt.off, "Statement", "must be an object or an array of objects, found "+stmt.kind.String())
	}
	return d, nil
}

var statementElements = []string{"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}

func (b *builder) statement(v *jvalue, path string) (Statement, error) {
	s := Statement{Pos: b.pos(v.off), End: b.pos(v.end)}
	var err error
	for _, m := range v.members {
		p := path + "." + m.key
		switch m.key {
		case "Sid":
			if err = b.wantKind(m.val, p, jString); err == nil {
				s.Sid = b.str(m.val)
			}
		case "Effect":
			if err = b.wantKind(m.val, p, jString); err == nil {
				s.Effect = b.str(m.val)
				if s.Effect.Value != EffectAllow && s.Effect.Value != EffectDeny {
					err = b.errf(m.val.off, p, "must be \"Allow\" or \"Deny\", found "+strconv.Quote(m.val.str))
				}
			}
		case "Action":
			s.Action, err = b.list(m.val, p)
		case "NotAction":
			s.NotAction, err = b.list(m.val, p)
		case "Resource":
			s.Resource, err = b.list(m.val, p)
		case "NotResource":
			s.NotResource, err = b.list(m.val, p)
		case "Principal":
			s.Principal, err = b.principal(m.val, p)
		case "NotPrincipal":
			s.NotPrincipal, err = b.principal(m.val, p)
		case "Condition":
			s.ConditionPos = b.pos(m.val.off)
			s.Condition, err = b.condition(m.val, p)
		default:
			err = b.errf(m.keyOff, path, "unknown statement element "+strconv.Quote(m.key)+suggestName(m.key, statementElements))
		}
		if err != nil {
			return s, err
		}
	}
	// Pairs that exclude each other, and the required elements.
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
	switch {
	case s.Effect.Value == "":
		return s, b.errf(v.off, path, "missing required element \"Effect\"")
	case s.Action != nil && s.NotAction != nil:
		return s, b.errf(v.off, path, "a statement cannot contain both \"Action\" and \"NotAction\"")
	case s.Action == nil && s.NotAction == nil:
		return s, b.errf(v.off, path, "missing required element \"Action\" or \"NotAction\"")
	case s.Resource != nil && s.NotResource != nil:
		return s, b.errf(v.off, path, "a statement cannot contain both \"Resource\" and \"NotResource\"")
	case s.Principal != nil && s.NotPrincipal != nil:
		return s, b.errf(v.off, path, "a statement cannot contain both \"Principal\" and \"NotPrincipal\"")
	}
	return s, nil
}

// list reads a string or an array of strings.
func (b *builder) list(v *jvalue, path string) (*List, error) {
	l := &List{Pos: b.pos(v.off)}
	switch v.kind {
	case jString:
		l.Values = []String{b.str(v)}
	case jArray:
		l.Values = make([]String, 0, len(v.elems))
		for i, e := range v.elems {
			if e.kind != jString {
				return nil, b.errf(e.off, path+"["+strconv.Itoa(i)+"]", "must be a string, found "+e.kind.String())
			}
			l.Values = append(l.Values, b.str(e))
		}
	default:
		return nil, b.errf(v.off, path, "must be a string or an array of strings, found "+v.kind.String())
	}
	return l, nil
}

var principalTypes = []string{PrincipalAWS, PrincipalService, PrincipalFederated, PrincipalCanonicalUser}

func (b *builder) principal(v *jvalue, path string) (*Principal, error) {
	p := &Principal{Pos: b.pos(v.off)}
	switch v.kind {
	case jString:
		if v.str != "*" {
			return nil, b.errf(v.off, path, "a string principal must be \"*\"; write {\"AWS\": "+strconv.Quote(v.str)+"} or {\"Service\": ...} for a specific principal")
		}
		p.Wildcard = true
		return p, nil
	case jObject:
	default:
		return nil, b.errf(v.off, path, "must be \"*\" or an object such as {\"AWS\": \"123456789012\"}, found "+v.kind.String())
	}
	if len(v.members) == 0 {
		return nil, b.errf(v.off, path, "must name at least one principal type (AWS, Service, Federated or CanonicalUser)")
	}
	for _, m := range v.members {
		known := false
		for _, t := range principalTypes {
			known = known || m.key == t
		}
		if !known {
			return nil, b.errf(m.keyOff, path, "unknown principal type "+strconv.Quote(m.key)+" (want AWS, Service, Federated or CanonicalUser)"+suggestName(m.key, principalTypes))
		}
		l, err := b.list(m.val, path+"."+m.key)
		if err != nil {
			return nil, err
		}
		if len(l.Values) == 0 {
			return nil, b.errf(m.val.off, path+"."+m.key, "must not be empty")
		}
		p.Entries = append(p.Entries, PrincipalEntry{Type: String{Value: m.key, Pos: b.pos(m.keyOff)}, Values: *l})
	}
	return p, nil
}

// condition reads {"Operator": {"key": value-or-values}}. Values may be
// strings, numbers or booleans, as IAM accepts.
func (b *builder) condition(v *jvalue, path string) ([]ConditionEntry, error) {
	if v.kind != jObject {
		return nil, b.errf(v.off, path, "must be an object such as {\"StringEquals\": {\"aws:username\": \"bob\"}}, found "+v.kind.String())
	}
	var out []ConditionEntry
	for _, op := range v.members {
		opPath := path + "." + op.key
		if op.val.kind != jObject {
			return nil, b.errf(op.val.off, opPath, "must be an object mapping condition keys to values, found "+op.val.kind.String())
		}
		if len(op.val.members) == 0 {
			return nil, b.errf(op.val.off, opPath, "must contain at least one condition key")
		}
		for _, k := range op.val.members {
			kPath := opPath + "." + k.key
			e := ConditionEntry{
				Operator: String{Value: op.key, Pos: b.pos(op.keyOff)},
				Key:      String{Value: k.key, Pos: b.pos(k.keyOff)},
				Values:   List{Pos: b.pos(k.val.off)},
			}
			scalar := func(x *jvalue, p string) error {
				switch x.kind {
				case jString, jNumber, jBool:
					e.Values.Values = append(e.Values.Values, b.str(x))
					return nil
				}
				return b.errf(x.off, p, "condition values must be strings, numbers or booleans, found "+x.kind.String())
			}
			if k.val.kind == jArray {
				for i, x := range k.val.elems {
					if err := scalar(x, kPath+"["+strconv.Itoa(i)+"]"); err != nil {
						return nil, err
					}
				}
			} else if err := scalar(k.val, kPath); err != nil {
				return nil, err
			}
			out = append(out, e)
		}
	}
	if out == nil {
		// An empty Condition object is allowed and means "no condition".
		out = []ConditionEntry{}
	}
	return out, nil
}

// suggestName returns a " (did you mean X?)" hint when name matches a known
// element ignoring case: element names are case-sensitive in IAM, and a
// lower-case "effect" is the most common mistake.
func suggestName(name string, known []string) string {
	for _, k := range known {
		if equalFold(name, k) {
			return " (element names are case-sensitive: did you mean " + strconv.Quote(k) + "?)"
		}
	}
	return ""
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerByte(a[i]) != lowerByte(b[i]) {
			return false
		}
	}
	return true
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
