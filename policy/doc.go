// Package policy parses, validates, compiles and evaluates AWS IAM JSON
// policy documents, with AWS's documented evaluation logic.
//
// The pipeline:
//
//	doc, err := policy.Parse(data)               // AST with line:column positions; *SyntaxError
//	findings := policy.Validate(doc, policy.KindTrust) // Access Analyzer-style findings
//	p, err := policy.Compile(doc, policy.KindIdentity, "arn:aws:iam::111122223333:policy/x")
//	res := policy.Evaluate(&policy.Set{Identity: []*policy.Policy{p}}, &policy.Request{...})
//
// Check combines Parse and Validate the way IAM's CreatePolicy and
// CreateRole do, returning an error suitable for a MalformedPolicyDocument
// message.
//
// A compiled Policy is immutable and safe for concurrent use. Evaluate does
// not allocate for policies without policy variables when no context key is
// missing and a single statement decides; EvaluateInto reuses a Result for
// loops.
//
// The package depends only on the standard library and on the module's own
// arn, policy/condition and policy/wildcard packages, so other projects can
// import it alone.
//
// References:
//   - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
//   - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
//   - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
//   - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
//   - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
//   - https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html
package policy
