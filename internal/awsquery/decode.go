package awsquery

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Matcher is a compiled model pattern. *regexp.Regexp is one; NotContaining covers the few Java patterns RE2
// cannot express.
type Matcher interface {
	MatchString(s string) bool
}

// NotContaining returns a Matcher that matches what m matches unless it contains sub. It stands in for Java
// lookaheads such as `-(?!-)` (no "--"), which RE2 does not support.
func NotContaining(m Matcher, sub string) Matcher { return notContaining{m, sub} }

type notContaining struct {
	m   Matcher
	sub string
}

func (n notContaining) MatchString(s string) bool {
	return n.m.MatchString(s) && !strings.Contains(s, n.sub)
}

// Decoder reads a Query-protocol form into a generated input struct and collects validation failures against
// the model's constraints, in AWS's words. Generated code drives it through a key buffer: a prefix length p
// ("Tags.member.1." has length 14) plus a member name gives the form key, and the key of the value just read is
// also the path an error names ("tags.1.member.key"), so nothing is formatted unless validation fails.
// https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#query-key-resolution
type Decoder struct {
	form url.Values
	key  []byte
	errs []string
}

var decoders = sync.Pool{New: func() any { return &Decoder{key: make([]byte, 0, 64)} }}

// NewDecoder returns a Decoder over form from the pool; Finish returns it.
func NewDecoder(form url.Values) *Decoder {
	d := decoders.Get().(*Decoder)
	d.form = form
	return d
}

// Finish returns the ValidationError for every failure found, or nil, and releases d.
// https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
func (d *Decoder) Finish() error {
	var err error
	if n := len(d.errs); n > 0 {
		var b strings.Builder
		b.WriteString(strconv.Itoa(n))
		if n == 1 {
			b.WriteString(" validation error detected: ")
		} else {
			b.WriteString(" validation errors detected: ")
		}
		for i, m := range d.errs {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(m)
		}
		err = &Error{Code: "ValidationError", HTTPStatus: http.StatusBadRequest, Sender: true, Message: b.String()}
	}
	d.form = nil
	d.key = d.key[:0]
	d.errs = d.errs[:0]
	decoders.Put(d)
	return err
}

// Key sets the key to the prefix of length p plus name and returns its length.
func (d *Decoder) Key(p int, name string) int {
	d.key = append(d.key[:p], name...)
	return len(d.key)
}

// Index sets the key to the prefix of length p plus the decimal i, plus "." when dot is set, and returns its
// length. Query lists and maps number their elements from 1.
func (d *Decoder) Index(p, i int, dot bool) int {
	d.key = strconv.AppendInt(d.key[:p], int64(i), 10)
	if dot {
		d.key = append(d.key, '.')
	}
	return len(d.key)
}

// Get sets the key to prefix p plus name and returns its first value and whether it is present.
func (d *Decoder) Get(p int, name string) (string, bool) {
	d.key = append(d.key[:p], name...)
	return d.at()
}

// At returns the value of the key of length p and whether it is present.
func (d *Decoder) At(p int) (string, bool) {
	d.key = d.key[:p]
	return d.at()
}

