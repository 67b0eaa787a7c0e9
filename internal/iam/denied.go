package iam

import (
	"errors"
	"strings"

	"github.com/persona-iam/persona/internal/authz"
)

// shown makes an AccessDenied error name the resource as IAM does when it manages a user, group, role, instance
// profile or managed policy: "on resource: user bob", "group admins", "role MyRole", "instance profile web",
// "policy arn:aws:iam::aws:policy/ReadOnlyAccess".
// Creation and the simulator keep the ARN ("on resource: arn:aws:iam::111122223333:role/MyRole"), as AWS does.
// Other errors pass through unchanged.
func shown(err error, kind, name string) error {
	var d *authz.DeniedError
	if errors.As(err, &d) {
		d.Shown = kind + " " + name
	}
	return err
}

// showsARN reports whether AWS names the principal by its ARN in an AccessDenied message for action: the policy
// simulator's operations do.
func showsARN(action string) bool {
	return strings.HasPrefix(action, "Simulate") || strings.HasPrefix(action, "GetContextKeys")
}
