package policy

import "strconv"

// Pos is a position in a policy document. Line and Column are 1-based;
// Column counts characters. Offset is the 0-based byte offset. The zero Pos
// means "no position" (an element that is absent, or built in code).
type Pos struct {
	Line, Column, Offset int
}

// IsValid reports whether p refers to a place in a document.
func (p Pos) IsValid() bool { return p.Line > 0 }

// String returns "line:column", or "-" for the zero Pos.
func (p Pos) String() string {
	if !p.IsValid() {
		return "-"
	}
	return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Column)
}

// The two policy language versions.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
const (
	// Version2012 is the current language version; it substitutes policy
	// variables.
	Version2012 = "2012-10-17"
	// Version2008 is the original version, the default when a document has
	// no Version element; "${...}" is literal text in it.
	Version2008 = "2008-10-17"
)

// String is a JSON scalar from a policy with its position. Bare reports that
// the value was written as a JSON number or boolean rather than a string,
// which IAM accepts in Condition values ("aws:MultiFactorAuthPresent": true).
type String struct {
	Value string
	Pos   Pos
	Bare  bool
}

// List is an element whose value may be one string or an array of strings
// (Action, NotAction, Resource, NotResource, and principal values).
type List struct {
	Pos    Pos // position of the value (the string or the '[')
	Values []String
}

// Principal is a Principal or NotPrincipal element: either the string "*"
// (Wildcard) or an object mapping principal types to lists.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
type Principal struct {
	Pos      Pos
	Wildcard bool
	Entries  []PrincipalEntry
}

// Principal types a Principal object may use.
const (
	PrincipalAWS           = "AWS"
	PrincipalService       = "Service"
	PrincipalFederated     = "Federated"
	PrincipalCanonicalUser = "CanonicalUser"
)

// PrincipalEntry is one member of a Principal object, such as
// "AWS": ["123456789012", "arn:aws:iam::123456789012:user/bob"].
type PrincipalEntry struct {
	Type   String // "AWS", "Service", "Federated" or "CanonicalUser"
	Values List
}

// ConditionEntry is one condition: an operator, a key and the values, in
// "Condition": {"StringEquals": {"aws:username": ["a", "b"]}}.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
type ConditionEntry struct {
	Operator String
	Key      String
	Values   List
}

// Statement is one statement of a policy. Absent elements are nil (or the
// zero String).
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
type Statement struct {
	Pos Pos // position of the statement's '{'
	// End is the position just after the statement's '}', so that
	// [Pos, End) spans it (the simulator's StartPosition/EndPosition).
	End          Pos
	Sid          String
	Effect       String
	Principal    *Principal
	NotPrincipal *Principal
	Action       *List
	NotAction    *List
	Resource     *List
	NotResource  *List
	// Condition holds the entries in document order; ConditionPos is the
	// position of the Condition object (zero when absent).
	Condition    []ConditionEntry
	ConditionPos Pos
}

// IsAllow reports whether the statement's Effect is "Allow".
func (s *Statement) IsAllow() bool { return s.Effect.Value == EffectAllow }

// Effects.
const (
	EffectAllow = "Allow"
	EffectDeny  = "Deny"
)

// Document is a parsed policy document.
type Document struct {
	Version    String // zero when absent (the language then defaults to 2008-10-17)
	ID         String
	Statements []Statement
	// StatementPos is the position of the Statement element's value.
	StatementPos Pos
	// SingleStatement reports that Statement was written as one object
	// rather than an array; Format keeps that form.
	SingleStatement bool
}

// EffectiveVersion returns the policy language version in force: the
// Version element, or 2008-10-17 when it is absent, as AWS documents.
func (d *Document) EffectiveVersion() string {
	if d.Version.Value == "" {
		return Version2008
	}
	return d.Version.Value
}

// UsesVariables reports whether policy variables are substituted, which
// happens only under Version 2012-10-17.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
func (d *Document) UsesVariables() bool { return d.EffectiveVersion() == Version2012 }

// SyntaxError is returned by Parse for a document that is not valid JSON or
// not a valid policy. Line and Column are 1-based.
type SyntaxError struct {
	Line, Column int
	Offset       int
	Msg          string
}

// Error returns "line L, column C: message".
func (e *SyntaxError) Error() string {
	return "line " + strconv.Itoa(e.Line) + ", column " + strconv.Itoa(e.Column) + ": " + e.Msg
}

// Pos returns the position of the error.
func (e *SyntaxError) Pos() Pos { return Pos{Line: e.Line, Column: e.Column, Offset: e.Offset} }
