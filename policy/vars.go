package policy

import (
	"strings"
	"unicode/utf8"

	"github.com/persona-iam/persona/policy/condition"
)

// Policy variables in Resource and NotResource.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
//
// Syntax: ${key}, ${key, 'default'} (two single quotes inside the default
// stand for one), and the escapes ${*}, ${?} and ${$} for a literal '*', '?'
// or '$'. The condition package substitutes variables in condition values
// itself; this file covers the resource elements.
//
// Security: a substituted value is matched literally. A user whose tag value
// is "*" must not turn "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*" into
// a pattern that matches every team's prefix, so '*' and '?' coming from the
// request context never act as wildcards.

// vpart is one piece of a resource pattern that contains variables.
type vpart struct {
	text    string // literal text; '*' and '?' are wildcards unless literal
	literal bool   // an escape: text has no wildcard meaning
	isVar   bool
	name    string // key as written, for MissingContextValues
	key     string // key in ASCII lower case, for Context.Values
	def     string
	hasDef  bool
}

// parseVariables splits s into parts. It returns nil when s holds no
// well-formed variable; a malformed "${" stays literal text, as in IAM.
func parseVariables(s string) []vpart {
	var parts []vpart
	lit := 0
	found := false
	for i := 0; i < len(s); {
		if s[i] != '$' || i+1 >= len(s) || s[i+1] != '{' {
			i++
			continue
		}
		p, n, ok := parseVariable(s[i:])
		if !ok {
			i++
			continue
		}
		if lit < i {
			parts = append(parts, vpart{text: s[lit:i]})
		}
		parts = append(parts, p)
		found = true
		i += n
		lit = i
	}
	if !found {
		return nil
	}
	if lit < len(s) {
		parts = append(parts, vpart{text: s[lit:]})
	}
	return parts
}

// parseVariable parses "${...}" at the start of s.
func parseVariable(s string) (vpart, int, bool) {
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return vpart{}, 0, false
	}
	inner := s[2:end]
	switch inner {
	case "*", "?", "$":
		return vpart{text: inner, literal: true}, end + 1, true
	}
	name, def, hasDef := inner, "", false
	if c := strings.IndexByte(inner, ','); c >= 0 {
		name = inner[:c]
		// The default is single-quoted and may itself contain '}', so scan
		// for its closing quote from the comma rather than trusting end.
		rest := s[2+c+1:]
		rest = strings.TrimLeft(rest, " ")
		if !strings.HasPrefix(rest, "'") {
			return vpart{}, 0, false
		}
		var b strings.Builder
		i := 1
		for {
			if i >= len(rest) {
				return vpart{}, 0, false
			}
			if rest[i] == '\'' {
				if i+1 < len(rest) && rest[i+1] == '\'' {
					b.WriteByte('\'')
					i += 2
					continue
				}
				break
			}
			b.WriteByte(rest[i])
			i++
		}
		j := i + 1
		for j < len(rest) && rest[j] == ' ' {
			j++
		}
		if j >= len(rest) || rest[j] != '}' {
			return vpart{}, 0, false
		}
		def, hasDef = b.String(), true
		end = len(s) - len(rest) + j
	}
	name = strings.TrimSpace(name)
	if name == "" || strings.ContainsAny(name, " '${") {
		return vpart{}, 0, false
	}
	return vpart{isVar: true, name: name, key: lowerASCII(name), def: def, hasDef: hasDef}, end + 1, true
}

// matchVariables reports whether s matches the pattern parts after
// substituting variables from ctx. A variable whose key is absent uses its
// default; without a default, or when the key has several values, the
// pattern matches nothing (and the key is recorded as missing).
func matchVariables(parts []vpart, ctx condition.Context, s string, missing *[]string) bool {
	var pbuf [256]byte
	var lbuf [256]bool
	pat, lit := pbuf[:0], lbuf[:0]
	add := func(t string, literal bool) {
		pat = append(pat, t...)
		for range len(t) {
			lit = append(lit, literal)
		}
	}
	for i := range parts {
		p := &parts[i]
		if !p.isVar {
			add(p.text, p.literal)
			continue
		}
		vals, ok := ctx.Values(p.key)
		switch {
		case ok && len(vals) == 1:
			add(vals[0], true)
		case ok && len(vals) > 1:
			// Variables stand for single values; IAM does not expand a
			// multi-valued key into several patterns.
			return false
		default:
			if !ok {
				addMissing(missing, p.name)
			}
			if !p.hasDef {
				return false
			}
			add(p.def, true)
		}
	}
	return globMask(pat, lit, s)
}

// globMask is wildcard matching where pat[i] is a wildcard only when
// !lit[i]. It uses the same linear backtracking as package wildcard, so it
// cannot be driven into exponential time.
func globMask(pat []byte, lit []bool, s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(pat) {
			c := pat[pi]
			switch {
			case c == '*' && !lit[pi]:
				starP, starS = pi, si
				pi++
				continue
			case c == '?' && !lit[pi]:
				pi++
				si += runeLen(s, si)
				continue
			case c == s[si]:
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
	for pi < len(pat) && pat[pi] == '*' && !lit[pi] {
		pi++
	}
	return pi == len(pat)
}

func runeLen(s string, i int) int {
	if s[i] < utf8.RuneSelf {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return n
}

// addMissing appends key to *missing unless it is already there (ignoring
// case, as condition keys are case-insensitive).
func addMissing(missing *[]string, key string) {
	if missing == nil {
		return
	}
	for _, k := range *missing {
		if equalFold(k, key) {
			return
		}
	}
	*missing = append(*missing, key)
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lowerByte(b[j])
			}
			return string(b)
		}
	}
	return s
}
