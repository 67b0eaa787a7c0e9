package iam

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/policy"
)

// Service last-accessed data (IAM's access advisor) computed from the audit trail: a report lists the services the
// entity's policies allow, each with the last attempt (allowed or denied, as AWS counts them) by the entities the
// report covers. https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_access-advisor.html

// trackingPeriod is how far back reports look: IAM reports activity for the last 400 days.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GenerateServiceLastAccessedDetails.html
const trackingPeriod = 400 * 24 * time.Hour

// trackedServices are the services whose actions IAM reports at ACTION_LEVEL.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_access-advisor-action-last-accessed.html
var trackedServices = map[string]bool{"ec2": true, "iam": true, "lambda": true, "s3": true}

// Job statuses and granularities, the model's values.
const (
	jobCompleted = string(iamapi.JobStatusTypeCompleted)
	serviceLevel = string(iamapi.AccessAdvisorUsageGranularityTypeServiceLevel)
	actionLevel  = string(iamapi.AccessAdvisorUsageGranularityTypeActionLevel)
)

// reportSubject is what a report covers: the policy documents whose services it lists, and the users and roles
// whose activity counts, by ARN.
type reportSubject struct {
	docs     []string
	entities map[string]store.EntityLastAccess // ARN → the entity (Last unset)
}

// GenerateServiceLastAccessedDetails computes the service last-accessed report of a user, group, role or managed
// policy from the trail and stores it as a job of the caller's account. The job completes before the call returns.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GenerateServiceLastAccessedDetails.html
func (s *Service) GenerateServiceLastAccessedDetails(ctx context.Context, in *iamapi.GenerateServiceLastAccessedDetailsInput) (*iamapi.GenerateServiceLastAccessedDetailsOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	granularity := string(in.Granularity)
	if granularity == "" {
		granularity = serviceLevel
	}
	subject, err := s.reportSubject(ctx, p.Account, in.Arn)
	if err != nil {
		return nil, err
	}
	created := s.now().UTC()
	services, err := s.lastAccess(ctx, p.Account, subject, granularity == actionLevel, created)
	if err != nil {
		return nil, err
	}
	job := store.ServiceLastAccessedJob{ID: jobID(created), EntityARN: in.Arn, Granularity: granularity,
		Status: jobCompleted, Created: created, Completed: s.now().UTC(), Services: services}
	err = s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		// An account keeps its newest maxJobs reports: job ids sort by creation time, so the oldest list first.
		n, err := tx.Count(ctx, store.KindServiceLastAccessedJob, p.Account, "")
		if err != nil {
			return err
		}
		if n >= maxJobs {
			old, err := tx.List(ctx, store.KindServiceLastAccessedJob, p.Account, "", "", n-maxJobs+1)
			if err != nil {
				return err
			}
			for _, r := range old.Records {
				if err := tx.Delete(ctx, store.KindServiceLastAccessedJob, p.Account, r.Key); err != nil {
					return err
				}
			}
		}
		return create(ctx, tx, store.KindServiceLastAccessedJob, p.Account, job.ID, "", &job)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.GenerateServiceLastAccessedDetailsOutput{JobId: job.ID}, nil
}

// maxJobs is how many reports an account keeps; generating another deletes the oldest.
var maxJobs = 1000

