package policy

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a small JSON scanner that builds a tree of values, each with
// its byte offset.
//
// Why not encoding/json: its Decoder reports only a byte offset and messages
// such as "invalid character '\"' after object key:value pair", it accepts
// duplicate object keys silently (the last one wins, so a second "Effect"
// could hide the first from a reviewer), and its token stream does not say
// where each value started. A policy author needs "line 1, column 62:
// expected ',' or '}' after object member \"Effect\"", and a validator needs
// the position of every element, so a hand-written scanner of ~300 lines is
// the simpler choice. It implements RFC 8259 strictly (no comments, no
// trailing commas) because IAM does too.

// jkind is the type of a JSON value.
type jkind uint8

const (
	jNull jkind = iota + 1
	jBool
	jNumber
	jString
	jArray
	jObject
)

func (k jkind) String() string {
	switch k {
	case jNull:
		return "null"
	case jBool:
		return "a boolean"
	case jNumber:
		return "a number"
	case jString:
		return "a string"
	case jArray:
		return "an array"
	case jObject:
		return "an object"
	}
	return "nothing"
}

// jvalue is a parsed JSON value. For strings str is the decoded text; for
// numbers, booleans and null it is the literal as written.
type jvalue struct {
	kind    jkind
	off     int // offset of the first byte
	end     int // offset just past the last byte (objects only)
	str     string
	elems   []*jvalue
	members []jmember
}

// jmember is one member of a JSON object, in source order.
type jmember struct {
	key    string
	keyOff int
	val    *jvalue
}

// maxDepth bounds nesting so that a hostile document cannot exhaust the
// stack; real policies nest at most five levels (document, Statement array,
// statement, Condition, operator).
const maxDepth = 64

type scanner struct {
	src   []byte
	i     int
	depth int
}

// parseJSON parses src as exactly one JSON value.
func parseJSON(src []byte) (*jvalue, error) {
	s := &scanner{src: src}
	// A UTF-8 byte order mark is tolerated: editors on Windows add one.
	if len(src) >= 3 && src[0] == 0xEF && src[1] == 0xBB && src[2] == 0xBF {
		s.i = 3
	}
	s.skipSpace()
	if s.i >= len(s.src) {
		return nil, s.errAt(s.i, "empty document: expected a JSON object")
	}
	v, err := s.value()
	if err != nil {
		return nil, err
	}
	s.skipSpace()
	if s.i < len(s.src) {
		return nil, s.errAt(s.i, "unexpected "+s.found(s.i)+" after the end of the top-level JSON value")
	}
	return v, nil
}

func (s *scanner) errAt(off int, msg string) *SyntaxError {
	p := position(s.src, off)
	return &SyntaxError{Line: p.Line, Column: p.Column, Offset: p.Offset, Msg: msg}
}

// found describes the byte at off for an error message.
func (s *scanner) found(off int) string {
	if off >= len(s.src) {
		return "end of input"
	}
	r, _ := utf8.DecodeRune(s.src[off:])
	if r == utf8.RuneError {
		return "invalid UTF-8 byte " + strconv.QuoteRune(rune(s.src[off]))
	}
	if hint, ok := lookalikes[r]; ok {
		return strconv.QuoteRune(r) + " (" + hint + ")"
	}
	return strconv.QuoteRune(r)
}

// lookalikes are characters that text copied from web pages and word processors brings into policies in place of
// JSON's own: the error names them, since they look right on screen.
var lookalikes = map[rune]string{
	'\u00a0': "a non-breaking space, often copied from a web page; JSON allows only plain spaces, tabs and newlines",
	'\u2007': "a figure space; JSON allows only plain spaces, tabs and newlines",
	'\u202f': "a narrow non-breaking space; JSON allows only plain spaces, tabs and newlines",
	'\u200b': "a zero-width space, invisible on screen; delete it",
	'\ufeff': "a byte-order mark; save the file as UTF-8 without BOM",
	'\u201c': "a typographic quote; JSON needs plain double quotes \"",
	'\u201d': "a typographic quote; JSON needs plain double quotes \"",
	'\u2018': "a typographic quote; JSON needs plain double quotes \"",
	'\u2019': "a typographic quote; JSON needs plain double quotes \"",
}

// foundAt is found plus its position when that differs from where the error
// is reported, so "missing comma" errors point at the gap and still say what
// came next.
func (s *scanner) foundAt(errOff, off int) string {
	f := s.found(off)
	if off != errOff {
		p := position(s.src, off)
		f += " at line " + strconv.Itoa(p.Line) + ", column " + strconv.Itoa(p.Column)
	}
	return f
}

