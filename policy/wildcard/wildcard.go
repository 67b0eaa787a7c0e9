// Package wildcard matches strings against IAM glob patterns, in which '*'
// matches any run of characters (including none) and '?' matches exactly one
// character.
//
// IAM uses these globs in Action, NotAction, Resource, NotResource and
// Principal elements and in the StringLike and ArnLike condition operators:
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
//
// A Pattern is compiled once and matched many times; Match never allocates.
package wildcard

import (
	"strings"
	"unicode/utf8"
)

// kind selects the matching strategy chosen at compile time, so the common
// shapes of IAM patterns ("s3:GetObject", "*", "s3:Get*", "*/logs") avoid the
// general backtracking matcher.
type kind uint8

const (
	kindLiteral  kind = iota // no wildcards: equality
	kindAny                  // only '*': matches everything
	kindPrefix               // "lit*"
	kindSuffix               // "*lit"
	kindContains             // "*lit*"
	kindSegments             // '*' only, several literal runs: "a*b*c"
	kindGeneral              // anything with '?'
)

// Pattern is a compiled glob. The zero Pattern matches only the empty string.
// A Pattern is immutable and safe for concurrent use.
type Pattern struct {
	src  string   // the pattern as given
	lit  string   // the literal part for literal/prefix/suffix/contains kinds
	segs []string // kindSegments: the literal runs between stars (first and last may be empty)
	kind kind
	fold bool
}

// Compile compiles pattern. When foldCase is true, matching ignores ASCII
// case only: IAM action names are case-insensitive ("s3:getobject" equals
// "s3:GetObject") while resource ARNs and condition values are not, and
// Unicode case folding is deliberately not applied because AWS documents only
// the ASCII service and action names as case-insensitive.
func Compile(pattern string, foldCase bool) Pattern {
	p := Pattern{src: pattern, fold: foldCase}
	if strings.IndexByte(pattern, '?') >= 0 {
		// Most '?' patterns start with a long literal ("arn:aws:s3:::b/?..."):
		// compare it in one go, then run the general matcher on the rest.
		p.kind = kindGeneral
		p.lit = pattern[:strings.IndexAny(pattern, "*?")]
		return p
	}
	stars := strings.Count(pattern, "*")
	switch {
	case stars == 0:
		p.kind, p.lit = kindLiteral, pattern
	case stars == len(pattern):
		p.kind = kindAny
	case stars == 1 && pattern[len(pattern)-1] == '*':
		p.kind, p.lit = kindPrefix, pattern[:len(pattern)-1]
	case stars == 1 && pattern[0] == '*':
		p.kind, p.lit = kindSuffix, pattern[1:]
	case stars == 2 && pattern[0] == '*' && pattern[len(pattern)-1] == '*':
		p.kind, p.lit = kindContains, pattern[1:len(pattern)-1]
	default:
		p.kind = kindSegments
		p.segs = strings.Split(pattern, "*")
	}
	return p
}

// String returns the pattern as it was given to Compile.
func (p Pattern) String() string { return p.src }

// IsLiteral reports whether the pattern has no wildcard, so that it matches
// exactly one string (up to case when compiled with foldCase).
func (p Pattern) IsLiteral() bool { return p.kind == kindLiteral }

// Match reports whether s matches the whole pattern. '?' consumes one UTF-8
// encoded character of s. Patterns are expected to be valid UTF-8, as policy
// JSON always is.
func (p Pattern) Match(s string) bool {
	switch p.kind {
	case kindLiteral:
		return equal(p.lit, s, p.fold)
	case kindAny:
		return true
	case kindPrefix:
		return len(s) >= len(p.lit) && equal(p.lit, s[:len(p.lit)], p.fold)
	case kindSuffix:
		return len(s) >= len(p.lit) && equal(p.lit, s[len(s)-len(p.lit):], p.fold)
	case kindContains:
		return contains(s, p.lit, p.fold) >= 0
	case kindSegments:
		return matchSegments(p.segs, s, p.fold)
	default:
		n := len(p.lit)
		return len(s) >= n && equal(p.lit, s[:n], p.fold) && match(p.src[n:], s[n:], p.fold)
	}
}

// Match reports whether s matches pattern, case-sensitively. It is the
// uncompiled form of Compile(pattern, false).Match(s).
func Match(pattern, s string) bool { return match(pattern, s, false) }

// MatchFold reports whether s matches pattern ignoring ASCII case.
func MatchFold(pattern, s string) bool { return match(pattern, s, true) }

// match is the general matcher: a linear scan that remembers the last '*'
// and retries from one character further on a mismatch. This runs in
// O(len(pattern)*len(s)) worst case, never exponentially, so a hostile
// pattern such as "*a*a*a*a*b" cannot stall evaluation.
func match(pattern, s string, fold bool) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(pattern) {
			switch c := pattern[pi]; c {
			case '*':
				starP, starS = pi, si
				pi++
				continue
			case '?':
				// '?' is one character, not one byte: step over a whole
				// UTF-8 sequence so "?" matches "é".
				pi++
				si += runeLen(s, si)
				continue
			default:
				if eqByte(c, s[si], fold) {
					pi++
					si++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Backtrack: let the last '*' absorb one more character.
		starS += runeLen(s, starS)
		pi, si = starP+1, starS
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

func runeLen(s string, i int) int {
	if s[i] < utf8.RuneSelf {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return n
}

func eqByte(a, b byte, fold bool) bool {
	if a == b {
		return true
	}
	return fold && lower(a) == lower(b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func equal(a, b string, fold bool) bool {
	if !fold {
		return a == b
	}
	return EqualFoldASCII(a, b)
}

// EqualFoldASCII reports whether a and b are equal ignoring ASCII case. Unlike
// strings.EqualFold it does not apply Unicode folding (so "K" and the Kelvin
// sign stay different), which is what IAM's case-insensitive names need.
func EqualFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] && lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// contains returns the index of the first occurrence of sub in s, or -1.
func contains(s, sub string, fold bool) int {
	if !fold {
		return strings.Index(s, sub)
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if EqualFoldASCII(sub, s[i:i+len(sub)]) {
			return i
		}
	}
	return -1
}

// matchSegments matches a pattern made only of literal runs and '*': the
// first run must be a prefix, the last a suffix, and each middle run is
// taken at its leftmost occurrence. Leftmost is always safe with '*' only,
// because taking a run earlier leaves more room for the runs after it.
func matchSegments(segs []string, s string, fold bool) bool {
	first, last := segs[0], segs[len(segs)-1]
	if len(s) < len(first)+len(last) {
		return false
	}
	if fold {
		if !EqualFoldASCII(first, s[:len(first)]) || !EqualFoldASCII(last, s[len(s)-len(last):]) {
			return false
		}
	} else if first != s[:len(first)] || last != s[len(s)-len(last):] {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, seg := range segs[1 : len(segs)-1] {
		i := contains(s, seg, fold)
		if i < 0 {
			return false
		}
		s = s[i+len(seg):]
	}
	return true
}
