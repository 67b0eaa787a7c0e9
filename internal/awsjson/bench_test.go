package awsjson_test

import (
	"context"
	"testing"
	"time"

	"github.com/persona-iam/persona/internal/awsjson"
	"github.com/persona-iam/persona/internal/awsjson/orgsapi"
)

type benchHandler struct {
	orgsapi.Unimplemented
	accounts []orgsapi.Account
}

func (benchHandler) CreateAccount(_ context.Context, in *orgsapi.CreateAccountInput) (*orgsapi.CreateAccountOutput, error) {
	return &orgsapi.CreateAccountOutput{CreateAccountStatus: &orgsapi.CreateAccountStatus{Id: "car-0123456789abcdef", AccountName: in.AccountName,
		State: orgsapi.CreateAccountStateInProgress, RequestedTimestamp: awsjson.At(time.Unix(1700000000, 0))}}, nil
}

func (h benchHandler) ListAccounts(context.Context, *orgsapi.ListAccountsInput) (*orgsapi.ListAccountsOutput, error) {
	return &orgsapi.ListAccountsOutput{Accounts: h.accounts, NextToken: "next"}, nil
}

// BenchmarkDispatch measures a whole JSON 1.1 call without HTTP: decode, validate, call, encode.
func BenchmarkDispatch(b *testing.B) {
	h := benchHandler{}
	for i := 0; i < 20; i++ {
		h.accounts = append(h.accounts, orgsapi.Account{Id: "123456789012", Arn: "arn:aws:organizations::111122223333:account/o-abcdefghij/123456789012",
			Email: "dev@example.com", Name: "dev", Status: orgsapi.AccountStatusActive, State: orgsapi.AccountStateActive,
			JoinedMethod: orgsapi.AccountJoinedMethodCreated, JoinedTimestamp: awsjson.At(time.Unix(1700000000, 0))})
	}
	cases := []struct{ name, op, body string }{
		{"CreateAccount", "CreateAccount", `{"Email":"dev@example.com","AccountName":"dev","RoleName":"Admin","Tags":[{"Key":"team","Value":"a"}]}`},
		{"ListAccounts20", "ListAccounts", `{"MaxResults":20}`},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			body := []byte(c.body)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := orgsapi.Dispatch(context.Background(), h, c.op, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
