package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/policy"
)

// GenerateOptions says whose activity Generate turns into a policy.
type GenerateOptions struct {
	// Principal is the ARN of an IAM user, a role (its sessions' activity counts) or a role session.
	Principal string
	// Since and Until bound the activity read.
	Since, Until time.Time
	// MaxResourcesPerAction is how many distinct resources of one type an action may list before they are
	// replaced by a wildcard over that type (arn:…:role/*); 10 when 0.
	MaxResourcesPerAction int
}

// Generated is a policy written from a principal's activity.
type Generated struct {
	// Policy is the identity-based policy document (JSON, indented).
	Policy string
	// Actions are the actions the principal was seen using, sorted ("iam:GetRole").
	Actions []string
	// Denied are actions the principal tried and was denied: not granted by Policy, listed for review.
	Denied []string
	// Records is how many of the principal's records were read.
	Records int
}

// noPermission are calls AWS answers without any permission: a policy need not grant them.
// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
var noPermission = map[string]bool{"sts:GetCallerIdentity": true}

// authorizedErrors are errors an operation returns only after the caller was authorized: the call needed its
// permission even though it failed. Validation errors (the request never reached authorization) and denials
// are not among them.
var authorizedErrors = map[string]bool{
	"NoSuchEntity": true, "EntityAlreadyExists": true, "DeleteConflict": true, "LimitExceeded": true,
	"MalformedPolicyDocument": true, "UnmodifiableEntity": true, "EntityTemporarilyUnmodifiable": true,
	"ConcurrentModification": true, "PolicyNotAttachable": true,
}

var deniedErrors = map[string]bool{"AccessDenied": true, "AccessDeniedException": true}

// nameResources are the request members that name an IAM entity by name, with the ARN resource type and the
// store kind that knows its path.
var nameResources = []struct {
	member, arnType string
	kind            store.Kind
}{
	{"roleName", "role", store.KindRole},
	{"userName", "user", store.KindUser},
	{"groupName", "group", store.KindGroup},
}

// Generate writes the least-privilege identity policy for the actions and resources opts.Principal was seen
// using: one statement per set of actions that share their resources; resources are the ARNs the calls named
// (paths resolved from the store, as the entities are now), a wildcard over a type when an action used many of
// them, and "*" for an action on which some call named no resource. The policy is checked by the policy engine:
// it must validate without errors and allow every observed call.
func Generate(ctx context.Context, log store.AuditLog, st store.Reader, opts GenerateOptions) (*Generated, error) {
	who, err := arn.Parse(opts.Principal)
	if err != nil {
		return nil, fmt.Errorf("--principal %q is not an ARN: %w", opts.Principal, err)
	}
	if opts.MaxResourcesPerAction <= 0 {
		opts.MaxResourcesPerAction = 10
	}
	account := who.AccountID
	isRole := who.Service == "iam" && strings.HasPrefix(who.Resource, "role/")
	q := store.AuditQuery{Account: account, Start: opts.Since, End: opts.Until, Max: 500}
	if !isRole {
		// A user, root or one session: its records are indexed by its ARN.
		q.Attribute, q.Value = store.AuditPrincipalARN, opts.Principal
	}
	used := map[string]map[string]bool{} // action → resources ("*" when a call named none)
	denied := map[string]bool{}
	out := &Generated{}
	for {
		recs, next, err := log.LookupAudit(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, row := range recs {
			var rec Record
			if err := json.Unmarshal(row.Data, &rec); err != nil {
				return nil, fmt.Errorf("audit: corrupt record %s: %w", row.EventID, err)
			}
			if isRole && !sessionOf(rec.UserIdentity, opts.Principal) {
				continue
			}
			out.Records++
			action := strings.TrimSuffix(rec.EventSource, ".amazonaws.com") + ":" + rec.EventName
			switch {
			case noPermission[action]:
				continue
			case deniedErrors[rec.ErrorCode]:
				denied[action] = true
				continue
			case rec.ErrorCode != "" && !authorizedErrors[rec.ErrorCode]:
				continue
			}
			if used[action] == nil {
				used[action] = map[string]bool{}
			}
			for _, r := range resourcesOfRecord(ctx, st, account, &rec) {
				used[action][r] = true
			}
		}
		if next == "" {
			break
		}
		q.Marker = next
	}
	if len(used) == 0 {
		return nil, fmt.Errorf("no activity of %s between %s and %s: there is nothing to allow",
			opts.Principal, opts.Since.UTC().Format(time.RFC3339), opts.Until.UTC().Format(time.RFC3339))
	}
	for a := range denied {
		if used[a] == nil {
			out.Denied = append(out.Denied, a)
		}
	}
	slices.Sort(out.Denied)

	// Resources of each action, wildcarded per type when there are many; then actions grouped by resource set.
	groups := map[string][]string{} // resource list (joined) → actions
	for action, res := range used {
		out.Actions = append(out.Actions, action)
		list := resourceList(res, opts.MaxResourcesPerAction)
		key := strings.Join(list, "\n")
		groups[key] = append(groups[key], action)
	}
	slices.Sort(out.Actions)
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return strings.Compare(slices.Min(groups[a]), slices.Min(groups[b]))
	})
	type statement struct {
		Sid      string   `json:"Sid"`
		Effect   string   `json:"Effect"`
		Action   []string `json:"Action"`
		Resource []string `json:"Resource"`
	}
	doc := struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}{Version: "2012-10-17"}
	for i, k := range keys {
		actions := groups[k]
		slices.Sort(actions)
		doc.Statement = append(doc.Statement, statement{Sid: fmt.Sprintf("Observed%d", i+1), Effect: "Allow",
			Action: actions, Resource: strings.Split(k, "\n")})
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	out.Policy = string(b)
	if err := check(out.Policy, used, account); err != nil {
		return nil, err
	}
	return out, nil
}