func (d *Decoder) at() (string, bool) {
	v, ok := d.form[string(d.key)] // no allocation: the compiler special-cases map[string(bytes)]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// Any reports whether a structure whose key prefix has length p is present: one of the generated probe keys
// (its members, the first element of its lists, …) is.
func (d *Decoder) Any(p int, probes []string) bool {
	for _, m := range probes {
		d.key = append(d.key[:p], m...)
		if _, ok := d.form[string(d.key)]; ok {
			d.key = d.key[:p]
			return true
		}
	}
	d.key = d.key[:p]
	return false
}

// path turns the current form key into the member path AWS prints: "Tags.member.1.Key" becomes
// "tags.1.member.key" (each name with its first letter lowered, the index before "member"/"entry").
func (d *Decoder) path() string {
	segs := strings.Split(string(d.key), ".")
	out := make([]string, 0, len(segs))
	for i := 0; i < len(segs); i++ {
		s := segs[i]
		if (s == "member" || s == "entry") && i+1 < len(segs) && isDigits(segs[i+1]) {
			out = append(out, segs[i+1], s)
			i++
			continue
		}
		out = append(out, lowerFirst(s))
	}
	return strings.Join(out, ".")
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}

// fail records "Value 'v' at 'path' failed to satisfy constraint: Member must …". A sensitive value (a
// password, a secret) is left out of the message so it never reaches logs or clients.
func (d *Decoder) fail(v string, shown bool, constraint string) {
	var m string
	if shown {
		m = "Value '" + v + "' at '" + d.path() + "' failed to satisfy constraint: " + constraint
	} else {
		m = "Value at '" + d.path() + "' failed to satisfy constraint: " + constraint
	}
	d.errs = append(d.errs, m)
}

// Null records that the required member at the current key is missing.
func (d *Decoder) Null() {
	d.errs = append(d.errs, "Value null at '"+d.path()+"' failed to satisfy constraint: Member must not be null")
}

// Len checks a string's length in characters against the model's min and max (a negative bound is absent).
// https://smithy.io/2.0/spec/constraint-traits.html#length-trait
func (d *Decoder) Len(s string, min, max int, sensitive bool) {
	d.Count(s, utf8.RuneCountInString(s), min, max, sensitive)
}

// Count checks a length n (of a string, blob, list or map) against min and max (a negative bound is absent);
// v is the value to show.
func (d *Decoder) Count(v string, n, min, max int, sensitive bool) {
	if min >= 0 && n < min {
		d.fail(v, !sensitive, "Member must have length greater than or equal to "+strconv.Itoa(min))
	}
	if max >= 0 && n > max {
		d.fail(v, !sensitive, "Member must have length less than or equal to "+strconv.Itoa(max))
	}
}

// CountOnly checks the element count n of a list or map at the current key, without showing its value.
func (d *Decoder) CountOnly(n, min, max int) { d.Count("", n, min, max, true) }

// Match checks s against the model's pattern m; pattern is the model's text, which AWS prints.
// https://smithy.io/2.0/spec/constraint-traits.html#pattern-trait
func (d *Decoder) Match(s string, m Matcher, pattern string, sensitive bool) {
	if !m.MatchString(s) {
		d.fail(s, !sensitive, "Member must satisfy regular expression pattern: "+pattern)
	}
}

// Enum checks s is one of values; set is how AWS prints them ("[Active, Inactive]").
func (d *Decoder) Enum(s string, values []string, set string) {
	for _, v := range values {
		if s == v {
			return
		}
	}
	d.fail(s, true, "Member must satisfy enum value set: "+set)
}

// Min checks n >= min; s is the value as sent.
// https://smithy.io/2.0/spec/constraint-traits.html#range-trait
func (d *Decoder) Min(s string, n, min float64) {
	if n < min {
		d.fail(s, true, "Member must have value greater than or equal to "+strconv.FormatFloat(min, 'f', -1, 64))
	}
}

// Max checks n <= max; s is the value as sent.
func (d *Decoder) Max(s string, n, max float64) {
	if n > max {
		d.fail(s, true, "Member must have value less than or equal to "+strconv.FormatFloat(max, 'f', -1, 64))
	}
}

// Int32 parses s as a 32-bit integer, recording a validation failure if it is not one.
func (d *Decoder) Int32(s string) (int32, bool) {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		d.fail(s, true, "Member must be an integer between -2147483648 and 2147483647")
		return 0, false
	}
	return int32(n), true
}

// Int64 parses s as a 64-bit integer, recording a validation failure if it is not one.
func (d *Decoder) Int64(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		d.fail(s, true, "Member must be an integer between -9223372036854775808 and 9223372036854775807")
		return 0, false
	}
	return n, true
}

// Float64 parses s as a number, recording a validation failure if it is not one.
func (d *Decoder) Float64(s string) (float64, bool) {
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		d.fail(s, true, "Member must be a number")
		return 0, false
	}
	return n, true
}

// Bool parses "true" or "false" (in any case, as the Query protocol's servers accept), recording a validation
// failure otherwise.
func (d *Decoder) Bool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	d.fail(s, true, "Member must be a boolean (true or false)")
	return false, false
}

// Time parses an ISO 8601 timestamp ("2026-11-22T00:51:37Z", fractional seconds and offsets allowed), as SDKs
// send them, or epoch seconds, recording a validation failure otherwise.
// https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#query-key-resolution
func (d *Decoder) Time(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && isDigitsOrDot(s) {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), true
	}
	d.fail(s, true, "Member must be a timestamp in ISO 8601 format")
	return time.Time{}, false
}

func isDigitsOrDot(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return s != ""
}

// Blob decodes base64, as the Query protocol sends blobs, recording a validation failure otherwise.
func (d *Decoder) Blob(s string, sensitive bool) ([]byte, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		d.fail(s, !sensitive, "Member must be base64-encoded")
		return nil, false
	}
	return b, true
}
