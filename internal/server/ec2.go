package server

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/persona-iam/persona/internal/agent"
	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery"
	"github.com/persona-iam/persona/internal/ec2"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/sts"
	"github.com/persona-iam/persona/internal/token"
	"github.com/persona-iam/persona/sigv4"
)

// The EC2 part of Persona speaks EC2's own Query protocol (the "ec2" protocol of botocore: Action and Version in a
// form, lists as Name.N, responses as <ActionResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"> with
// lowerCamel members, errors as <Response><Errors><Error>), so `aws ec2 associate-iam-instance-profile
// --endpoint-url …` and the SDKs' EC2 clients manage associations unchanged. Two actions are Persona's own, in the
// same protocol, because EC2 has no equivalent for a host that already exists: RegisterInstance (the stand-in for
// RunInstances, returning the instance secret once) and ResetInstanceIdentity (a new secret; the old one stops
// working). The agent's exchange is a small JSON endpoint (agent.ExchangePath), SigV4-signed with the instance's
// identity, because no AWS API hands an instance its role credentials: EC2 does that inside the hypervisor.

const ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// sourceEC2 is the eventSource of EC2 calls in the audit trail.
const sourceEC2 = "ec2.amazonaws.com"

// ec2Params is a request's parameters for its audit record: the form, first values, without Action and Version.
func ec2Params(form map[string][]string) map[string]any {
	params := map[string]any{}
	for k, v := range form {
		if k != "Action" && k != "Version" && len(v) > 0 {
			params[k] = v[0]
		}
	}
	return params
}

func (s *Server) ec2Service() *service {
	return &service{name: "ec2", namespace: ec2Namespace, dispatch: s.ec2Dispatch, encodeError: encodeEC2Error}
}

// encodeEC2Error writes EC2's error document
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html#api-error-response).
func encodeEC2Error(e *awsquery.Error, _ string, requestID string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Response><Errors><Error><Code>")
	xml.EscapeText(&b, []byte(e.Code))
	b.WriteString("</Code><Message>")
	xml.EscapeText(&b, []byte(e.Message))
	b.WriteString("</Message></Error></Errors><RequestID>")
	xml.EscapeText(&b, []byte(requestID))
	b.WriteString("</RequestID></Response>")
	return b.Bytes()
}

// ec2Error turns a denial into EC2's UnauthorizedOperation; other errors pass through the funnel.
func ec2Error(err error) error {
	var denied *authz.DeniedError
	if errors.As(err, &denied) {
		return awsquery.NewError("UnauthorizedOperation", http.StatusForbidden,
			"You are not authorized to perform this operation. %s", denied.Error())
	}
	return err
}

// xmlw builds an EC2 response document.
type xmlw struct{ b bytes.Buffer }

func (w *xmlw) open(name string)  { w.b.WriteString("<" + name + ">") }
func (w *xmlw) close(name string) { w.b.WriteString("</" + name + ">") }
func (w *xmlw) elem(name, v string) {
	w.open(name)
	xml.EscapeText(&w.b, []byte(v))
	w.close(name)
}

func ec2Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (w *xmlw) association(name string, a *ec2.AssociationOutput) {
	w.open(name)
	w.elem("associationId", a.Association.ID)
	w.elem("instanceId", a.Association.InstanceID)
	w.open("iamInstanceProfile")
	w.elem("arn", a.Association.ProfileARN)
	w.elem("id", a.Association.ProfileID)
	w.close("iamInstanceProfile")
	w.elem("state", a.State)
	w.elem("timestamp", ec2Time(a.Association.Associated))
	w.close(name)
}

func response(action, requestID string, body func(w *xmlw)) []byte {
	w := &xmlw{}
	w.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.b.WriteString("<" + action + `Response xmlns="` + ec2Namespace + `">`)
	w.elem("requestId", requestID)
	body(w)
	w.b.WriteString("</" + action + "Response>")
	return w.b.Bytes()
}

