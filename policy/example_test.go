package policy_test

import (
	"fmt"

	"github.com/persona-iam/persona/policy"
	"github.com/persona-iam/persona/policy/condition"
)

// The trust policy from issue 2, with its missing comma.
func ExampleParse() {
	_, err := policy.Parse([]byte(`{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow"
    "Principal": { "Service": "ec2.amazonaws.com" }, "Action": "sts:AssumeRole" } ] }`))
	fmt.Println(err)
	// Output:
	// line 1, column 62: expected ',' or '}' after object member "Effect", found '"' at line 2, column 5
}

func ExampleValidate() {
	doc, _ := policy.Parse([]byte(`{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3::::my-bucket/*"
  }]
}`))
	for _, f := range policy.Validate(doc, policy.KindIdentity) {
		fmt.Println(f)
	}
	// Output:
	// 6:17: WARNING EXTRA_COLON_IN_ARN: resource "arn:aws:s3::::my-bucket/*" has one colon too many; did you mean "arn:aws:s3:::my-bucket/*"? (Statement[0].Resource)
}

// Evaluating a role's trust policy for sts:AssumeRole: the trust policy is
// the resource-based policy and the role is the resource.
func ExampleEvaluate_trustPolicy() {
	trust := policy.MustCompile([]byte(`{"Version": "2012-10-17", "Statement": [{
		"Sid": "Vendor", "Effect": "Allow", "Principal": {"AWS": "444455556666"}, "Action": "sts:AssumeRole",
		"Condition": {"StringEquals": {"sts:ExternalId": "abc-123"}}}]}`), policy.KindTrust, "trust:app")
	caller := policy.MustCompile([]byte(`{"Version": "2012-10-17", "Statement": [{
		"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}`), policy.KindIdentity, "bob-policy")
	req := &policy.Request{
		Principal:       policy.Caller{Type: policy.CallerUser, ARN: "arn:aws:iam::444455556666:user/bob", Account: "444455556666"},
		Action:          "sts:AssumeRole",
		Resource:        "arn:aws:iam::111122223333:role/app",
		ResourceAccount: "111122223333",
	}
	set := &policy.Set{Identity: []*policy.Policy{caller}, Resource: trust}
	res := policy.Evaluate(set, req)
	fmt.Println(res.Decision, res.Reason.Message(req.Action), res.Missing)

	req.Context = condition.NewMapContext(map[string][]string{"sts:ExternalId": {"abc-123"}})
	res = policy.Evaluate(set, req)
	fmt.Println(res.Decision, len(res.Matched))
	// Output:
	// implicitDeny because no resource-based policy allows the sts:AssumeRole action [sts:ExternalId]
	// allowed 2
}
