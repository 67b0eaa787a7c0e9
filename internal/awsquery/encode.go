package awsquery

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// TimeFormat is how IAM and STS print timestamps: ISO 8601 in UTC, to the second ("2026-11-22T00:51:37Z").
const TimeFormat = "2006-01-02T15:04:05Z"

// maxPooled bounds the buffers kept for reuse, so one huge response does not pin its memory.
const maxPooled = 256 << 10

var encoders = sync.Pool{New: func() any { return &Encoder{b: make([]byte, 0, 4096)} }}

// Encoder writes the XML of a response into a pooled buffer. Generated code drives it; it does no reflection.
type Encoder struct {
	b []byte
}

// NewEncoder returns an empty Encoder from the pool. Call Release when done.
func NewEncoder() *Encoder { return encoders.Get().(*Encoder) }

// Release returns e to the pool; e must not be used afterwards.
func (e *Encoder) Release() {
	if cap(e.b) > maxPooled {
		return
	}
	e.b = e.b[:0]
	encoders.Put(e)
}

// Bytes returns a copy of what was written, so the buffer can go back to the pool.
func (e *Encoder) Bytes() []byte { return append([]byte(nil), e.b...) }

func (e *Encoder) raw(s string) { e.b = append(e.b, s...) }

// Start writes <name>.
func (e *Encoder) Start(name string) {
	e.b = append(e.b, '<')
	e.b = append(e.b, name...)
	e.b = append(e.b, '>')
}

// End writes </name>.
func (e *Encoder) End(name string) {
	e.b = append(e.b, '<', '/')
	e.b = append(e.b, name...)
	e.b = append(e.b, '>')
}

// StartResponse writes <{op}Response xmlns="{namespace}">.
func (e *Encoder) StartResponse(op, namespace string) {
	e.b = append(e.b, '<')
	e.b = append(e.b, op...)
	e.b = append(e.b, `Response xmlns="`...)
	e.attr(namespace)
	e.b = append(e.b, `">`...)
}

// EndResponse writes the ResponseMetadata and </{op}Response>.
func (e *Encoder) EndResponse(op, requestID string) {
	e.raw("<ResponseMetadata>")
	e.String("RequestId", requestID)
	e.raw("</ResponseMetadata></")
	e.b = append(e.b, op...)
	e.raw("Response>")
}

// String writes <name>v</name> with v escaped for XML.
func (e *Encoder) String(name, v string) {
	e.Start(name)
	e.text(v)
	e.End(name)
}

// Policy writes a policy document URL-encoded as IAM returns it: "URL-encoded compliant with RFC 3986", every
// byte but the unreserved characters percent-encoded, so a space is %20 (botocore url-decodes it with
// urllib.parse.unquote, which would leave a '+' as is).
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_PolicyVersion.html
func (e *Encoder) Policy(name, v string) {
	e.Start(name)
	e.b = AppendPolicyEscape(e.b, v)
	e.End(name)
}

// AppendPolicyEscape appends s to b percent-encoded per RFC 3986 (unreserved characters kept).
func AppendPolicyEscape(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	b = slices.Grow(b, len(s)+len(s)/2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved[c] {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return b
}

// unreserved are RFC 3986's unreserved characters. https://www.rfc-editor.org/rfc/rfc3986#section-2.3
var unreserved = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
	}
	return t
}()

// Int32 writes <name>v</name>.
func (e *Encoder) Int32(name string, v int32) { e.Int64(name, int64(v)) }

// Int64 writes <name>v</name>.
func (e *Encoder) Int64(name string, v int64) {
	e.Start(name)
	e.b = strconv.AppendInt(e.b, v, 10)
	e.End(name)
}

// Float64 writes <name>v</name> in the shortest form that round-trips.
func (e *Encoder) Float64(name string, v float64) {
	e.Start(name)
	e.b = strconv.AppendFloat(e.b, v, 'g', -1, 64)
	e.End(name)
}

// Bool writes <name>true</name> or <name>false</name>.
func (e *Encoder) Bool(name string, v bool) {
	e.Start(name)
	e.b = strconv.AppendBool(e.b, v)
	e.End(name)
}

// Time writes <name>t</name> in TimeFormat, in UTC.
func (e *Encoder) Time(name string, t time.Time) {
	e.Start(name)
	e.b = t.UTC().AppendFormat(e.b, TimeFormat)
	e.End(name)
}

// Blob writes <name>base64(v)</name>, as the Query protocol serializes blobs.
func (e *Encoder) Blob(name string, v []byte) {
	e.Start(name)
	e.b = base64.StdEncoding.AppendEncode(e.b, v)
	e.End(name)
}

// attr appends s escaped for a double-quoted attribute value.
func (e *Encoder) attr(s string) {
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			e.text(s)
			return
		}
		e.text(s[:i])
		e.b = append(e.b, "&quot;"...)
		s = s[i+1:]
	}
}

// text appends s escaped for XML character data (quotes need no escaping there). Characters XML 1.0 cannot carry (NUL and
// most C0 controls, invalid UTF-8) become U+FFFD so the document always parses; '\r' is written as a character
// reference because parsers would otherwise normalize it away.
func (e *Encoder) text(s string) {
	b := e.b
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf {
			switch c {
			case '<':
				b = append(b, "&lt;"...)
			case '>':
				b = append(b, "&gt;"...)
			case '&':
				b = append(b, "&amp;"...)
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\n' || r == '\t':
			b = append(b, byte(r))
		case r == '\r':
			b = append(b, "&#xD;"...)
		case r == utf8.RuneError && size == 1, r < 0x20, r == 0xFFFE, r == 0xFFFF:
			b = append(b, "\uFFFD"...)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	e.b = b
}
