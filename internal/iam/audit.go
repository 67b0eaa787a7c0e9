package iam

import (
	"context"

	"github.com/persona-iam/persona/internal/audit"
)

// respondWith tells the request's audit record how to show the operation's output (CloudTrail's
// responseElements). The record is appended inside the mutation's transaction, before the handler returns its
// output, so fn is called there, after the operation's writes succeeded. CloudTrail shows the output of the
// calls that create an entity; the others' responseElements are null.
func respondWith(ctx context.Context, fn func() any) {
	audit.PendingFor(ctx, audit.SourceIAM).RespondWith(fn)
}
