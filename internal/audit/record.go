// Package audit turns every request Persona answers into a CloudTrail record, writes records durably with group
// commit, and answers CloudTrail's LookupEvents over them.
//
// How a request is recorded (the server middleware does this):
//
//	row, err := audit.Build(audit.Event{Principal: p, Source: audit.SourceIAM, Action: "CreateRole", ...})
//
// then, for a mutation, tx.AppendAudit(ctx, row) inside the mutation's own store transaction, so an acknowledged
// mutation can never lack its record (not even after kill -9) and a rolled-back one has none; for anything else
// (reads, denials, failures, credential issuance), Writer.Record, which returns once the record is durable and
// batches concurrent callers into one commit. Writer.RecordAsync is for reads whose response need not wait.
package audit

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/store"
)

// Event sources, CloudTrail's eventSource for each service Persona answers.
const (
	SourceIAM           = "iam.amazonaws.com"
	SourceSTS           = "sts.amazonaws.com"
	SourceOrganizations = "organizations.amazonaws.com"
	SourceCloudTrail    = "cloudtrail.amazonaws.com"
)

// EventVersion is the CloudTrail record format version Persona writes.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
const EventVersion = "1.08"

// MaxRecordBytes is the largest record Build writes in full: CloudTrail's maximum event size.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
const MaxRecordBytes = 256 << 10

// Record is one CloudTrail record, with CloudTrail's JSON member names and order.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
type Record struct {
	EventVersion    string       `json:"eventVersion"`
	UserIdentity    UserIdentity `json:"userIdentity"`
	EventTime       string       `json:"eventTime"`
	EventSource     string       `json:"eventSource"`
	EventName       string       `json:"eventName"`
	AWSRegion       string       `json:"awsRegion"`
	SourceIPAddress string       `json:"sourceIPAddress"`
	UserAgent       string       `json:"userAgent"`
	ErrorCode       string       `json:"errorCode,omitempty"`
	ErrorMessage    string       `json:"errorMessage,omitempty"`
	// RequestParameters and ResponseElements are the operation's input and output with secrets redacted (see
	// Redact); CloudTrail writes null when there are none, and so do we.
	RequestParameters  map[string]any `json:"requestParameters"`
	ResponseElements   map[string]any `json:"responseElements"`
	RequestID          string         `json:"requestID"`
	EventID            string         `json:"eventID"`
	ReadOnly           bool           `json:"readOnly"`
	Resources          []Resource     `json:"resources,omitempty"`
	EventType          string         `json:"eventType"`
	ManagementEvent    bool           `json:"managementEvent"`
	RecipientAccountID string         `json:"recipientAccountId"`
	SharedEventID      string         `json:"sharedEventID,omitempty"`
	EventCategory      string         `json:"eventCategory"`
	TLSDetails         *TLSDetails    `json:"tlsDetails,omitempty"`
}

// UserIdentity is CloudTrail's userIdentity element: who made the request and with which credentials.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
type UserIdentity struct {
	// Type is Root, IAMUser, AssumedRole, FederatedUser, WebIdentityUser, SAMLUser, AWSService or Unknown.
	Type        string `json:"type"`
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
	UserName    string `json:"userName,omitempty"`
	// IdentityProvider appears only for SAMLUser (the saml:namequalifier) and WebIdentityUser (the issuer).
	IdentityProvider string `json:"identityProvider,omitempty"`
	// InvokedBy names the AWS service that made the request (AWSService).
	InvokedBy      string          `json:"invokedBy,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
}

// SessionContext describes the temporary credentials behind a request.
type SessionContext struct {
	SessionIssuer       *SessionIssuer       `json:"sessionIssuer,omitempty"`
	WebIDFederationData *WebIDFederationData `json:"webIdFederationData,omitempty"`
	Attributes          SessionAttributes    `json:"attributes"`
	SourceIdentity      string               `json:"sourceIdentity,omitempty"`
}

// SessionIssuer is the role (or, for a federated user, the IAM user) that issued the temporary credentials.
type SessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// WebIDFederationData is the identity provider behind a session created by AssumeRoleWithWebIdentity or
// AssumeRoleWithSAML. CloudTrail writes attributes as {} when it has none.
type WebIDFederationData struct {
	FederatedProvider string            `json:"federatedProvider,omitempty"`
	Attributes        map[string]string `json:"attributes"`
}

// SessionAttributes are when the credentials were issued and whether MFA authenticated them. CloudTrail writes
// mfaAuthenticated as the string "true" or "false".
type SessionAttributes struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

// TLSDetails is CloudTrail's tlsDetails element, present when the request came over TLS.
type TLSDetails struct {
	TLSVersion               string `json:"tlsVersion"`
	CipherSuite              string `json:"cipherSuite"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader"`
}

// Resource is a resource the request named. ARN, AccountID and Type are written to the record; Name (a friendly
// name) is only indexed, so LookupEvents' ResourceName finds the event by name as well as by ARN.
type Resource struct {
	ARN       string `json:"ARN,omitempty"`
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type,omitempty"`
	Name      string `json:"-"`
}