// jobID returns a job id in the UUID form IAM's have (36 characters), version 7: the creation time in
// milliseconds comes first, so ids (the store's keys) sort by creation time; the rest is random.
// https://www.rfc-editor.org/rfc/rfc9562#name-uuid-version-7
func jobID(now time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics instead)
	ms := uint64(now.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// reportSubject resolves the report's ARN (authorizing iam:GenerateServiceLastAccessedDetails on it) into the
// policies and entities the report covers. The ARN must name the entity exactly, path included.
func (s *Service) reportSubject(ctx context.Context, account, entityARN string) (*reportSubject, error) {
	const action = "GenerateServiceLastAccessedDetails"
	a, err := arn.Parse(entityARN)
	if err != nil || a.Service != "iam" || a.Region != "" {
		return nil, iamapi.InvalidInput("ARN %s is not valid.", entityARN)
	}
	kind, _, _ := strings.Cut(a.Resource, "/")
	name := a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
	if name == "" {
		return nil, iamapi.InvalidInput("ARN %s is not valid.", entityARN)
	}
	sub := &reportSubject{entities: map[string]store.EntityLastAccess{}}
	switch kind {
	case "user", "group", "role":
		if a.AccountID != account {
			// Another account's entity: authorize on what was asked, then answer as for a missing entity (IAM
			// entities are never visible across accounts).
			if err := s.authorize(ctx, action, entityARN, nil); err != nil {
				return nil, err
			}
			return nil, iamapi.NoSuchEntity("The %s with name %s cannot be found.", kind, name)
		}
		e, err := s.loadEntity(ctx, s.store, kind, action, name)
		if err != nil {
			return nil, err
		}
		if e.arn != entityARN {
			return nil, iamapi.NoSuchEntity("The %s with name %s cannot be found.", kind, name)
		}
		switch kind {
		case "user":
			if err := s.addUser(ctx, sub, account, name, true); err != nil {
				return nil, err
			}
		case "role":
			if err := s.addRole(ctx, sub, account, name, true); err != nil {
				return nil, err
			}
		case "group":
			if sub.docs, err = s.principalDocs(ctx, account, "group", name); err != nil {
				return nil, err
			}
			if err := s.addMembers(ctx, sub, account, name); err != nil {
				return nil, err
			}
		}
	case "policy":
		if err := s.authorize(ctx, action, entityARN, nil); err != nil {
			return nil, err
		}
		doc, err := s.managedPolicyDoc(ctx, s.store, account, entityARN)
		if isNotFound(err) {
			return nil, policyNotFound(entityARN)
		}
		if err != nil {
			return nil, err
		}
		sub.docs = []string{doc}
		// The entities the policy is attached to now: users, roles, and the members of groups.
		attached, err := store.ListJSON[store.Attachment](ctx, s.store, store.KindAttachmentByPolicy, account, entityARN+"|")
		if err != nil {
			return nil, err
		}
		for _, at := range attached {
			if at.PolicyARN != entityARN {
				continue // keys compare without case; the ARN does not
			}
			switch at.PrincipalType {
			case "user":
				err = s.addUser(ctx, sub, account, at.PrincipalName, false)
			case "role":
				err = s.addRole(ctx, sub, account, at.PrincipalName, false)
			case "group":
				err = s.addMembers(ctx, sub, account, at.PrincipalName)
			}
			if err != nil {
				return nil, err
			}
		}
	default:
		return nil, iamapi.InvalidInput("ARN %s is not valid: it must name a user, group, role or managed policy.", entityARN)
	}
	return sub, nil
}

// addUser adds a user to the report's entities, and with docs its policies (its groups' too).
func (s *Service) addUser(ctx context.Context, sub *reportSubject, account, name string, docs bool) error {
	var u store.User
	if _, err := load(ctx, s.store, store.KindUser, account, name, &u); err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	a := s.userARN(account, u.Path, u.Name)
	sub.entities[a] = store.EntityLastAccess{ARN: a, Type: "USER", Name: u.Name, ID: u.ID, Path: u.Path}
	if !docs {
		return nil
	}
	d, err := s.principalDocs(ctx, account, "user", u.Name)
	if err != nil {
		return err
	}
	sub.docs = append(sub.docs, d...)
	groups, err := store.ListJSON[store.Membership](ctx, s.store, store.KindMembershipByUser, account, u.Name+"/")
	if err != nil {
		return err
	}
	for _, m := range groups {
		d, err := s.principalDocs(ctx, account, "group", m.Group)
		if err != nil {
			return err
		}
		sub.docs = append(sub.docs, d...)
	}
	return nil
}

// addRole adds a role to the report's entities (its sessions' activity counts), and with docs its policies.
func (s *Service) addRole(ctx context.Context, sub *reportSubject, account, name string, docs bool) error {
	var r store.Role
	if _, err := load(ctx, s.store, store.KindRole, account, name, &r); err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	a := s.roleARN(account, r.Path, r.Name)
	sub.entities[a] = store.EntityLastAccess{ARN: a, Type: "ROLE", Name: r.Name, ID: r.ID, Path: r.Path}
	if !docs {
		return nil
	}
	d, err := s.principalDocs(ctx, account, "role", r.Name)
	if err != nil {
		return err
	}
	sub.docs = append(sub.docs, d...)
	return nil
}

// addMembers adds a group's members to the report's entities.
func (s *Service) addMembers(ctx context.Context, sub *reportSubject, account, group string) error {
	members, err := store.ListJSON[store.Membership](ctx, s.store, store.KindMembership, account, group+"/")
	if err != nil {
		return err
	}
	for _, m := range members {
		if !strings.EqualFold(m.Group, group) {
			continue
		}
		if err := s.addUser(ctx, sub, account, m.User, false); err != nil {
			return err
		}
	}
	return nil
}

// principalDocs returns the documents of a user's, group's or role's inline and attached managed policies.
func (s *Service) principalDocs(ctx context.Context, account, kind, name string) ([]string, error) {
	prefix := kind + "/" + name + "/"
	inline, err := store.ListJSON[store.InlinePolicy](ctx, s.store, store.KindInlinePolicy, account, prefix)
	if err != nil {
		return nil, err
	}
	var docs []string
	for _, ip := range inline {
		docs = append(docs, ip.Document)
	}
	attached, err := store.ListJSON[store.Attachment](ctx, s.store, store.KindAttachment, account, prefix)
	if err != nil {
		return nil, err
	}
	for _, at := range attached {
		doc, err := s.managedPolicyDoc(ctx, s.store, account, at.PolicyARN)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// allowedNamespaces returns the service namespaces that the documents' Allow statements name in Action ("*" names
// every known service) or leave out of NotAction (every known service but those NotAction excludes whole). Deny
// statements do not remove services, as in IAM's reports.
func allowedNamespaces(docs []string) map[string]bool {
	out := map[string]bool{}
	all := func(except map[string]bool) {
		for ns := range serviceNames {
			if !except[ns] {
				out[ns] = true
			}
		}
	}
	for _, doc := range docs {
		d, err := policy.Parse([]byte(doc))
		if err != nil {
			continue // stored policies were validated; an unreadable one grants nothing here
		}
		for _, st := range d.Statements {
			if st.Effect.Value != policy.EffectAllow {
				continue
			}
			if st.Action != nil {
				for _, v := range st.Action.Values {
					if v.Value == "*" {
						all(nil)
						continue
					}
					if ns, _, ok := strings.Cut(v.Value, ":"); ok && ns != "" && !strings.ContainsAny(ns, "*?") {
						out[strings.ToLower(ns)] = true
					}
				}
			}
			if st.NotAction != nil {
				except := map[string]bool{}
				for _, v := range st.NotAction.Values {
					if v.Value == "*" {
						except = nil
						break
					}
					if ns, act, ok := strings.Cut(v.Value, ":"); ok && act == "*" {
						except[strings.ToLower(ns)] = true
					}
				}
				if except != nil {
					all(except)
				}
			}
		}
	}
	return out
}

// lastAccess reads the trail of the tracking period and returns, for each allowed service, the last attempt by the
// subject's entities, sorted by service name.
func (s *Service) lastAccess(ctx context.Context, account string, sub *reportSubject, actions bool, now time.Time) ([]store.ServiceLastAccess, error) {
	allowed := allowedNamespaces(sub.docs)
	byNS := make(map[string]*store.ServiceLastAccess, len(allowed))
	perEntity := map[string]map[string]time.Time{}              // namespace → entity ARN → last
	perAction := map[string]map[string]store.ActionLastAccess{} // namespace → action → last
	for ns := range allowed {
		name := serviceNames[ns]
		if name == "" {
			name = ns
		}
		byNS[ns] = &store.ServiceLastAccess{Namespace: ns, Name: name}
	}
	if len(sub.entities) > 0 && len(allowed) > 0 {
		log, ok := s.store.(store.AuditLog)
		if !ok {
			return nil, fmt.Errorf("iam: the store keeps no audit trail")
		}
		q := store.AuditQuery{Account: account, Start: now.Add(-trackingPeriod), End: now, Max: 500}
		if len(sub.entities) == 1 {
			for a, e := range sub.entities {
				if e.Type == "USER" {
					// A user's records are indexed by its ARN; a role's are its sessions', found by their issuer.
					q.Attribute, q.Value = store.AuditPrincipalARN, a
				}
			}
		}
		for {
			recs, next, err := log.LookupAudit(ctx, q)
			if err != nil {
				return nil, err
			}
			for _, row := range recs {
				var rec trailRecord
				if err := json.Unmarshal(row.Data, &rec); err != nil {
					return nil, fmt.Errorf("iam: corrupt audit record %s: %w", row.EventID, err)
				}
				who, id := entityOf(&rec)
				if e, ok := sub.entities[who]; !ok || e.ID != id {
					// Not one of the entities, or an earlier entity of the same name (deleted, then created again):
					// a new user or role does not inherit its predecessor's activity.
					continue
				}
				ns := strings.TrimSuffix(rec.EventSource, ".amazonaws.com")
				svc := byNS[ns]
				if svc == nil {
					continue
				}
				at := row.Time.UTC()
				if at.After(svc.Last) {
					svc.Last, svc.LastEntity, svc.LastRegion = at, who, rec.AWSRegion
				}
				if perEntity[ns] == nil {
					perEntity[ns] = map[string]time.Time{}
				}
				if at.After(perEntity[ns][who]) {
					perEntity[ns][who] = at
				}
				if actions && trackedServices[ns] {
					if perAction[ns] == nil {
						perAction[ns] = map[string]store.ActionLastAccess{}
					}
					if cur := perAction[ns][rec.EventName]; at.After(cur.Last) {
						perAction[ns][rec.EventName] = store.ActionLastAccess{Name: rec.EventName, Entity: who, Last: at, Region: rec.AWSRegion}
					}
				}
			}
			if next == "" {
				break
			}
			q.Marker = next
		}
	}
	out := make([]store.ServiceLastAccess, 0, len(byNS))
	for ns, svc := range byNS {
		for who, at := range perEntity[ns] {
			e := sub.entities[who]
			e.Last = at
			svc.Entities = append(svc.Entities, e)
		}
		slices.SortFunc(svc.Entities, func(a, b store.EntityLastAccess) int {
			if c := b.Last.Compare(a.Last); c != 0 {
				return c
			}
			return strings.Compare(a.ARN, b.ARN)
		})
		for _, act := range perAction[ns] {
			svc.Actions = append(svc.Actions, act)
		}
		slices.SortFunc(svc.Actions, func(a, b store.ActionLastAccess) int { return strings.Compare(a.Name, b.Name) })
		out = append(out, *svc)
	}
	slices.SortFunc(out, func(a, b store.ServiceLastAccess) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Namespace, b.Namespace)
	})
	return out, nil
}

// trailRecord is the part of a CloudTrail record a report reads (decoding only it is several times faster than
// decoding the whole record, parameters included).
type trailRecord struct {
	UserIdentity struct {
		Type           string `json:"type"`
		PrincipalID    string `json:"principalId"`
		ARN            string `json:"arn"`
		SessionContext *struct {
			SessionIssuer *audit.SessionIssuer `json:"sessionIssuer"`
		} `json:"sessionContext"`
	} `json:"userIdentity"`
	EventSource string `json:"eventSource"`
	EventName   string `json:"eventName"`
	AWSRegion   string `json:"awsRegion"`
}

// entityOf returns the ARN and unique id of the user or role a record's caller stands for: the IAM user (with
// long-term keys or its GetSessionToken session), or the role behind a role session; "" for anyone else (root,
// federated callers, the unauthenticated).
func entityOf(rec *trailRecord) (string, string) {
	id := &rec.UserIdentity
	switch id.Type {
	case "IAMUser":
		return id.ARN, id.PrincipalID
	case "AssumedRole":
		if sc := id.SessionContext; sc != nil && sc.SessionIssuer != nil && sc.SessionIssuer.Type == "Role" {
			return sc.SessionIssuer.ARN, sc.SessionIssuer.PrincipalID
		}
	}
	return "", ""
}

// loadJob returns the caller's report job jobID (reports are visible only in the account that generated them).
func (s *Service) loadJob(ctx context.Context, action, jobID string) (*store.ServiceLastAccessedJob, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, action, "*", nil); err != nil {
		return nil, err
	}
	var job store.ServiceLastAccessedJob
	_, err = load(ctx, s.store, store.KindServiceLastAccessedJob, p.Account, jobID, &job)
	if isNotFound(err) || (err == nil && job.ID != jobID) {
		return nil, iamapi.NoSuchEntity("The job with id %s cannot be found.", jobID)
	}
	if err != nil {
		return nil, err
	}
	return &job, nil
}

