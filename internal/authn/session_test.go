package authn

import (
	"strings"
	"testing"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/token"
)

// FuzzSessionPrincipal: whatever a (sealed, so trusted) session says, the principal built from it stays in the
// session's account, has a parseable ARN of the right kind, and never comes out as a long-term principal without
// its session.
func FuzzSessionPrincipal(f *testing.F) {
	f.Add(uint8(token.KindAssumeRole), "111122223333", "arn:aws:iam::111122223333:role/app/R", "AROAX", "s1")
	f.Add(uint8(token.KindSessionToken), "111122223333", "arn:aws:iam::111122223333:root", "111122223333", "")
	f.Add(uint8(token.KindSessionToken), "111122223333", "arn:aws:iam::111122223333:user/bob", "AIDAX", "")
	f.Add(uint8(token.KindFederation), "111122223333", "arn:aws:iam::111122223333:user/bob", "AIDAX", "Jane")
	f.Add(uint8(token.KindAssumeRole), "111122223333", "arn:aws:iam::444455556666:role/R", "AROAX", "s1")
	f.Fuzz(func(t *testing.T, kind uint8, account, principalARN, id, name string) {
		s := &token.Session{Kind: token.Kind(kind), Account: account, PrincipalARN: principalARN, PrincipalID: id, SessionName: name}
		p, err := SessionPrincipal(s, "aws")
		if err != nil {
			return
		}
		if p.Account != account || p.Session == nil {
			t.Fatalf("principal %+v from session %+v", p, s)
		}
		a, err := arn.Parse(p.ARN)
		if err != nil || a.AccountID != account {
			t.Fatalf("principal ARN %q (%v) not in account %s", p.ARN, err, account)
		}
		switch p.Type {
		case authz.AssumedRole:
			if !strings.HasPrefix(p.ARN, "arn:aws:sts::"+account+":assumed-role/") || p.Session.RoleARN != principalARN || p.UserID != id+":"+name {
				t.Fatalf("assumed role %+v", p)
			}
		case authz.FederatedUser:
			if p.ARN != "arn:aws:sts::"+account+":federated-user/"+name || s.Kind != token.KindFederation {
				t.Fatalf("federated user %+v", p)
			}
		case authz.IAMUser, authz.Root:
			if s.Kind != token.KindSessionToken || p.ARN != principalARN {
				t.Fatalf("%s from a %s session: %+v", p.Type, s.Kind, p)
			}
		default:
			t.Fatalf("type %s", p.Type)
		}
	})
}
