package server

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/persona-iam/persona/internal/audit"
)

// TestOrganizationsAudited checks that Organizations calls reach the trail as CloudTrail records them: event
// source organizations.amazonaws.com, the account's email and name hidden, reads marked read-only, denied calls
// with their error code; and that LookupEvents finds them.
func TestOrganizationsAudited(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			org := e.orgsAs(e.root)
			must[*organizations.CreateOrganizationOutput](t)(org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}))
			e.createAccount(t, org, "audited", "audited@example.com")
			must[*organizations.ListAccountsOutput](t)(org.ListAccounts(ctx, &organizations.ListAccountsInput{MaxResults: aws.Int32(5)}))
			nobody := e.userWithKey("nobody")
			_, err := e.orgsAs(nobody).ListAccounts(ctx, &organizations.ListAccountsInput{})
			apiError(t, err, "AccessDeniedException")

			created := e.find(testAccount, "CreateAccount")
			if len(created) != 1 {
				t.Fatalf("CreateAccount records = %d, want 1", len(created))
			}
			c := created[0]
			if c.EventSource != audit.SourceOrganizations || c.ReadOnly || c.ErrorCode != "" || c.UserIdentity.Type != "Root" {
				t.Errorf("CreateAccount record = %+v", c)
			}
			if c.RequestParameters["email"] != audit.Hidden || c.RequestParameters["accountName"] != audit.Hidden {
				t.Errorf("requestParameters = %v, want email and accountName hidden", c.RequestParameters)
			}
			lists := e.find(testAccount, "ListAccounts")
			var ok, denied int
			for _, r := range lists {
				if !r.ReadOnly || r.EventSource != audit.SourceOrganizations {
					t.Errorf("ListAccounts record = %+v", r)
				}
				switch r.ErrorCode {
				case "":
					ok++
					if r.RequestParameters["maxResults"] != float64(5) {
						t.Errorf("requestParameters = %v, want maxResults 5", r.RequestParameters)
					}
				case "AccessDeniedException":
					denied++
					if r.UserIdentity.Type != "IAMUser" || r.UserIdentity.UserName != "nobody" {
						t.Errorf("denied record identity = %+v", r.UserIdentity)
					}
				}
			}
			if ok != 1 || denied != 1 {
				t.Errorf("ListAccounts records: %d ok, %d denied; want 1 and 1", ok, denied)
			}
			if n := len(e.find(testAccount, "DescribeCreateAccountStatus")); n != 1 {
				t.Errorf("DescribeCreateAccountStatus records = %d, want 1", n)
			}

			// LookupEvents by event source finds them.
			out := must[*cloudtrail.LookupEventsOutput](t)(e.cloudtrailAs(e.root).LookupEvents(ctx, &cloudtrail.LookupEventsInput{
				LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String(audit.SourceOrganizations)}},
			}))
			names := map[string]int{}
			for _, ev := range out.Events {
				names[aws.ToString(ev.EventName)]++
			}
			if names["CreateOrganization"] != 1 || names["CreateAccount"] != 1 || names["ListAccounts"] != 2 {
				t.Errorf("LookupEvents(organizations) = %v", names)
			}
		})
	}
}