// Event is what the server knows about one request, from which Build makes its record.
type Event struct {
	// Time is when the request was received.
	Time time.Time
	// Principal is the authenticated caller; nil when the request was not signed (AssumeRoleWithWebIdentity,
	// AssumeRoleWithSAML), in which case Identity says who called.
	Principal *authz.Principal
	// Identity, when set, is used as the userIdentity instead of one derived from Principal: see
	// WebIdentityUser, SAMLUser and AWSService.
	Identity *UserIdentity
	// WebIDFederation, for a session created by AssumeRoleWithWebIdentity, names its identity provider.
	WebIDFederation *WebIDFederationData
	// Source is the eventSource (SourceIAM...), Action the operation name.
	Source, Action string
	// ReadOnly reports whether the operation only reads; see ReadOnlyAction.
	ReadOnly bool
	// Region, SourceIP, UserAgent and RequestID are the request's.
	Region, SourceIP, UserAgent, RequestID string
	// TLS is set when the request came over TLS.
	TLS *TLSDetails
	// Params and Response are the operation's input and output; Build redacts them.
	Params, Response map[string]any
	// ErrorCode and ErrorMessage are the AWS error the request failed with.
	ErrorCode, ErrorMessage string
	// Resources are the resources the request named.
	Resources []Resource
	// RecipientAccount is the account whose trail receives the record; the principal's account when "". For a
	// cross-account AssumeRole, build one Event per account with the same SharedEventID.
	RecipientAccount string
	// SharedEventID links the records of one request delivered to several accounts.
	SharedEventID string
	// EventID is the record's id; a new random one when "".
	EventID string
}

// Build makes the CloudTrail record of ev and the store row that holds it. It fails only if ev has no recipient
// account (an unauthenticated request that names no account has no trail to go to).
func Build(ev Event) (store.AuditRecord, error) {
	rec := NewRecord(ev)
	if rec.RecipientAccountID == "" {
		return store.AuditRecord{}, errors.New("audit: event has no recipient account")
	}
	data, err := appendRecord(make([]byte, 0, 1536), rec)
	if err == nil && len(data) > MaxRecordBytes {
		// CloudTrail's events are at most 256 KB; a larger one (a caller can send up to a megabyte of
		// parameters) keeps everything but its parameters and response, so one request cannot bloat the trail.
		rec.RequestParameters, rec.ResponseElements = map[string]any{"omitted": "too large"}, nil
		data, err = appendRecord(data[:0], rec)
	}
	if err != nil {
		// Redact normalized every value, so this is a bug; fail rather than write a partial record.
		return store.AuditRecord{}, fmt.Errorf("audit: encode record: %w", err)
	}
	row := store.AuditRecord{
		EventID:      rec.EventID,
		Account:      rec.RecipientAccountID,
		Time:         ev.Time,
		EventName:    rec.EventName,
		EventSource:  rec.EventSource,
		Username:     lookupUsername(rec.UserIdentity),
		AccessKeyID:  rec.UserIdentity.AccessKeyID,
		ReadOnly:     rec.ReadOnly,
		ErrorCode:    rec.ErrorCode,
		Data:         data,
		PrincipalARN: rec.UserIdentity.ARN,
	}
	for _, r := range ev.Resources {
		if r.Name != "" {
			row.Resources = append(row.Resources, store.AuditResource{Type: r.Type, Name: r.Name})
		}
		if r.ARN != "" {
			row.Resources = append(row.Resources, store.AuditResource{Type: r.Type, Name: r.ARN})
		}
	}
	return row, nil
}

// NewRecord makes the CloudTrail record of ev, with requestParameters and responseElements redacted.
func NewRecord(ev Event) *Record {
	id := ev.EventID
	if id == "" {
		id = NewID()
	}
	ident := identity(ev)
	recipient := ev.RecipientAccount
	if recipient == "" {
		recipient = ident.AccountID
	}
	rec := &Record{
		EventVersion:       EventVersion,
		UserIdentity:       ident,
		EventTime:          ev.Time.UTC().Format(time.RFC3339),
		EventSource:        ev.Source,
		EventName:          ev.Action,
		AWSRegion:          ev.Region,
		SourceIPAddress:    ev.SourceIP,
		UserAgent:          ev.UserAgent,
		ErrorCode:          ev.ErrorCode,
		ErrorMessage:       ev.ErrorMessage,
		RequestParameters:  Redact(ev.Params),
		ResponseElements:   Redact(ev.Response),
		RequestID:          ev.RequestID,
		EventID:            id,
		ReadOnly:           ev.ReadOnly,
		EventType:          "AwsApiCall",
		ManagementEvent:    true,
		RecipientAccountID: recipient,
		SharedEventID:      ev.SharedEventID,
		EventCategory:      "Management",
		TLSDetails:         ev.TLS,
	}
	for _, r := range ev.Resources {
		// A resource known only by name is indexed for LookupEvents but not written: CloudTrail's resources
		// element lists ARNs.
		if r.ARN != "" {
			rec.Resources = append(rec.Resources, r)
		}
	}
	return rec
}