func (s *scanner) skipSpace() {
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) value() (*jvalue, error) {
	if s.i >= len(s.src) {
		return nil, s.errAt(s.i, "unexpected end of input: expected a value")
	}
	switch c := s.src[s.i]; {
	case c == '{':
		return s.object()
	case c == '[':
		return s.array()
	case c == '"':
		off := s.i
		str, err := s.string()
		if err != nil {
			return nil, err
		}
		return &jvalue{kind: jString, off: off, str: str}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == 't':
		return s.literal("true", jBool)
	case c == 'f':
		return s.literal("false", jBool)
	case c == 'n':
		return s.literal("null", jNull)
	case c == '\'':
		return nil, s.errAt(s.i, "strings must be in double quotes, found \"'\"")
	default:
		return nil, s.errAt(s.i, "expected a value, found "+s.found(s.i))
	}
}

func (s *scanner) literal(word string, k jkind) (*jvalue, error) {
	off := s.i
	if len(s.src)-s.i < len(word) || string(s.src[s.i:s.i+len(word)]) != word {
		return nil, s.errAt(off, "invalid literal: expected "+strconv.Quote(word)+" (strings must be in double quotes)")
	}
	s.i += len(word)
	return &jvalue{kind: k, off: off, str: word}, nil
}

func (s *scanner) number() (*jvalue, error) {
	off := s.i
	if s.src[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.src) && s.src[s.i] >= '0' && s.src[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	start := s.i
	if n := digits(); n == 0 {
		return nil, s.errAt(s.i, "invalid number: expected a digit, found "+s.found(s.i))
	} else if n > 1 && s.src[start] == '0' {
		return nil, s.errAt(start, "invalid number: leading zeros are not allowed")
	}
	if s.i < len(s.src) && s.src[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return nil, s.errAt(s.i, "invalid number: expected a digit after '.', found "+s.found(s.i))
		}
	}
	if s.i < len(s.src) && (s.src[s.i] == 'e' || s.src[s.i] == 'E') {
		s.i++
		if s.i < len(s.src) && (s.src[s.i] == '+' || s.src[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return nil, s.errAt(s.i, "invalid number: expected a digit in the exponent, found "+s.found(s.i))
		}
	}
	return &jvalue{kind: jNumber, off: off, str: string(s.src[off:s.i])}, nil
}

// string reads a double-quoted string at s.i and returns it decoded.
func (s *scanner) string() (string, error) {
	open := s.i
	s.i++ // opening quote
	start := s.i
	// Fast path: no escapes.
	for s.i < len(s.src) {
		c := s.src[s.i]
		if c == '"' {
			str := string(s.src[start:s.i])
			if !utf8.ValidString(str) {
				return "", s.errAt(start+firstInvalidUTF8(str), "invalid UTF-8 in string")
			}
			s.i++
			return str, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		s.i++
	}
	buf := append([]byte(nil), s.src[start:s.i]...)
	for {
		if s.i >= len(s.src) {
			return "", s.errAt(open, "unterminated string (missing closing '\"')")
		}
		c := s.src[s.i]
		switch {
		case c == '"':
			s.i++
			if !utf8.Valid(buf) {
				return "", s.errAt(start, "invalid UTF-8 in string")
			}
			return string(buf), nil
		case c < 0x20:
			if c == '\n' {
				return "", s.errAt(open, "unterminated string (missing closing '\"' before the end of the line)")
			}
			return "", s.errAt(s.i, "control character "+strconv.QuoteRune(rune(c))+" in string must be escaped")
		case c != '\\':
			buf = append(buf, c)
			s.i++
			continue
		}
		esc := s.i
		s.i++
		if s.i >= len(s.src) {
			return "", s.errAt(open, "unterminated string (missing closing '\"')")
		}
		switch e := s.src[s.i]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := s.hex4(s.i + 1)
			if !ok {
				return "", s.errAt(esc, `invalid \u escape: expected four hexadecimal digits`)
			}
			s.i += 4
			if utf16.IsSurrogate(r) {
				// A surrogate pair is two \u escapes; a lone half is
				// replaced, as encoding/json does.
				if r2, ok := s.hex4(s.i + 3); ok && s.i+2 < len(s.src) && s.src[s.i+1] == '\\' && s.src[s.i+2] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						s.i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", s.errAt(esc, "invalid escape "+strconv.Quote(`\`+string(rune(e)))+" in string")
		}
		s.i++
	}
}

func (s *scanner) hex4(off int) (rune, bool) {
	if off+4 > len(s.src) {
		return 0, false
	}
	var r rune
	for _, c := range s.src[off : off+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

func firstInvalidUTF8(s string) int {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return 0
}

func (s *scanner) enter() error {
	s.depth++
	if s.depth > maxDepth {
		return s.errAt(s.i, "JSON nested too deeply (more than "+strconv.Itoa(maxDepth)+" levels)")
	}
	return nil
}

func (s *scanner) object() (*jvalue, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer func() { s.depth-- }()
	v := &jvalue{kind: jObject, off: s.i}
	s.i++ // '{'
	s.skipSpace()
	if s.i < len(s.src) && s.src[s.i] == '}' {
		s.i++
		v.end = s.i
		return v, nil
	}
	// Duplicate keys are found by a linear scan while the object is small
	// (policy objects have a handful of members) and with a map beyond.
	var seen map[string]int
	for {
		if s.i >= len(s.src) {
			return nil, s.errAt(s.i, "unexpected end of input: expected a member name or '}' (object opened at "+posString(position(s.src, v.off))+")")
		}
		if s.src[s.i] != '"' {
			what := "expected a member name in double quotes, found " + s.found(s.i)
			if s.src[s.i] == '}' && len(v.members) > 0 {
				what = "trailing comma before '}' is not allowed"
			}
			return nil, s.errAt(s.i, what)
		}
		keyOff := s.i
		key, err := s.string()
		if err != nil {
			return nil, err
		}
		first, dup := -1, false
		if seen != nil {
			first, dup = seen[key]
		} else {
			for _, m := range v.members {
				if m.key == key {
					first, dup = m.keyOff, true
					break
				}
			}
		}
		if dup {
			return nil, s.errAt(keyOff, "duplicate member "+strconv.Quote(key)+" (first defined at "+posString(position(s.src, first))+")")
		}
		if seen == nil && len(v.members) >= 16 {
			seen = make(map[string]int, 2*len(v.members))
			for _, m := range v.members {
				seen[m.key] = m.keyOff
			}
		}
		if seen != nil {
			seen[key] = keyOff
		}
		s.skipSpace()
		if s.i >= len(s.src) || s.src[s.i] != ':' {
			return nil, s.errAt(s.i, "expected ':' after member name "+strconv.Quote(key)+", found "+s.found(s.i))
		}
		s.i++
		s.skipSpace()
		val, err := s.value()
		if err != nil {
			return nil, err
		}
		v.members = append(v.members, jmember{key: key, keyOff: keyOff, val: val})
		end := s.i
		s.skipSpace()
		if s.i < len(s.src) && s.src[s.i] == ',' {
			s.i++
			s.skipSpace()
			continue
		}
		if s.i < len(s.src) && s.src[s.i] == '}' {
			s.i++
			v.end = s.i
			return v, nil
		}
		return nil, s.errAt(end, "expected ',' or '}' after object member "+strconv.Quote(key)+", found "+s.foundAt(end, s.i))
	}
}

func (s *scanner) array() (*jvalue, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer func() { s.depth-- }()
	v := &jvalue{kind: jArray, off: s.i}
	s.i++ // '['
	s.skipSpace()
	if s.i < len(s.src) && s.src[s.i] == ']' {
		s.i++
		return v, nil
	}
	for {
		if s.i < len(s.src) && s.src[s.i] == ']' && len(v.elems) > 0 {
			return nil, s.errAt(s.i, "trailing comma before ']' is not allowed")
		}
		el, err := s.value()
		if err != nil {
			return nil, err
		}
		v.elems = append(v.elems, el)
		end := s.i
		s.skipSpace()
		if s.i < len(s.src) && s.src[s.i] == ',' {
			s.i++
			s.skipSpace()
			continue
		}
		if s.i < len(s.src) && s.src[s.i] == ']' {
			s.i++
			return v, nil
		}
		return nil, s.errAt(end, "expected ',' or ']' after array element "+strconv.Itoa(len(v.elems)-1)+", found "+s.foundAt(end, s.i))
	}
}

// position converts a byte offset into a 1-based line and column. Columns
// count characters, not bytes, as editors display them.
func position(src []byte, off int) Pos {
	if off > len(src) {
		off = len(src)
	}
	line, lineStart := 1, 0
	for i := 0; i < off; i++ {
		if src[i] == '\n' {
			line++
			lineStart = i + 1
		}
	}
	return Pos{Line: line, Column: utf8.RuneCount(src[lineStart:off]) + 1, Offset: off}
}

func posString(p Pos) string {
	return "line " + strconv.Itoa(p.Line) + ", column " + strconv.Itoa(p.Column)
}