// sessionOf reports whether id is a session of the role roleARN (or the role itself).
func sessionOf(id UserIdentity, roleARN string) bool {
	if id.ARN == roleARN {
		return true
	}
	return id.SessionContext != nil && id.SessionContext.SessionIssuer != nil &&
		id.SessionContext.SessionIssuer.Type == "Role" && id.SessionContext.SessionIssuer.ARN == roleARN
}

// resourcesOfRecord returns the resource ARNs a record's call acted on: the ARNs it named, and the IAM entities
// it named by name, with their current path. "*" when it named none.
func resourcesOfRecord(ctx context.Context, st store.Reader, account string, rec *Record) []string {
	var out []string
	for _, r := range rec.Resources {
		if r.ARN != "" {
			out = append(out, r.ARN)
		}
	}
	if strings.HasPrefix(rec.EventSource, "iam.") {
		for _, nr := range nameResources {
			name, _ := rec.RequestParameters[nr.member].(string)
			if name == "" {
				continue
			}
			path := "/"
			var ent struct {
				Path string `json:"path"`
			}
			if _, err := store.GetJSON(ctx, st, nr.kind, account, name, &ent); err == nil && ent.Path != "" {
				path = ent.Path
			}
			out = append(out, "arn:aws:iam::"+account+":"+nr.arnType+path+name)
			break // the first member names the resource the call is authorized on (a user's key: the user)
		}
	}
	if len(out) == 0 {
		return []string{"*"}
	}
	return out
}

// resourceList returns res sorted, "*" alone when any call named no resource, and the resources of one type
// replaced by that type's wildcard when there are more than max of them.
func resourceList(res map[string]bool, max int) []string {
	if res["*"] {
		return []string{"*"}
	}
	byType := map[string][]string{}
	for r := range res {
		prefix := r
		if a, err := arn.Parse(r); err == nil {
			typ, _, _ := strings.Cut(a.Resource, "/")
			prefix = "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.AccountID + ":" + typ + "/*"
		}
		byType[prefix] = append(byType[prefix], r)
	}
	var out []string
	for wildcard, list := range byType {
		if len(list) > max && strings.HasSuffix(wildcard, "/*") {
			out = append(out, wildcard)
		} else {
			out = append(out, list...)
		}
	}
	slices.Sort(out)
	return out
}

// check validates the policy with the policy engine and makes sure it allows every observed call.
func check(doc string, used map[string]map[string]bool, account string) error {
	parsed, err := policy.Parse([]byte(doc))
	if err != nil {
		return fmt.Errorf("audit: generated policy does not parse: %w", err)
	}
	for _, f := range policy.Validate(parsed, policy.KindIdentity) {
		if f.Type == policy.FindingError {
			return fmt.Errorf("audit: generated policy is invalid: %s", f)
		}
	}
	compiled, err := policy.Compile(parsed, policy.KindIdentity, "generated")
	if err != nil {
		return fmt.Errorf("audit: generated policy does not compile: %w", err)
	}
	set := &policy.Set{Identity: []*policy.Policy{compiled}}
	for action, res := range used {
		for r := range res {
			req := &policy.Request{Principal: policy.Caller{Type: policy.CallerUser, ARN: "arn:aws:iam::" + account + ":user/generated", Account: account},
				Action: action, Resource: strings.TrimPrefix(r, "*")}
			if got := policy.Evaluate(set, req); got.Decision != policy.Allow {
				return fmt.Errorf("audit: generated policy does not allow %s on %s (%s)", action, r, got.Decision)
			}
		}
	}
	return nil
}
