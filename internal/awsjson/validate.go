package awsjson

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Matcher matches a string against a model pattern (a *regexp.Regexp or an override).
type Matcher interface {
	MatchString(s string) bool
}

// Constraint is the kind of model constraint a value failed.
type Constraint string

// The constraints the generated validators check.
const (
	ConstraintRequired  Constraint = "required"
	ConstraintMinLength Constraint = "minLength"
	ConstraintMaxLength Constraint = "maxLength"
	ConstraintMinValue  Constraint = "minValue"
	ConstraintMaxValue  Constraint = "maxValue"
	ConstraintPattern   Constraint = "pattern"
	ConstraintEnum      Constraint = "enum"
)

// Violation is one input value that breaks a model constraint.
type Violation struct {
	// Path names the member: "Email", "Tags.0.Key".
	Path string
	// Constraint is what failed.
	Constraint Constraint
	// Detail is the constraint in AWS's words: "Member must have length less than or equal to 64".
	Detail string
	// Sensitive reports whether the member is sensitive, so its value must not be echoed.
	Sensitive bool
	// Value is the offending value as text ("" for a missing one or a sensitive one).
	Value string
}

// String returns the violation as AWS's validation messages phrase it.
func (v Violation) String() string {
	if v.Constraint == ConstraintRequired {
		return "Value null at '" + v.Path + "' failed to satisfy constraint: " + v.Detail
	}
	if v.Sensitive {
		return "Value at '" + v.Path + "' failed to satisfy constraint: " + v.Detail
	}
	return "Value '" + v.Value + "' at '" + v.Path + "' failed to satisfy constraint: " + v.Detail
}

// ValidationError lists every constraint an input breaks. A service turns it into its own error
// (Organizations: InvalidInputException with a Reason); Message is the coral form AWS services share.
type ValidationError struct {
	Violations []Violation
}

// Error returns AWS's "N validation error(s) detected: …" message.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(len(e.Violations)))
	if len(e.Violations) == 1 {
		b.WriteString(" validation error detected: ")
	} else {
		b.WriteString(" validation errors detected: ")
	}
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.String())
	}
	return b.String()
}

// maxViolations bounds how many violations an input collects, so a hostile list of a million bad members costs
// no more than a few.
const maxViolations = 10

// Validator collects violations while generated code walks an input.
type Validator struct {
	violations []Violation
}

// Err returns the violations as a *ValidationError, or nil when there are none.
func (v *Validator) Err() error {
	if len(v.violations) == 0 {
		return nil
	}
	return &ValidationError{Violations: v.violations}
}

// Full reports whether the validator stopped collecting.
func (v *Validator) Full() bool { return len(v.violations) >= maxViolations }

func (v *Validator) add(x Violation) {
	if !v.Full() {
		v.violations = append(v.violations, x)
	}
}

// Path joins a parent path and a member name.
func Path(parent, member string) string {
	if parent == "" {
		return member
	}
	return parent + "." + member
}

// Index joins a parent path and a list index.
func Index(parent string, i int) string { return parent + "." + strconv.Itoa(i) }

// Required records a missing required member.
func (v *Validator) Required(path string) {
	v.add(Violation{Path: path, Constraint: ConstraintRequired, Detail: "Member must not be null"})
}

// String checks a string's length in characters (min or max < 0 for none), pattern (nil for none) and enum
// (nil for none).
func (v *Validator) String(path, s string, min, max int, pattern Matcher, enum []string, sensitive bool) {
	value := s
	if sensitive {
		value = ""
	}
	n := utf8.RuneCountInString(s)
	if min >= 0 && n < min {
		v.add(Violation{Path: path, Constraint: ConstraintMinLength, Value: value, Sensitive: sensitive,
			Detail: "Member must have length greater than or equal to " + strconv.Itoa(min)})
	}
	if max >= 0 && n > max {
		v.add(Violation{Path: path, Constraint: ConstraintMaxLength, Value: value, Sensitive: sensitive,
			Detail: "Member must have length less than or equal to " + strconv.Itoa(max)})
	}
	if pattern != nil && !pattern.MatchString(s) {
		v.add(Violation{Path: path, Constraint: ConstraintPattern, Value: value, Sensitive: sensitive,
			Detail: "Member must satisfy regular expression pattern"})
	}
	if enum != nil {
		for _, e := range enum {
			if s == e {
				return
			}
		}
		v.add(Violation{Path: path, Constraint: ConstraintEnum, Value: value, Sensitive: sensitive,
			Detail: "Member must satisfy enum value set: [" + strings.Join(enum, ", ") + "]"})
	}
}

// Count checks a list's or map's number of members (min or max < 0 for none).
func (v *Validator) Count(path string, n, min, max int) {
	if min >= 0 && n < min {
		v.add(Violation{Path: path, Constraint: ConstraintMinLength, Value: fmt.Sprintf("%d members", n),
			Detail: "Member must have length greater than or equal to " + strconv.Itoa(min)})
	}
	if max >= 0 && n > max {
		v.add(Violation{Path: path, Constraint: ConstraintMaxLength, Value: fmt.Sprintf("%d members", n),
			Detail: "Member must have length less than or equal to " + strconv.Itoa(max)})
	}
}

// Int checks a number's range; hasMin and hasMax say which bounds apply.
func (v *Validator) Int(path string, n int64, hasMin bool, min int64, hasMax bool, max int64) {
	if hasMin && n < min {
		v.add(Violation{Path: path, Constraint: ConstraintMinValue, Value: strconv.FormatInt(n, 10),
			Detail: "Member must have value greater than or equal to " + strconv.FormatInt(min, 10)})
	}
	if hasMax && n > max {
		v.add(Violation{Path: path, Constraint: ConstraintMaxValue, Value: strconv.FormatInt(n, 10),
			Detail: "Member must have value less than or equal to " + strconv.FormatInt(max, 10)})
	}
}
