// Package arn parses, checks and builds Amazon Resource Names.
//
// The format is documented at
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html:
//
//	arn:partition:service:region:account-id:resource
//
// The resource section may itself contain colons (for example
// "arn:aws:logs:us-east-1:123456789012:log-group:my-group:*"), so an ARN is
// split on its first five colons only, which is also how IAM reads the
// wildcard-bearing ARNs found in policies.
package arn

import (
	"strconv"
	"strings"
)

// ARN is an Amazon Resource Name split into its sections. The sections are
// kept exactly as written: ARNs are case-sensitive and may hold policy
// wildcards ('*', '?') and variables when they come from a policy.
type ARN struct {
	Partition string // "aws", "aws-cn", "aws-us-gov", ...
	Service   string // "iam", "s3", "sts", ...
	Region    string // empty for global services such as IAM and S3 buckets
	AccountID string // 12 digits, empty for S3 buckets, "aws" for AWS managed policies
	Resource  string // everything after the fifth colon; may contain ':' and '/'
}

// Error is returned by Parse. Reason says what is wrong ("arn: not enough
// sections"); Input is the rejected text.
type Error struct {
	Input  string
	Reason string
	// Code is the Problem code Check reports for this error (CodeMalformed,
	// CodeMissingResource, ...), so callers never need to match on Reason.
	Code string
}

// Error returns the reason followed by the quoted input.
func (e *Error) Error() string { return e.Reason + ": " + strconv.Quote(e.Input) }

const prefix = "arn:"

// Parse splits s into an ARN. It checks the structure (the "arn:" prefix,
// six sections, a partition, a service and a resource) and, for the global
// services whose ARNs AWS documents as region-less (IAM, STS), that the region
// is empty and the account is present. Wildcards are accepted in every section
// so that policy resource patterns parse. Parse does not judge whether a
// partition or account id is valid; Check does.
func Parse(s string) (ARN, error) {
	if !strings.HasPrefix(s, prefix) {
		return ARN{}, &Error{Input: s, Reason: `arn: must start with "arn:"`, Code: CodeMalformed}
	}
	rest := s[len(prefix):]
	var sec [4]string
	for i := range sec {
		j := nextColon(rest)
		if j < 0 {
			return ARN{}, &Error{Input: s, Reason: "arn: not enough sections", Code: CodeMalformed}
		}
		sec[i], rest = rest[:j], rest[j+1:]
	}
	a := ARN{Partition: sec[0], Service: sec[1], Region: sec[2], AccountID: sec[3], Resource: rest}
	switch {
	case a.Partition == "":
		return ARN{}, &Error{Input: s, Reason: "arn: missing partition", Code: CodeMalformed}
	case a.Service == "":
		return ARN{}, &Error{Input: s, Reason: "arn: missing service", Code: CodeMalformed}
	case a.Resource == "":
		return ARN{}, &Error{Input: s, Reason: "arn: missing resource", Code: CodeMissingResource}
	}
	// IAM and STS are global: their ARNs never carry a region, and always
	// carry the owning account (or "aws" for AWS managed policies).
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns
	if a.Service == "iam" || a.Service == "sts" {
		if a.Region != "" && !hasWildcard(a.Region) {
			return ARN{}, &Error{Input: s, Reason: "arn: " + a.Service + " ARNs must have an empty region", Code: CodeRegionNotAllowed}
		}
		if a.AccountID == "" {
			return ARN{}, &Error{Input: s, Reason: "arn: " + a.Service + " ARNs must have an account id", Code: CodeAccountRequired}
		}
	}
	return a, nil
}

// IsARN reports whether s parses as an ARN.
func IsARN(s string) bool {
	_, err := Parse(s)
	return err == nil
}

// String returns the ARN in its colon-separated text form. For any ARN
// returned by Parse, Parse(a.String()) returns a again.
func (a ARN) String() string {
	var b strings.Builder
	b.Grow(len(prefix) + len(a.Partition) + len(a.Service) + len(a.Region) + len(a.AccountID) + len(a.Resource) + 4)
	b.WriteString(prefix)
	b.WriteString(a.Partition)
	b.WriteByte(':')
	b.WriteString(a.Service)
	b.WriteByte(':')
	b.WriteString(a.Region)
	b.WriteByte(':')
	b.WriteString(a.AccountID)
	b.WriteByte(':')
	b.WriteString(a.Resource)
	return b.String()
}

// Split returns the six colon-separated sections of s ("arn", partition,
// service, region, account, resource) without validating them, and whether s
// has at least six sections. The resource section keeps any further colons.
// It does not allocate; the ArnLike condition operator uses it to compare an
// ARN section by section.
func Split(s string) (sections [6]string, ok bool) {
	rest := s
	for i := 0; i < 5; i++ {
		j := nextColon(rest)
		if j < 0 {
			return sections, false
		}
		sections[i], rest = rest[:j], rest[j+1:]
	}
	sections[5] = rest
	return sections, true
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?") }

// nextColon returns the index of the first ':' in s that is not inside a
// policy variable, or -1. Variables such as ${aws:PrincipalAccount} contain a
// colon of their own, and IAM allows them in any section of a policy's ARN.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
func nextColon(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ':':
			return i
		case '$':
			if i+1 < len(s) && s[i+1] == '{' {
				if end := strings.IndexByte(s[i:], '}'); end > 0 {
					i += end
				}
			}
		}
	}
	return -1
}
