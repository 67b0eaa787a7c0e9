// Package condition compiles and evaluates the operators of an IAM policy's
// Condition element.
//
// A Condition is one (operator, key, values) triple of a Condition block, for
// example StringLike / s3:prefix / ["home/", "home/${aws:username}/*"]. It is
// compiled once (numbers, dates, CIDRs, base64 and globs are parsed up front,
// so a malformed value is reported when the policy is loaded, as IAM reports
// MalformedPolicyDocument) and evaluated many times, concurrently, without
// allocating unless policy variables are involved.
//
// The rules implemented here come from:
//   - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
//   - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
//   - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html
//   - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
//
// Combining several Conditions (AND between operators and keys) is the
// caller's job; a Condition handles the OR (NOR for negated operators)
// between its own values and the set qualifiers.
package condition

import (
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/persona-iam/persona/policy/wildcard"
)

// Context supplies the request's context values. Values returns the values of
// key and whether the key is present; key lookup must ignore case, because
// IAM condition key names are case-insensitive
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html).
// Condition always passes keys in lower case (ASCII), which lets an
// implementation store lower-cased keys and look up without allocating.
type Context interface {
	Values(key string) (vals []string, ok bool)
}

// OperatorError reports a condition that cannot be compiled: an unknown
// operator, or a value the operator cannot use. Value is empty when the
// operator itself is at fault.
type OperatorError struct {
	Operator, Key, Value, Reason string
}

