package condition

import (
	"sort"
	"strconv"
	"strings"
)

// family groups operators that compile and compare values the same way.
type family uint8

const (
	famString family = iota + 1
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famARN
	famNull
)

// cmpKind is the comparison an operator applies within its family.
type cmpKind uint8

const (
	cmpEquals cmpKind = iota + 1
	cmpEqualsIgnoreCase
	cmpLike
	cmpLess
	cmpLessEquals
	cmpGreater
	cmpGreaterEquals
)

// opDef describes a base operator (without set qualifier or IfExists).
type opDef struct {
	fam     family
	cmp     cmpKind
	negated bool // a "Not" operator: true when no value matches (NOR)
}

// baseOperators is every condition operator in the IAM reference, without
// the ForAllValues:/ForAnyValue: prefixes and the IfExists suffix.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
//
// Operator names are matched exactly as documented: an unknown spelling is an
// error at compile time rather than a condition that silently never applies.
var baseOperators = map[string]opDef{
	"StringEquals":              {famString, cmpEquals, false},
	"StringNotEquals":           {famString, cmpEquals, true},
	"StringEqualsIgnoreCase":    {famString, cmpEqualsIgnoreCase, false},
	"StringNotEqualsIgnoreCase": {famString, cmpEqualsIgnoreCase, true},
	"StringLike":                {famString, cmpLike, false},
	"StringNotLike":             {famString, cmpLike, true},

	"NumericEquals":            {famNumeric, cmpEquals, false},
	"NumericNotEquals":         {famNumeric, cmpEquals, true},
	"NumericLessThan":          {famNumeric, cmpLess, false},
	"NumericLessThanEquals":    {famNumeric, cmpLessEquals, false},
	"NumericGreaterThan":       {famNumeric, cmpGreater, false},
	"NumericGreaterThanEquals": {famNumeric, cmpGreaterEquals, false},

	"DateEquals":            {famDate, cmpEquals, false},
	"DateNotEquals":         {famDate, cmpEquals, true},
	"DateLessThan":          {famDate, cmpLess, false},
	"DateLessThanEquals":    {famDate, cmpLessEquals, false},
	"DateGreaterThan":       {famDate, cmpGreater, false},
	"DateGreaterThanEquals": {famDate, cmpGreaterEquals, false},

	"Bool":         {famBool, cmpEquals, false},
	"BinaryEquals": {famBinary, cmpEquals, false},

	"IpAddress":    {famIP, cmpEquals, false},
	"NotIpAddress": {famIP, cmpEquals, true},

	// ArnEquals and ArnLike behave identically: both compare the six
	// colon-separated sections one by one, each allowing '*' and '?'.
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
	"ArnEquals":    {famARN, cmpLike, false},
	"ArnLike":      {famARN, cmpLike, false},
	"ArnNotEquals": {famARN, cmpLike, true},
	"ArnNotLike":   {famARN, cmpLike, true},

	"Null": {famNull, cmpEquals, false},
}

// Set qualifiers and the IfExists suffix.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists
const (
	prefixForAll = "ForAllValues:"
	prefixForAny = "ForAnyValue:"
	suffixExists = "IfExists"
)

type qualifier uint8

const (
	qualNone qualifier = iota
	qualForAll
	qualForAny
)

// parsedOp is an operator name taken apart.
type parsedOp struct {
	def      opDef
	qual     qualifier
	ifExists bool
}

// parseOperator splits op into qualifier, base operator and IfExists. reason
// is empty on success.
func parseOperator(op string) (p parsedOp, reason string) {
	name := op
	switch {
	case strings.HasPrefix(name, prefixForAll):
		p.qual, name = qualForAll, name[len(prefixForAll):]
	case strings.HasPrefix(name, prefixForAny):
		p.qual, name = qualForAny, name[len(prefixForAny):]
	}
	def, ok := baseOperators[name]
	if !ok && strings.HasSuffix(name, suffixExists) {
		def, ok = baseOperators[name[:len(name)-len(suffixExists)]]
		p.ifExists = ok
	}
	if !ok {
		return p, "unknown condition operator" + suggest(op)
	}
	// Null tests existence itself, so "NullIfExists" and a set-qualified Null
	// are meaningless; IAM rejects them.
	if def.fam == famNull && p.ifExists {
		return p, "Null cannot take the IfExists suffix"
	}
	if def.fam == famNull && p.qual != qualNone {
		return p, "Null cannot take a ForAllValues:/ForAnyValue: qualifier"
	}
	p.def = def
	return p, ""
}

// IsKnownOperator reports whether op is a valid condition operator, including
// its set-qualified and IfExists forms ("ForAnyValue:StringLikeIfExists").
func IsKnownOperator(op string) bool {
	_, reason := parseOperator(op)
	return reason == ""
}

// Operators returns the base operator names in sorted order (without
// qualifiers or IfExists), for validators and documentation.
func Operators() []string {
	names := make([]string, 0, len(baseOperators))
	for n := range baseOperators {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// suggest returns a " (did you mean X?)" hint when op differs from a known
// operator only in letter case, the most common mistake.
func suggest(op string) string {
	name := op
	for _, p := range []string{prefixForAll, prefixForAny} {
		if len(name) >= len(p) && strings.EqualFold(name[:len(p)], p) {
			name = name[len(p):]
		}
	}
	for n := range baseOperators {
		if strings.EqualFold(name, n) || strings.EqualFold(name, n+suffixExists) {
			return " (operator names are case-sensitive: did you mean " + strconv.Quote(n) + "?)"
		}
	}
	return ""
}