// ec2List returns the values of an EC2-protocol list parameter (Name.1, Name.2, …) in index order.
func ec2List(form map[string][]string, name string) []string {
	type kv struct {
		i int
		v string
	}
	var items []kv
	for k, v := range form {
		rest, ok := strings.CutPrefix(k, name+".")
		if !ok || len(v) == 0 {
			continue
		}
		if i, err := strconv.Atoi(rest); err == nil && i > 0 {
			items = append(items, kv{i, v[0]})
		}
	}
	sort.Slice(items, func(a, b int) bool { return items[a].i < items[b].i })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// ec2Seq returns the values of Name.1, Name.2, … up to the first index missing, as SDKs number a list. Unlike
// ec2List it looks up each key instead of scanning the form, so reading every filter's values stays linear: scanning
// the form once per filter let a request of 5,000 filters cost the server seconds of CPU before it was authorized.
func ec2Seq(form map[string][]string, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v := form[name+"."+strconv.Itoa(i)]
		if len(v) == 0 {
			return out
		}
		out = append(out, v[0])
	}
}

func profileRef(form map[string][]string) ec2.ProfileRef {
	return ec2.ProfileRef{ARN: first(form["IamInstanceProfile.Arn"]), Name: first(form["IamInstanceProfile.Name"])}
}

func (s *Server) ec2Dispatch(ctx context.Context, action string, form map[string][]string, requestID string) ([]byte, error) {
	out, err := s.ec2Call(ctx, action, form, requestID)
	return out, ec2Error(err)
}

func (s *Server) ec2Call(ctx context.Context, action string, form map[string][]string, requestID string) ([]byte, error) {
	switch action {
	case "AssociateIamInstanceProfile":
		a, err := s.ec2.AssociateIamInstanceProfile(ctx, first(form["InstanceId"]), profileRef(form))
		if err != nil {
			return nil, err
		}
		return response(action, requestID, func(w *xmlw) { w.association("iamInstanceProfileAssociation", a) }), nil
	case "DisassociateIamInstanceProfile":
		a, err := s.ec2.DisassociateIamInstanceProfile(ctx, first(form["AssociationId"]))
		if err != nil {
			return nil, err
		}
		return response(action, requestID, func(w *xmlw) { w.association("iamInstanceProfileAssociation", a) }), nil
	case "ReplaceIamInstanceProfileAssociation":
		a, err := s.ec2.ReplaceIamInstanceProfileAssociation(ctx, first(form["AssociationId"]), profileRef(form))
		if err != nil {
			return nil, err
		}
		return response(action, requestID, func(w *xmlw) { w.association("iamInstanceProfileAssociation", a) }), nil
	case "DescribeIamInstanceProfileAssociations":
		in := &ec2.DescribeInput{AssociationIDs: ec2List(form, "AssociationId"), NextToken: first(form["NextToken"])}
		if v := first(form["MaxResults"]); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, awsquery.NewError("InvalidParameterValue", http.StatusBadRequest, "Value (%s) for parameter maxResults is invalid.", v)
			}
			in.MaxResults = n
		}
		for i := 1; ; i++ {
			prefix := "Filter." + strconv.Itoa(i)
			name, ok := form[prefix+".Name"]
			if !ok {
				break
			}
			values := ec2Seq(form, prefix+".Value")
			switch first(name) {
			case "instance-id":
				in.InstanceIDs = append(in.InstanceIDs, values...)
			case "state":
				in.States = append(in.States, values...)
			default:
				return nil, awsquery.NewError("InvalidParameterValue", http.StatusBadRequest,
					"The filter '%s' is invalid", first(name))
			}
		}
		list, next, err := s.ec2.DescribeIamInstanceProfileAssociations(ctx, in)
		if err != nil {
			return nil, err
		}
		return response(action, requestID, func(w *xmlw) {
			w.open("iamInstanceProfileAssociationSet")
			for i := range list {
				w.association("item", &list[i])
			}
			w.close("iamInstanceProfileAssociationSet")
			if next != "" {
				w.elem("nextToken", next)
			}
		}), nil
	case "TerminateInstances":
		ids, err := s.ec2.TerminateInstances(ctx, ec2List(form, "InstanceId"))
		if err != nil {
			return nil, err
		}
		return response(action, requestID, func(w *xmlw) {
			w.open("instancesSet")
			for _, id := range ids {
				w.open("item")
				w.elem("instanceId", id)
				w.b.WriteString("<currentState><code>32</code><name>shutting-down</name></currentState>")
				w.b.WriteString("<previousState><code>16</code><name>running</name></previousState>")
				w.close("item")
			}
			w.close("instancesSet")
		}), nil
	case "RegisterInstance":
		out, err := s.ec2.RegisterInstance(ctx, &ec2.RegisterInput{
			InstanceType: first(form["InstanceType"]), ImageID: first(form["ImageId"]),
			PrivateIP: first(form["PrivateIpAddress"]), AvailabilityZone: first(form["Placement.AvailabilityZone"]),
			Profile: profileRef(form), ServicePrincipal: first(form["ServicePrincipal"]),
		})
		if err != nil {
			return nil, err
		}
		return response(action, requestID, func(w *xmlw) {
			w.elem("instanceId", out.Instance.ID)
			w.elem("instanceSecret", out.Secret.Reveal())
			w.elem("ownerId", out.Account)
			w.elem("region", out.Instance.Region)
			w.elem("availabilityZone", out.Instance.AvailabilityZone)
			w.elem("servicePrincipal", out.Instance.ServicePrincipal)
			if out.Association != nil {
				w.association("iamInstanceProfileAssociation", &ec2.AssociationOutput{Association: out.Association, State: "associated"})
			}
		}), nil
	case "ResetInstanceIdentity":
		id := first(form["InstanceId"])
		secret, err := s.ec2.ResetInstanceIdentity(ctx, id)
		if err != nil {
			return nil, err
		}
		return response(action, requestID, func(w *xmlw) {
			w.elem("instanceId", id)
			w.elem("instanceSecret", secret.Reveal())
		}), nil
	}
	return nil, awsquery.NewError("InvalidAction", http.StatusBadRequest, "The action %s is not valid for this web service.", action)
}

