package awsquery

// Operation describes one operation of a service, from its model: for the server's routing, for documentation
// and for compatibility reports.
type Operation struct {
	// Name is the operation's name, the Query protocol's Action ("CreateRole").
	Name string
	// Input and Output are the model's shape names ("CreateRoleRequest"); "" when the model has none.
	Input, Output string
	// Errors are the error codes the model says the operation may return, beyond the common ones.
	Errors []string
	// NoAuth reports whether the operation may be called unsigned (AssumeRoleWithWebIdentity): the model's
	// "auth" is smithy.api#noAuth.
	NoAuth bool
}