// Error says which operator, key and value were rejected and why.
func (e *OperatorError) Error() string {
	var b strings.Builder
	b.WriteString("condition ")
	b.WriteString(strconv.Quote(e.Operator))
	if e.Key != "" {
		b.WriteString(" on key ")
		b.WriteString(strconv.Quote(e.Key))
	}
	if e.Value != "" {
		b.WriteString(": value ")
		b.WriteString(strconv.Quote(e.Value))
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Condition is one compiled (operator, key, values) condition. It is
// immutable and safe for concurrent use.
type Condition struct {
	operator string
	key      string
	lkey     string // key in ASCII lower case, as passed to Context.Values
	op       parsedOp
	values   []value
	hasVars  bool
}

// value is one compiled policy value. Only the fields of the operator's
// family are set.
type value struct {
	raw    string
	str    string           // string family: the literal; binary: canonical base64
	glob   wildcard.Pattern // StringLike
	num    float64          // numeric
	t      time.Time        // date
	b      bool             // bool, null
	bin    string           // binary: decoded bytes
	prefix netip.Prefix     // ip
	// arn holds the six section patterns of an ARN value; nil when the value
	// is not arn:partition:service:region:account:resource, so it matches
	// nothing. A pointer keeps value small for the other families.
	arn  *[6]wildcard.Pattern
	vars []part
}

// Compile compiles one condition. operator is the full operator name as
// written ("ForAnyValue:StringLikeIfExists"), key the condition key, values
// its values as strings (a JSON number or boolean in the policy is passed in
// its JSON text form). vars enables policy variables (${...}) in the values of
// String and Arn operators; it is true for policies with Version 2012-10-17
// and false for 2008-10-17, where "${" is literal text.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
//
// The error, if any, is an *OperatorError.
func Compile(operator, key string, values []string, vars bool) (*Condition, error) {
	op, reason := parseOperator(operator)
	if reason != "" {
		return nil, &OperatorError{Operator: operator, Key: key, Reason: reason}
	}
	if key == "" {
		return nil, &OperatorError{Operator: operator, Reason: "missing condition key"}
	}
	if len(values) == 0 {
		return nil, &OperatorError{Operator: operator, Key: key, Reason: "no values"}
	}
	c := &Condition{operator: operator, key: key, lkey: lowerASCII(key), op: op, values: make([]value, len(values))}
	// Variables are substituted only in String and ARN comparisons.
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-wheretouse
	useVars := vars && (op.def.fam == famString || op.def.fam == famARN)
	for i, raw := range values {
		v, reason := compileValue(op.def, raw, useVars)
		if reason != "" {
			return nil, &OperatorError{Operator: operator, Key: key, Value: raw, Reason: reason}
		}
		if v.vars != nil {
			c.hasVars = true
		}
		c.values[i] = v
	}
	return c, nil
}

func compileValue(def opDef, raw string, useVars bool) (v value, reason string) {
	v.raw = raw
	if useVars && strings.Contains(raw, "${") {
		if parts, ok := parseVars(raw); ok {
			v.vars = parts
			return v, ""
		}
	}
	switch def.fam {
	case famString:
		v.str = raw
		if def.cmp == cmpLike {
			v.glob = wildcard.Compile(raw, false)
		}
	case famNumeric:
		n, ok := parseNumber(raw)
		if !ok {
			return v, "not a number"
		}
		v.num = n
	case famDate:
		t, ok := parseDate(raw)
		if !ok {
			return v, "not a date (want ISO 8601 such as 2020-01-01T00:00:00Z, or epoch seconds)"
		}
		v.t = t
	case famBool, famNull:
		b, ok := parseBool(raw)
		if !ok {
			return v, `not a boolean (want "true" or "false")`
		}
		v.b = b
	case famBinary:
		dec, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return v, "not base64"
		}
		v.bin = string(dec)
		v.str = base64.StdEncoding.EncodeToString(dec)
	case famIP:
		p, ok := parseCIDR(raw)
		if !ok {
			return v, "not an IP address or CIDR block"
		}
		v.prefix = p
	case famARN:
		if secs, ok := splitARN(raw); ok {
			v.arn = new([6]wildcard.Pattern)
			for i, s := range secs {
				v.arn[i] = wildcard.Compile(s, false)
			}
		}
		// A value that is not arn:partition:service:region:account:resource
		// (such as "*") matches nothing: the ARN operators compare section by
		// section, and a '*' must not silently span sections. The policy
		// validator reports such values.
	}
	return v, ""
}

// Key returns the condition key as written in the policy.
func (c *Condition) Key() string { return c.key }

// Operator returns the operator as written in the policy.
func (c *Condition) Operator() string { return c.operator }

// Values returns the policy values as written.
func (c *Condition) Values() []string {
	out := make([]string, len(c.values))
	for i := range c.values {
		out[i] = c.values[i].raw
	}
	return out
}

// IfExists reports whether the operator has the IfExists suffix.
func (c *Condition) IfExists() bool { return c.op.ifExists }

// SetQualifier returns "ForAllValues", "ForAnyValue" or "".
func (c *Condition) SetQualifier() string {
	switch c.op.qual {
	case qualForAll:
		return "ForAllValues"
	case qualForAny:
		return "ForAnyValue"
	}
	return ""
}

// HasVariables reports whether any value uses a policy variable.
func (c *Condition) HasVariables() bool { return c.hasVars }

// Evaluate reports whether the condition holds for ctx. When the condition
// key is absent from ctx (or a policy variable's key is, without a default),
// and missing is not nil, the key is appended to *missing unless already
// there; the policy simulator reports these as MissingContextValues.
//
// The rules, from the condition operator reference:
//   - Key absent: the condition is false, except that a negated operator
//     (StringNotEquals, ArnNotLike, NotIpAddress, ...) is true, any
//     ...IfExists operator is true, and ForAllValues: is true (vacuous truth)
//     while ForAnyValue: is false. A key present with no values is treated
//     as absent ("empty data set").
//   - Without a set qualifier, the condition holds when any context value
//     matches any policy value (OR); a negated operator holds when none does
//     (NOR).
//   - ForAllValues: every context value matches at least one policy value
//     (for a negated operator: matches none of them).
//   - ForAnyValue: at least one context value matches at least one policy
//     value (for a negated operator: matches none of them).
//   - Null: "true" holds when the key is absent, "false" when it is present.
func (c *Condition) Evaluate(ctx Context, missing *[]string) bool {
	vals, ok := ctx.Values(c.lkey)
	absent := !ok || len(vals) == 0
	if c.op.def.fam == famNull {
		for i := range c.values {
			if c.values[i].b == absent {
				return true
			}
		}
		return false
	}
	if absent {
		if !ok {
			addMissing(missing, c.key)
		}
		switch {
		case c.op.ifExists:
			return true
		case c.op.qual == qualForAll:
			return true
		case c.op.qual == qualForAny:
			return false
		}
		return c.op.def.negated
	}
	neg := c.op.def.negated
	switch c.op.qual {
	case qualForAll:
		for _, v := range vals {
			if c.matchAny(ctx, v, missing) == neg {
				return false
			}
		}
		return true
	case qualForAny:
		for _, v := range vals {
			if c.matchAny(ctx, v, missing) != neg {
				return true
			}
		}
		return false
	}
	for _, v := range vals {
		if c.matchAny(ctx, v, missing) {
			return !neg
		}
	}
	return neg
}

// matchAny reports whether the context value s matches at least one policy
// value. Values are parsed once here, not once per policy value.
func (c *Condition) matchAny(ctx Context, s string, missing *[]string) bool {
	switch c.op.def.fam {
	case famString:
		for i := range c.values {
			v := &c.values[i]
			if v.vars != nil {
				if c.matchVars(ctx, v, s, missing) {
					return true
				}
				continue
			}
			switch c.op.def.cmp {
			case cmpEquals:
				if s == v.str {
					return true
				}
			case cmpEqualsIgnoreCase:
				if strings.EqualFold(s, v.str) {
					return true
				}
			case cmpLike:
				if v.glob.Match(s) {
					return true
				}
			}
		}
	case famNumeric:
		n, ok := parseNumber(s)
		if !ok {
			return false
		}
		for i := range c.values {
			if compare(cmpFloat(n, c.values[i].num), c.op.def.cmp) {
				return true
			}
		}
	case famDate:
		t, ok := parseDate(s)
		if !ok {
			return false
		}
		for i := range c.values {
			if compare(t.Compare(c.values[i].t), c.op.def.cmp) {
				return true
			}
		}
	case famBool:
		b, ok := parseBool(s)
		if !ok {
			return false
		}
		for i := range c.values {
			if b == c.values[i].b {
				return true
			}
		}
	case famBinary:
		for i := range c.values {
			if s == c.values[i].str {
				return true
			}
		}
		// Not in canonical form: decode (rare, may allocate).
		if dec, err := base64.StdEncoding.DecodeString(s); err == nil {
			for i := range c.values {
				if string(dec) == c.values[i].bin {
					return true
				}
			}
		}
	case famIP:
		a, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		// An IPv4 address written as ::ffff:a.b.c.d is still that IPv4
		// address; without Unmap it would escape an IPv4 NotIpAddress deny.
		a = a.Unmap().WithZone("")
		for i := range c.values {
			if c.values[i].prefix.Contains(a) {
				return true
			}
		}
	case famARN:
		secs, ok := splitARN(s)
		for i := range c.values {
			v := &c.values[i]
			if v.vars != nil {
				if c.matchVars(ctx, v, s, missing) {
					return true
				}
				continue
			}
			if ok && v.arn != nil && matchARN(v.arn, &secs) {
				return true
			}
		}
	}
	return false
}

func matchARN(p *[6]wildcard.Pattern, s *[6]string) bool {
	for i := range p {
		if !p[i].Match(s[i]) {
			return false
		}
	}
	return true
}

// compare applies cmp to the sign of a comparison (-1, 0, +1).
func compare(sign int, cmp cmpKind) bool {
	switch cmp {
	case cmpEquals:
		return sign == 0
	case cmpLess:
		return sign < 0
	case cmpLessEquals:
		return sign <= 0
	case cmpGreater:
		return sign > 0
	case cmpGreaterEquals:
		return sign >= 0
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func addMissing(missing *[]string, key string) {
	if missing == nil {
		return
	}
	for _, k := range *missing {
		if k == key {
			return
		}
	}
	*missing = append(*missing, key)
}

// splitARN splits s on its first five colons. Policy variables are not
// special here: by the time an ARN is split, variables have been resolved or
// the value has none.
func splitARN(s string) (secs [6]string, ok bool) {
	if !strings.HasPrefix(s, "arn:") {
		return secs, false
	}
	rest := s
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return secs, false
		}
		secs[i], rest = rest[:j], rest[j+1:]
	}
	secs[5] = rest
	return secs, true
}

// parseNumber accepts an optionally signed decimal integer or fraction. It
// rejects the forms strconv.ParseFloat also takes (hex, exponents, "Inf",
// "NaN", underscores) so that a policy's number means what it reads as, and
// it never allocates (ParseFloat allocates its error).
func parseNumber(s string) (float64, bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits, dot := 0, false
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// dateLayouts are the ISO 8601 forms accepted, most common first.
var dateLayouts = []string{
	time.RFC3339Nano, // 2020-01-01T00:00:00Z, with optional fraction and offset
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999", // no zone: UTC
	"2006-01-02",
}

// parseDate accepts ISO 8601 dates and times and epoch seconds, the two forms
// documented for the Date operators.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if isDigits(s) {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil || sec > 1<<40 { // beyond year 36000: not a real date
			return time.Time{}, false
		}
		return time.Unix(sec, 0).UTC(), true
	}
	if len(s) < 10 || s[4] != '-' {
		return time.Time{}, false
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// parseBool accepts "true" and "false" in any letter case.
func parseBool(s string) (bool, bool) {
	switch {
	case wildcard.EqualFoldASCII(s, "true"):
		return true, true
	case wildcard.EqualFoldASCII(s, "false"):
		return false, true
	}
	return false, false
}

// parseCIDR accepts a CIDR block or a single address (a /32 or /128).
// Host bits are masked off, so 203.0.113.7/24 means 203.0.113.0/24.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress
func parseCIDR(s string) (netip.Prefix, bool) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// lowerASCII lower-cases ASCII letters only. Keys are compared this way on
// both sides (MapContext stores keys so), which keeps lookups allocation-free.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
