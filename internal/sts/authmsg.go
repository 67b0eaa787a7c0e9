package sts

import (
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/secrets"
)

// AuthorizationMessage is the decoded form of an encoded authorization failure message, in the JSON shape
// DecodeAuthorizationMessage returns: whether the request was allowed, whether an explicit deny decided, the
// statements that matched, and the request's context (principal, action, resource, condition values).
// https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html
type AuthorizationMessage struct {
	Allowed           bool         `json:"allowed"`
	ExplicitDeny      bool         `json:"explicitDeny"`
	MatchedStatements itemsOf[any] `json:"matchedStatements"`
	Failures          itemsOf[any] `json:"failures"`
	Context           msgContext   `json:"context"`
}

type itemsOf[T any] struct {
	Items []T `json:"items"`
}

type msgContext struct {
	Principal  msgPrincipal          `json:"principal"`
	Action     string                `json:"action"`
	Resource   string                `json:"resource"`
	Conditions itemsOf[msgCondition] `json:"conditions"`
}

type msgPrincipal struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	ARN  string `json:"arn"`
}

type msgCondition struct {
	Key    string                `json:"key"`
	Values itemsOf[msgCondValue] `json:"values"`
}

type msgCondValue struct {
	Value string `json:"value"`
}

type matchedStatement struct {
	StatementID string `json:"statementId,omitempty"`
	Effect      string `json:"effect"`
	PolicyID    string `json:"policyId,omitempty"`
	Index       int    `json:"index"`
}

// sealedMessage is what an encoded message carries: the message and the account whose callers may decode it.
type sealedMessage struct {
	Account string               `json:"a"`
	Message AuthorizationMessage `json:"m"`
}

var authMsgAD = []byte("persona authorization message v1")

// EncodeAuthorizationMessage seals the details of a denial for p under the master key. Only a caller of p's account
// allowed sts:DecodeAuthorizationMessage can read them back: the details (which statements denied, condition
// values) can be privileged. conditions are the request's condition keys worth reporting.
func EncodeAuthorizationMessage(box *secrets.Box, p *authz.Principal, d *authz.DeniedError, conditions map[string][]string) (string, error) {
	if box == nil || p == nil || d == nil {
		return "", errors.New("sts: nothing to encode")
	}
	m := AuthorizationMessage{
		ExplicitDeny:      len(d.Matched) > 0,
		MatchedStatements: itemsOf[any]{Items: []any{}},
		Failures:          itemsOf[any]{Items: []any{}},
		Context: msgContext{
			Principal:  msgPrincipal{ID: p.UserID, Name: p.Name, ARN: p.ARN},
			Action:     d.Action,
			Resource:   d.Resource,
			Conditions: itemsOf[msgCondition]{Items: []msgCondition{}},
		},
	}
	for _, st := range d.Matched {
		m.MatchedStatements.Items = append(m.MatchedStatements.Items, matchedStatement{StatementID: st.Sid, Effect: "DENY", PolicyID: st.PolicyID, Index: st.Index})
	}
	for k, vs := range conditions {
		c := msgCondition{Key: k, Values: itemsOf[msgCondValue]{Items: []msgCondValue{}}}
		for _, v := range vs {
			c.Values.Items = append(c.Values.Items, msgCondValue{Value: v})
		}
		m.Context.Conditions.Items = append(m.Context.Conditions.Items, c)
	}
	plain, err := json.Marshal(sealedMessage{Account: p.Account, Message: m})
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(box.Seal(plain, authMsgAD)), nil
}

type decodedMessage struct {
	AuthorizationMessage
	account string
}

func decodeAuthorizationMessage(box *secrets.Box, encoded string) (*decodedMessage, error) {
	if box == nil {
		return nil, errors.New("sts: no master key")
	}
	sealed, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return nil, err
	}
	plain, err := box.Open(sealed, authMsgAD)
	if err != nil {
		return nil, err
	}
	var sm sealedMessage
	if err := json.Unmarshal(plain, &sm); err != nil {
		return nil, err
	}
	return &decodedMessage{AuthorizationMessage: sm.Message, account: sm.Account}, nil
}
