package server

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/postgres"
	"github.com/persona-iam/persona/internal/store/postgres/pgtest"
)

// twoNodes starts two Persona servers, each with its own connection pool, on one PostgreSQL schema: the deployment
// README describes for several nodes.
func twoNodes(t *testing.T) (a, b *env) {
	t.Helper()
	dsn := pgtest.FreshSchema(t)
	node := func(t *testing.T) store.Store {
		st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	return newEnv(t, node), newEnv(t, node)
}

// TestTwoNodesServeOneAccount writes through one node and reads through the other.
func TestTwoNodesServeOneAccount(t *testing.T) {
	a, b := twoNodes(t)
	ctx := context.Background()
	must[*iam.CreateRoleOutput](t)(a.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("shared"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	got := must[*iam.GetRoleOutput](t)(b.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("shared")}))
	if aws.ToString(got.Role.RoleName) != "shared" {
		t.Errorf("node b sees role %q", aws.ToString(got.Role.RoleName))
	}
	_, err := b.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("SHARED"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
	apiError(t, err, "EntityAlreadyExists")
}

// TestTwoNodesRaceForOneName creates the same role through both nodes at once: exactly one create wins.
func TestTwoNodesRaceForOneName(t *testing.T) {
	a, b := twoNodes(t)
	ctx := context.Background()
	const rounds = 10
	for i := range rounds {
		name := aws.String("race-" + string(rune('a'+i)))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, e := range []*env{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[j] = e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: name, AssumeRolePolicyDocument: aws.String(ec2Trust)})
			}()
		}
		wg.Wait()
		ok, exists := 0, 0
		for _, err := range errs {
			var ae smithy.APIError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &ae) && ae.ErrorCode() == "EntityAlreadyExists":
				exists++
			default:
				t.Fatalf("round %d: unexpected error %v", i, err)
			}
		}
		if ok != 1 || exists != 1 {
			t.Fatalf("round %d: %d creates succeeded and %d saw EntityAlreadyExists, want 1 and 1", i, ok, exists)
		}
	}
	roles := must[*iam.ListRolesOutput](t)(b.iam.ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String("/")}))
	if len(roles.Roles) != rounds {
		t.Errorf("ListRoles returned %d roles, want %d", len(roles.Roles), rounds)
	}
}

// TestTwoNodesSeePolicyChanges denies a user through node a; node b, which had cached the user's allow, applies the
// deny once it notices the other node's write (within its watch interval, as IAM's own changes are eventually
// consistent).
func TestTwoNodesSeePolicyChanges(t *testing.T) {
	a, b := twoNodes(t)
	ctx := context.Background()
	must[*iam.CreateUserOutput](t)(a.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")}))
	must[*iam.AttachUserPolicyOutput](t)(a.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")}))
	key := must[*iam.CreateAccessKeyOutput](t)(a.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")})).AccessKey
	bobOnB := b.iamAs(aws.Credentials{AccessKeyID: aws.ToString(key.AccessKeyId), SecretAccessKey: aws.ToString(key.SecretAccessKey)})
	// Node b caches bob's key and policies.
	must[*iam.ListRolesOutput](t)(bobOnB.ListRoles(ctx, &iam.ListRolesInput{}))

	must[*iam.PutUserPolicyOutput](t)(a.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("deny"), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:ListRoles","Resource":"*"}]}`)}))
	// The watch interval in tests is 50ms; allow generously more before calling node b stale.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := bobOnB.ListRoles(ctx, &iam.ListRolesInput{})
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied" {
			break
		}
		if err != nil {
			t.Fatalf("ListRoles on node b: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("node b still allows ListRoles 10s after node a denied it")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Deactivating the key through node a stops it on node b as well.
	must[*iam.UpdateAccessKeyOutput](t)(a.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: key.AccessKeyId, Status: "Inactive"}))
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, err := bobOnB.GetUser(ctx, &iam.GetUserInput{})
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "InvalidClientTokenId" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node b still accepts a deactivated key 10s later (last answer %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