// page returns the bounds of the page of n items that marker and maxItems select. Markers are the index of the
// next item, in decimal.
func page(n int, marker string, max *int32) (start, end int, next string, err error) {
	if marker != "" {
		start, err = strconv.Atoi(marker)
		if err != nil || start < 0 || start > n || strconv.Itoa(start) != marker {
			return 0, 0, "", iamapi.InvalidInput("Invalid Marker.")
		}
	}
	end = min(n, start+maxItems(max))
	if end < n {
		next = strconv.Itoa(end)
	}
	return start, end, next, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// GetServiceLastAccessedDetails returns a report generated by GenerateServiceLastAccessedDetails.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetServiceLastAccessedDetails.html
func (s *Service) GetServiceLastAccessedDetails(ctx context.Context, in *iamapi.GetServiceLastAccessedDetailsInput) (*iamapi.GetServiceLastAccessedDetailsOutput, error) {
	job, err := s.loadJob(ctx, "GetServiceLastAccessedDetails", in.JobId)
	if err != nil {
		return nil, err
	}
	start, end, next, err := page(len(job.Services), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &iamapi.GetServiceLastAccessedDetailsOutput{
		JobStatus: iamapi.JobStatusType(job.Status), JobType: iamapi.AccessAdvisorUsageGranularityType(job.Granularity),
		JobCreationDate: job.Created, JobCompletionDate: job.Completed,
		ServicesLastAccessed: []iamapi.ServiceLastAccessed{}, IsTruncated: new(next != ""), Marker: next,
	}
	if job.ErrorCode != "" {
		out.Error = &iamapi.ErrorDetails{Code: job.ErrorCode, Message: job.ErrorMessage}
	}
	for _, svc := range job.Services[start:end] {
		sla := iamapi.ServiceLastAccessed{ServiceName: svc.Name, ServiceNamespace: svc.Namespace,
			LastAuthenticated: timePtr(svc.Last), LastAuthenticatedEntity: svc.LastEntity,
			LastAuthenticatedRegion: svc.LastRegion, TotalAuthenticatedEntities: new(int32(len(svc.Entities)))}
		if job.Granularity == actionLevel && trackedServices[svc.Namespace] {
			for _, a := range svc.Actions {
				sla.TrackedActionsLastAccessed = append(sla.TrackedActionsLastAccessed, iamapi.TrackedActionLastAccessed{
					ActionName: a.Name, LastAccessedEntity: a.Entity, LastAccessedTime: timePtr(a.Last), LastAccessedRegion: a.Region})
			}
		}
		out.ServicesLastAccessed = append(out.ServicesLastAccessed, sla)
	}
	return out, nil
}

// GetServiceLastAccessedDetailsWithEntities lists the users and roles of a group's or policy's report that tried
// one service, most recent first.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetServiceLastAccessedDetailsWithEntities.html
func (s *Service) GetServiceLastAccessedDetailsWithEntities(ctx context.Context, in *iamapi.GetServiceLastAccessedDetailsWithEntitiesInput) (*iamapi.GetServiceLastAccessedDetailsWithEntitiesOutput, error) {
	job, err := s.loadJob(ctx, "GetServiceLastAccessedDetailsWithEntities", in.JobId)
	if err != nil {
		return nil, err
	}
	if a, err := arn.Parse(job.EntityARN); err == nil {
		if kind, _, _ := strings.Cut(a.Resource, "/"); kind != "group" && kind != "policy" {
			return nil, iamapi.InvalidInput("JobId %s is the report of a %s: entities are listed for the reports of groups and policies.", in.JobId, kind)
		}
	}
	var entities []store.EntityLastAccess
	for _, svc := range job.Services {
		if svc.Namespace == in.ServiceNamespace {
			entities = svc.Entities
		}
	}
	start, end, next, err := page(len(entities), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &iamapi.GetServiceLastAccessedDetailsWithEntitiesOutput{
		JobStatus: iamapi.JobStatusType(job.Status), JobCreationDate: job.Created, JobCompletionDate: job.Completed,
		EntityDetailsList: []iamapi.EntityDetails{}, IsTruncated: new(next != ""), Marker: next,
	}
	for _, e := range entities[start:end] {
		out.EntityDetailsList = append(out.EntityDetailsList, iamapi.EntityDetails{
			EntityInfo:        &iamapi.EntityInfo{Arn: e.ARN, Name: e.Name, Type: iamapi.PolicyOwnerEntityType(e.Type), Id: e.ID, Path: e.Path},
			LastAuthenticated: timePtr(e.Last)})
	}
	return out, nil
}