// instanceCredentials is the agent's identity exchange: a POST signed with SigV4 for service ec2, the instance id
// as access key id and the instance secret as key. It answers the agent.ExchangeResponse JSON, or
// agent.ExchangeErrorBody with AWS's authentication codes (403 for an unknown, terminated or reset identity and a
// bad signature: the agent stops serving credentials on a 4xx and rides out a 5xx).
func (s *Server) instanceCredentials(w http.ResponseWriter, r *http.Request) {
	requestID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", requestID)
	fail := func(status int, code, msg string) {
		s.cfg.Logger.Info("instance credential exchange refused", "id", requestID, "code", code, "source", s.sourceIP(r))
		b, _ := json.Marshal(agent.ExchangeErrorBody{Code: code, Message: msg})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(b)
	}
	body, err := readBody(w, r, 1<<10)
	if err != nil {
		fail(http.StatusBadRequest, "InvalidRequest", "The request body is too large.")
		return
	}
	now := s.cfg.Now()
	req, err := sigv4.Parse(r, now)
	var sigErr *sigv4.Error
	if errors.As(err, &sigErr) {
		fail(sigErr.HTTPStatus, sigErr.Code, sigErr.Message)
		return
	}
	if err != nil {
		fail(http.StatusBadRequest, "IncompleteSignature", err.Error())
		return
	}
	if req.SecurityToken != "" || req.Credential.Service != agent.ExchangeService || req.Presigned {
		// Only an instance identity may exchange: never a role credential, never a presigned URL.
		e := sigv4.InvalidClientTokenID()
		fail(e.HTTPStatus, e.Code, e.Message)
		return
	}
	secret, id, err := s.ec2.Secret(r.Context(), req.Credential.AccessKeyID)
	if errors.Is(err, store.ErrNotFound) {
		e := sigv4.InvalidClientTokenID()
		fail(e.HTTPStatus, e.Code, e.Message)
		return
	}
	if err != nil {
		s.cfg.Logger.Error("instance credential exchange failed", "id", requestID, "err", err)
		fail(http.StatusInternalServerError, "ServiceFailure", fmt.Sprintf("Persona failed to process the request (request id %s).", requestID))
		return
	}
	if err := s.exchangeVerifier.Verify(r, req, body, secret); err != nil {
		if errors.As(err, &sigErr) {
			fail(sigErr.HTTPStatus, sigErr.Code, sigErr.Message)
			return
		}
		fail(http.StatusForbidden, "SignatureDoesNotMatch", err.Error())
		return
	}
	out, err := s.ec2.Exchange(r.Context(), id)
	if err != nil {
		s.cfg.Logger.Error("instance credential exchange failed", "id", requestID, "instance", id.Instance.ID, "err", err)
		fail(http.StatusInternalServerError, "ServiceFailure", fmt.Sprintf("Persona failed to process the request (request id %s).", requestID))
		return
	}
	inst := id.Instance
	if c := out.Credentials; c != nil {
		// Delivering role credentials is an AssumeRole by the EC2 service in the account's trail, as CloudTrail
		// records it, written before the credentials are handed out.
		if err := s.recordInstanceSession(r, requestID, id, out, now); err != nil {
			s.cfg.Logger.Error("instance credential exchange: audit record failed", "id", requestID, "err", err)
			fail(http.StatusInternalServerError, "ServiceFailure", fmt.Sprintf("Persona failed to process the request (request id %s).", requestID))
			return
		}
	}
	resp := agent.ExchangeResponse{
		InstanceID: inst.ID, AccountID: id.Account, Region: inst.Region, AvailabilityZone: inst.AvailabilityZone,
		InstanceType: inst.InstanceType, ImageID: inst.ImageID, PrivateIP: inst.PrivateIP, PendingTime: inst.Launched,
		InstanceProfileARN: out.ProfileARN, InstanceProfileID: out.ProfileID, RoleName: out.RoleName, RoleARN: out.RoleARN,
		Code: out.Code, Message: out.Message,
	}
	if c := out.Credentials; c != nil {
		resp.Credentials = &agent.ExchangeCredentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
			SessionToken: c.SessionToken, Expiration: c.Expiration}
	}
	b, err := json.Marshal(resp)
	if err != nil {
		fail(http.StatusInternalServerError, "ServiceFailure", "encoding failed")
		return
	}
	s.cfg.Logger.Info("instance credential exchange", "id", requestID, "instance", inst.ID, "account", id.Account,
		"role", out.RoleARN, "code", out.Code)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// instanceMinter mints instance-profile role sessions with STS's token ring; nil (no credentials, the exchange