// identity derives the userIdentity element from the event's principal.
func identity(ev Event) UserIdentity {
	if ev.Identity != nil {
		id := *ev.Identity
		return id
	}
	p := ev.Principal
	if p == nil || p.Type == authz.Anonymous {
		id := UserIdentity{Type: "Unknown"}
		if p != nil {
			id.AccountID = p.Account
		}
		return id
	}
	id := UserIdentity{
		Type:        string(p.Type),
		PrincipalID: p.UserID,
		ARN:         p.ARN,
		AccountID:   p.Account,
		AccessKeyID: p.AccessKeyID,
	}
	switch p.Type {
	case authz.IAMUser:
		id.UserName = p.Name
	case authz.Root:
		if id.PrincipalID == "" {
			id.PrincipalID = p.Account
		}
	}
	if s := p.Session; s != nil {
		fed := ev.WebIDFederation
		if fed == nil && s.FederatedProvider != "" {
			// A web identity or SAML session names its identity provider (its token carries it).
			fed = &WebIDFederationData{FederatedProvider: s.FederatedProvider}
		}
		if fed != nil && fed.Attributes == nil {
			fed = &WebIDFederationData{FederatedProvider: fed.FederatedProvider, Attributes: map[string]string{}}
		}
		ctx := &SessionContext{
			Attributes: SessionAttributes{
				CreationDate:     s.Issued.UTC().Format(time.RFC3339),
				MFAAuthenticated: fmt.Sprint(s.MFA),
			},
			SourceIdentity:      s.SourceIdentity,
			WebIDFederationData: fed,
		}
		// The issuer: the role behind an assumed-role session; the IAM user behind a federated user
		// (GetFederationToken). Credentials from GetSessionToken have no issuer element.
		switch p.Type {
		case authz.AssumedRole:
			ctx.SessionIssuer = &SessionIssuer{Type: "Role", PrincipalID: s.RoleID, ARN: s.RoleARN,
				AccountID: p.Account, UserName: lastSegment(s.RoleARN, p.Name)}
		case authz.FederatedUser:
			// authn names the IAM user behind a federated user in SourceARN/SourceID.
			issuerARN, issuerID := s.SourceARN, s.SourceID
			if issuerARN == "" {
				issuerARN, issuerID = s.RoleARN, s.RoleID
			}
			ctx.SessionIssuer = &SessionIssuer{Type: "IAMUser", PrincipalID: issuerID, ARN: issuerARN,
				AccountID: p.Account, UserName: lastSegment(issuerARN, "")}
		}
		id.SessionContext = ctx
	}
	return id
}

// lastSegment returns what follows the last '/' of an ARN's resource, or def when arn is "".
func lastSegment(arn, def string) string {
	if arn == "" {
		return def
	}
	return arn[strings.LastIndexByte(arn, '/')+1:]
}

// lookupUsername is LookupEvents' Username for an identity: the user name, the role session name, "root".
func lookupUsername(id UserIdentity) string {
	switch id.Type {
	case string(authz.Root):
		return "root"
	case string(authz.AssumedRole), string(authz.FederatedUser):
		return lastSegment(id.ARN, "")
	}
	return id.UserName
}

// WebIdentityUser is the userIdentity of an AssumeRoleWithWebIdentity call: principalId combines the issuer,
// the audience (application id) and the subject; userName is the subject.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html#STS-API-SAML-WIF
func WebIdentityUser(issuer, audience, subject string) *UserIdentity {
	return &UserIdentity{Type: "WebIdentityUser", PrincipalID: issuer + ":" + audience + ":" + subject,
		UserName: subject, IdentityProvider: issuer}
}

// SAMLUser is the userIdentity of an AssumeRoleWithSAML call: principalId combines the name qualifier and the
// subject; identityProvider is the name qualifier.
func SAMLUser(nameQualifier, subject string) *UserIdentity {
	return &UserIdentity{Type: "SAMLUser", PrincipalID: nameQualifier + ":" + subject, UserName: subject,
		IdentityProvider: nameQualifier}
}

// AWSService is the userIdentity of a request an AWS service made on its own behalf (invokedBy, such as
// "sts.amazonaws.com"), recorded in account's trail.
func AWSService(account, invokedBy string) *UserIdentity {
	return &UserIdentity{Type: "AWSService", AccountID: account, InvokedBy: invokedBy}
}

// ReadOnlyAction reports whether action only reads, by CloudTrail's naming convention (Get, List, Describe,
// Simulate, Lookup). A call that issues credentials is not a pure read for durability: record it with
// Writer.Record, not RecordAsync, whatever this says.
func ReadOnlyAction(action string) bool {
	for _, p := range []string{"Get", "List", "Describe", "Simulate", "Lookup"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

// NewID returns a random version 4 UUID, the form of CloudTrail's eventID.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics instead)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	// Spelled by hand: fmt.Sprintf was a tenth of a request's audit cost.
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}
