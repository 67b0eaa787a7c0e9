package arn

import (
	"strconv"
	"strings"
)

// Severity says how serious a Problem is, in the terms of IAM Access
// Analyzer's policy validation findings.
type Severity uint8

// The severities of a Problem.
const (
	// SeverityError marks an ARN that IAM rejects or that can never match.
	SeverityError Severity = iota + 1
	// SeverityWarning marks an ARN that is accepted but very likely wrong.
	SeverityWarning
)

// String returns "ERROR" or "WARNING", as Access Analyzer names finding types.
func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "ERROR"
	case SeverityWarning:
		return "WARNING"
	}
	return "UNKNOWN"
}

// Problem codes returned by Check. They are stable identifiers that the
// policy validator reports as finding codes.
const (
	CodeMalformed        = "MALFORMED_ARN"
	CodeUnknownPartition = "UNKNOWN_PARTITION"
	CodeInvalidAccount   = "INVALID_ACCOUNT_ID"
	CodeMissingResource  = "MISSING_RESOURCE"
	CodeExtraColon       = "EXTRA_COLON"
	CodeRegionNotAllowed = "REGION_NOT_ALLOWED"
	CodeAccountRequired  = "ACCOUNT_REQUIRED"
)

// Problem is one thing wrong with an ARN.
type Problem struct {
	Severity Severity
	Code     string
	Message  string
}

// Partitions lists the AWS partitions an ARN may name.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
var Partitions = []string{"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}

// IsPartition reports whether p is a known AWS partition name.
func IsPartition(p string) bool {
	for _, q := range Partitions {
		if p == q {
			return true
		}
	}
	return false
}

// Check returns the problems with s as an ARN written in a policy (wildcards
// and policy variables allowed), or nil when there are none. It finds what
// Parse rejects and, beyond that, mistakes that parse but cannot be what the
// author meant: an unknown partition, an account id that is not 12 digits,
// and an S3 ARN with one colon too many ("arn:aws:s3::::bucket/*" parses with
// the resource ":bucket/*", which matches no bucket).
func Check(s string) []Problem {
	a, err := Parse(s)
	if err != nil {
		e := err.(*Error)
		return []Problem{{Severity: SeverityError, Code: e.Code, Message: e.Reason}}
	}
	var ps []Problem
	if !hasWildcard(a.Partition) && !hasVariable(a.Partition) && !IsPartition(a.Partition) {
		ps = append(ps, Problem{SeverityError, CodeUnknownPartition,
			"arn: unknown partition " + strconv.Quote(a.Partition) + " (want one of " + strings.Join(Partitions, ", ") + ")"})
	}
	if !validAccount(a.AccountID) {
		ps = append(ps, Problem{SeverityError, CodeInvalidAccount,
			"arn: account id " + strconv.Quote(a.AccountID) + " must be 12 digits, empty, or a wildcard"})
	}
	// S3 bucket and object ARNs have neither region nor account:
	// arn:aws:s3:::bucket/key. A resource that starts with ':' means an
	// extra colon was typed after the empty sections.
	// https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-arn-format.html
	if strings.HasPrefix(a.Resource, ":") {
		msg := "arn: resource starts with ':'; the ARN has one colon too many"
		if a.Service == "s3" {
			msg += " (S3 ARNs look like arn:" + a.Partition + ":s3:::bucket/key)"
		}
		ps = append(ps, Problem{SeverityWarning, CodeExtraColon, msg})
	}
	return ps
}

// validAccount accepts the account forms IAM accepts in a policy ARN: empty
// (S3, global resources), 12 digits, "aws" (AWS managed policies), a pattern
// containing wildcards, or a policy variable.
func validAccount(s string) bool {
	if s == "" || s == "aws" || hasWildcard(s) || hasVariable(s) {
		return true
	}
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsAccountID reports whether s is a 12-digit AWS account id.
func IsAccountID(s string) bool {
	return len(s) == 12 && s != "aws" && validAccount(s) && !hasWildcard(s) && !hasVariable(s)
}

func hasVariable(s string) bool { return strings.Contains(s, "${") }