// says CredentialsUnavailable) without a ring.
func instanceMinter(ring *token.Ring) ec2.Minter {
	if ring == nil {
		return nil
	}
	return func(_ context.Context, s ec2.Session, now time.Time) (*ec2.Credentials, error) {
		c, _, err := sts.MintRoleSession(ring, sts.RoleSession{Kind: token.KindInstanceProfile, RoleARN: s.RoleARN,
			RoleID: s.RoleID, SessionName: s.SessionName, Duration: s.Duration}, now)
		if err != nil {
			return nil, err
		}
		return &ec2.Credentials{AccessKeyID: c.AccessKeyId, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
			Expiration: c.Expiration}, nil
	}
}

// recordInstanceSession writes the AssumeRole record of a credential delivery: userIdentity AWSService invoked by
// the instance's service principal, the role and the session named after the instance. The secret and the token
// are never in it.
func (s *Server) recordInstanceSession(r *http.Request, requestID string, id *ec2.Identity, out *ec2.ExchangeOutput, now time.Time) error {
	ev := audit.Event{
		Time: now, Region: s.cfg.Region, SourceIP: s.sourceIP(r), UserAgent: r.UserAgent(), RequestID: requestID,
		Identity: audit.AWSService(id.Account, id.Instance.ServicePrincipal),
		Source:   audit.SourceSTS, Action: "AssumeRole",
		Params: map[string]any{"roleArn": out.RoleARN, "roleSessionName": id.Instance.ID,
			"sourceInstanceArn": s.ec2.InstanceARN(id.Instance.Region, id.Account, id.Instance.ID)},
		Response: map[string]any{
			"credentials":     map[string]any{"accessKeyId": out.Credentials.AccessKeyID, "expiration": out.Credentials.Expiration.UTC().Format(time.RFC3339)},
			"assumedRoleUser": map[string]any{"arn": "arn:aws:sts::" + id.Account + ":assumed-role/" + out.RoleName + "/" + id.Instance.ID},
		},
		Resources:        []audit.Resource{{ARN: out.RoleARN, AccountID: id.Account, Type: "AWS::IAM::Role"}},
		RecipientAccount: id.Account,
	}
	row, err := audit.Build(ev)
	if err != nil {
		return err
	}
	return s.audit.writer.Record(r.Context(), row)
}
