package compat

// Note says what an implemented operation still lacks (Partial), or why one is not implemented yet.
type Note struct {
	Partial bool
	Text    string
}

// notes is kept by hand, keyed "service:Operation". Say precisely what is missing, so a user knows before relying
// on it; remove the entry when the gap is closed.
var notes = map[string]Note{
	"iam:SimulateCustomPolicy": {Partial: true, Text: "EvalDecisionDetails (the cross-account summary) is not returned."},
	"iam:SimulatePrincipalPolicy": {Partial: true, Text: "EvalDecisionDetails (the cross-account summary) is not returned; " +
		"OrganizationsDecisionDetail appears only when an SCP source is configured (iam.Config.SCPs)."},
	"iam:GetPolicy": {Partial: true, Text: "An AWS-managed policy comes without its Description (the shipped data holds " +
		"names, paths, versions, dates and documents)."},
	"iam:GetUser": {Partial: true, Text: "Called by the root user without UserName, the response carries empty Path and " +
		"UserName elements, which AWS leaves out."},
	"iam:GetPolicyVersion": {Partial: true, Text: "An AWS-managed policy has only its current (default) version; " +
		"AWS also keeps its older versions."},
	"iam:ListPolicyVersions":                 {Partial: true, Text: "An AWS-managed policy lists only its current (default) version."},
	"iam:CreateServiceLinkedRole":            {Text: "Service-linked roles may wait: no AWS service runs against Persona to use them."},
	"iam:DeleteServiceLinkedRole":            {Text: "Service-linked roles may wait."},
	"iam:GetServiceLinkedRoleDeletionStatus": {Text: "Service-linked roles may wait."},
}

// servedWithoutHandler lists operations a service serves without a handler type to reflect on: the CloudTrail
// JSON 1.1 endpoint in internal/server/cloudtrail.go answers LookupEvents itself. Keep it to what that code
// dispatches; a service with a handler type belongs in handlers instead.
var servedWithoutHandler = map[string]bool{
	"cloudtrail:LookupEvents": true,
}
