package condition

import "strings"

// part is one piece of a policy value that uses variables: literal text from
// the policy (in which '*' and '?' keep their wildcard meaning for StringLike
// and ArnLike), an escape such as ${*} (a literal character), or a variable.
type part struct {
	text    string // the text, for non-variable parts
	literal bool   // text is literal even for Like operators (escapes)
	isVar   bool
	name    string // variable key as written
	key     string // variable key, ASCII lower case
	def     string // default value
	hasDef  bool
}

// parseVars splits raw into parts. It reports false when raw holds no
// well-formed variable, so the value is compiled as plain text. A malformed
// "${" (no closing brace, bad default quoting) stays literal text.
//
// Syntax, from https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html:
// ${key}, ${key, 'default'} (spaces around the key and the comma ignored; two
// single quotes inside the default stand for one), and the escapes ${*}, ${?} and ${$} for
// characters that would otherwise be special.
func parseVars(raw string) ([]part, bool) {
	var parts []part
	found := false
	lit := 0 // start of pending literal text
	for i := 0; i < len(raw); {
		if raw[i] != '$' || i+1 >= len(raw) || raw[i+1] != '{' {
			i++
			continue
		}
		p, n, ok := parseVar(raw[i:])
		if !ok {
			i++
			continue
		}
		if lit < i {
			parts = append(parts, part{text: raw[lit:i]})
		}
		parts = append(parts, p)
		found = true
		i += n
		lit = i
	}
	if !found {
		return nil, false
	}
	if lit < len(raw) {
		parts = append(parts, part{text: raw[lit:]})
	}
	return parts, true
}

// parseVar parses one variable at the start of s ("${...}") and returns it
// with the number of bytes consumed.
func parseVar(s string) (p part, n int, ok bool) {
	i := 2
	skipSpace := func() {
		for i < len(s) && s[i] == ' ' {
			i++
		}
	}
	skipSpace()
	start := i
	for i < len(s) && s[i] != '}' && s[i] != ',' && s[i] != ' ' && s[i] != '\'' {
		i++
	}
	name := s[start:i]
	skipSpace()
	if name == "" || i >= len(s) {
		return p, 0, false
	}
	if s[i] == ',' {
		i++
		skipSpace()
		if i >= len(s) || s[i] != '\'' {
			return p, 0, false
		}
		i++
		var def strings.Builder
		closed := false
		for i < len(s) {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					def.WriteByte('\'')
					i += 2
					continue
				}
				i++
				closed = true
				break
			}
			def.WriteByte(s[i])
			i++
		}
		if !closed {
			return p, 0, false
		}
		p.def, p.hasDef = def.String(), true
		skipSpace()
	}
	if i >= len(s) || s[i] != '}' {
		return p, 0, false
	}
	i++
	switch name {
	case "*", "?", "$":
		if p.hasDef {
			return p, 0, false
		}
		return part{text: name, literal: true}, i, true
	}
	return part{isVar: true, name: name, key: lowerASCII(name), def: p.def, hasDef: p.hasDef}, i, true
}

// resolve substitutes v's variables from ctx into buf (with mask marking
// literal bytes) and reports false when a variable has no value and no
// default: such a policy value matches nothing.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value
func resolve(ctx Context, parts []part, buf []byte, mask []bool, missing *[]string) ([]byte, []bool, bool) {
	for _, p := range parts {
		text, literal := p.text, p.literal
		if p.isVar {
			vals, ok := ctx.Values(p.key)
			// A multivalued key cannot be a variable; treat it as absent.
			switch {
			case ok && len(vals) == 1:
				text = vals[0]
			case p.hasDef:
				text = p.def
			default:
				if !ok {
					addMissing(missing, p.name)
				}
				return buf, mask, false
			}
			// A substituted value is literal: a '*' in a user name must
			// not turn into a wildcard that widens the match.
			literal = true
		}
		buf = append(buf, text...)
		for range len(text) {
			mask = append(mask, literal)
		}
	}
	return buf, mask, true
}

// matchVars reports whether context value s matches policy value v after
// variable substitution.
func (c *Condition) matchVars(ctx Context, v *value, s string, missing *[]string) bool {
	var bufArr [256]byte
	var maskArr [256]bool
	buf, mask, ok := resolve(ctx, v.vars, bufArr[:0], maskArr[:0], missing)
	if !ok {
		return false
	}
	if c.op.def.fam == famARN {
		return matchARNMasked(buf, mask, s)
	}
	switch c.op.def.cmp {
	case cmpEquals:
		return string(buf) == s
	case cmpEqualsIgnoreCase:
		return strings.EqualFold(string(buf), s)
	case cmpLike:
		return globMasked(buf, mask, s)
	}
	return false
}

// matchARNMasked matches an ARN pattern with literal-marked bytes section by
// section. Only colons from the policy text separate sections; a colon that
// came from a variable's value is part of its section.
func matchARNMasked(p []byte, mask []bool, s string) bool {
	secs, ok := splitARN(s)
	var cuts [5]int
	n := 0
	for i := 0; i < len(p) && n < 5; i++ {
		if p[i] == ':' && !mask[i] {
			cuts[n] = i
			n++
		}
	}
	if n < 5 || !ok || !strings.HasPrefix(string(p), "arn:") {
		return false // not an ARN: matches nothing, as without variables
	}
	start := 0
	for i := 0; i < 6; i++ {
		end := len(p)
		if i < 5 {
			end = cuts[i]
		}
		if !globMasked(p[start:end], mask[start:end], secs[i]) {
			return false
		}
		start = end + 1
	}
	return true
}

// globMasked is the wildcard matcher over a pattern in which bytes marked
// literal are never wildcards. Like wildcard.Match it backtracks only to the
// last '*', so it runs in O(len(p)*len(s)).
func globMasked(p []byte, lit []bool, s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch {
			case p[pi] == '*' && !lit[pi]:
				starP, starS = pi, si
				pi++
				continue
			case p[pi] == '?' && !lit[pi]:
				pi++
				si += runeLen(s, si)
				continue
			case p[pi] == s[si]:
				pi++
				si++
				continue
			}
		}
		if starP < 0 {
			return false
		}
		starS += runeLen(s, starS)
		pi, si = starP+1, starS
	}
	for pi < len(p) && p[pi] == '*' && !lit[pi] {
		pi++
	}
	return pi == len(p)
}

func runeLen(s string, i int) int {
	if s[i] < 0x80 {
		return 1
	}
	for n := 1; n < 4 && i+n < len(s); n++ {
		if s[i+n]&0xC0 != 0x80 {
			return n
		}
	}
	if len(s)-i < 4 {
		return len(s) - i
	}
	return 4
}
