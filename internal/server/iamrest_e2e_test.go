package server

import (
	"bytes"
	"context"
	"encoding/base32"
	"fmt"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	persiam "github.com/persona-iam/persona/internal/iam"
	"github.com/persona-iam/persona/internal/store"
)

// userWithPolicy creates a user with an inline policy and an access key, and returns a client signed by it.
func (e *env) userWithPolicy(name, policyDoc string) *iam.Client {
	e.t.Helper()
	ctx := context.Background()
	must[*iam.CreateUserOutput](e.t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}))
	if policyDoc != "" {
		must[*iam.PutUserPolicyOutput](e.t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policyDoc)}))
	}
	key := must[*iam.CreateAccessKeyOutput](e.t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})).AccessKey
	return e.iamAs(aws.Credentials{AccessKeyID: aws.ToString(key.AccessKeyId), SecretAccessKey: aws.ToString(key.SecretAccessKey)})
}

func tag(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

// TestInstanceProfiles drives the instance profile lifecycle on every backend.
func TestInstanceProfiles(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			ip := must[*iam.CreateInstanceProfileOutput](t)(e.iam.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{
				InstanceProfileName: aws.String("web"), Path: aws.String("/app/"), Tags: []types.Tag{tag("team", "blue")},
			})).InstanceProfile
			if id := aws.ToString(ip.InstanceProfileId); !strings.HasPrefix(id, "AIPA") || len(id) != 21 {
				t.Errorf("InstanceProfileId = %s, want AIPA + 17 characters", id)
			}
			if got, want := aws.ToString(ip.Arn), "arn:aws:iam::"+testAccount+":instance-profile/app/web"; got != want {
				t.Errorf("Arn = %s, want %s", got, want)
			}
			if len(ip.Roles) != 0 {
				t.Errorf("a new profile has roles: %+v", ip.Roles)
			}
			_, err := e.iam.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("WEB")})
			ae := apiError(t, err, "EntityAlreadyExists")
			if ae.ErrorMessage() != "Instance Profile WEB already exists." {
				t.Errorf("message = %q", ae.ErrorMessage())
			}
			must[*iam.CreateInstanceProfileOutput](t)(e.iam.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("batch")}))

			must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("web-role"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
			must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("other-role"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
			_, err = e.iam.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("nope")})
			apiError(t, err, "NoSuchEntity")
			must[*iam.AddRoleToInstanceProfileOutput](t)(e.iam.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("web-role")}))
			_, err = e.iam.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("other-role")})
			ae = apiError(t, err, "LimitExceeded")
			if ae.ErrorMessage() != "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1" {
				t.Errorf("message = %q", ae.ErrorMessage())
			}

			got := must[*iam.GetInstanceProfileOutput](t)(e.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("web")})).InstanceProfile
			if len(got.Roles) != 1 || aws.ToString(got.Roles[0].RoleName) != "web-role" || aws.ToString(got.Roles[0].AssumeRolePolicyDocument) == "" {
				t.Errorf("Roles = %+v, want web-role with its trust policy", got.Roles)
			}
			if diff := cmp.Diff([]types.Tag{tag("team", "blue")}, got.Tags, cmpTags); diff != "" {
				t.Errorf("tags mismatch (-want +got):\n%s", diff)
			}
			forRole := must[*iam.ListInstanceProfilesForRoleOutput](t)(e.iam.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("web-role")}))
			if len(forRole.InstanceProfiles) != 1 || aws.ToString(forRole.InstanceProfiles[0].InstanceProfileName) != "web" {
				t.Errorf("ListInstanceProfilesForRole = %+v", forRole.InstanceProfiles)
			}
			_, err = e.iam.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("ghost")})
			apiError(t, err, "NoSuchEntity")

			var names []string
			p := iam.NewListInstanceProfilesPaginator(e.iam, &iam.ListInstanceProfilesInput{MaxItems: aws.Int32(1)})
			for p.HasMorePages() {
				for _, ip := range must[*iam.ListInstanceProfilesOutput](t)(p.NextPage(ctx)).InstanceProfiles {
					names = append(names, aws.ToString(ip.InstanceProfileName))
				}
			}
			if diff := cmp.Diff([]string{"batch", "web"}, names); diff != "" {
				t.Errorf("profiles mismatch (-want +got):\n%s", diff)
			}
			app := must[*iam.ListInstanceProfilesOutput](t)(e.iam.ListInstanceProfiles(ctx, &iam.ListInstanceProfilesInput{PathPrefix: aws.String("/app/")}))
			if len(app.InstanceProfiles) != 1 || len(app.InstanceProfiles[0].Roles) != 1 {
				t.Errorf("/app/ profiles = %+v", app.InstanceProfiles)
			}

			// Neither the role nor the profile can go while they are linked.
			_, err = e.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("web-role")})
			ae = apiError(t, err, "DeleteConflict")
			if ae.ErrorMessage() != "Cannot delete entity, must remove roles from instance profile first." {
				t.Errorf("message = %q", ae.ErrorMessage())
			}
			_, err = e.iam.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("web")})
			apiError(t, err, "DeleteConflict")

			_, err = e.iam.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("other-role")})
			apiError(t, err, "NoSuchEntity")
			must[*iam.RemoveRoleFromInstanceProfileOutput](t)(e.iam.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("web-role")}))
			forRole = must[*iam.ListInstanceProfilesForRoleOutput](t)(e.iam.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("web-role")}))
			if len(forRole.InstanceProfiles) != 0 {
				t.Errorf("after removal the role is still in %+v", forRole.InstanceProfiles)
			}
			// Another role now fits.
			must[*iam.AddRoleToInstanceProfileOutput](t)(e.iam.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("other-role")}))
			must[*iam.RemoveRoleFromInstanceProfileOutput](t)(e.iam.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("other-role")}))
			must[*iam.DeleteRoleOutput](t)(e.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("web-role")}))

			// Tags.
			must[*iam.TagInstanceProfileOutput](t)(e.iam.TagInstanceProfile(ctx, &iam.TagInstanceProfileInput{InstanceProfileName: aws.String("web"), Tags: []types.Tag{tag("TEAM", "red"), tag("env", "prod")}}))
			tags := must[*iam.ListInstanceProfileTagsOutput](t)(e.iam.ListInstanceProfileTags(ctx, &iam.ListInstanceProfileTagsInput{InstanceProfileName: aws.String("web")}))
			if diff := cmp.Diff([]types.Tag{tag("TEAM", "red"), tag("env", "prod")}, tags.Tags, cmpTags); diff != "" {
				t.Errorf("tags mismatch (-want +got):\n%s", diff)
			}
			must[*iam.UntagInstanceProfileOutput](t)(e.iam.UntagInstanceProfile(ctx, &iam.UntagInstanceProfileInput{InstanceProfileName: aws.String("web"), TagKeys: []string{"team"}}))
			tags = must[*iam.ListInstanceProfileTagsOutput](t)(e.iam.ListInstanceProfileTags(ctx, &iam.ListInstanceProfileTagsInput{InstanceProfileName: aws.String("web")}))
			if diff := cmp.Diff([]types.Tag{tag("env", "prod")}, tags.Tags, cmpTags); diff != "" {
				t.Errorf("tags after untag mismatch (-want +got):\n%s", diff)
			}

			must[*iam.DeleteInstanceProfileOutput](t)(e.iam.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("web")}))
			_, err = e.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("web")})
			ae = apiError(t, err, "NoSuchEntity")
			if ae.ErrorMessage() != "Instance Profile web cannot be found." {
				t.Errorf("message = %q", ae.ErrorMessage())
			}
		})
	}
}

// TestAddRoleToInstanceProfileNeedsPassRole pins AWS's rule: editing a profile is not enough, the caller must be
// allowed to pass the role, or it could give any instance launched with the profile a role it cannot use itself.
func TestAddRoleToInstanceProfileNeedsPassRole(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("admin"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	must[*iam.CreateInstanceProfileOutput](t)(e.iam.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("p")}))
	mallory := e.userWithPolicy("mallory", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"iam:AddRoleToInstanceProfile","Resource":"*"},
		{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::*:role/app"}]}`)
	_, err := mallory.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("p"), RoleName: aws.String("admin")})
	ae := apiError(t, err, "AccessDenied")
	if !strings.Contains(ae.ErrorMessage(), "iam:PassRole on resource: arn:aws:iam::"+testAccount+":role/admin") {
		t.Errorf("message = %q, want it to name iam:PassRole on the admin role", ae.ErrorMessage())
	}
	must[*iam.AddRoleToInstanceProfileOutput](t)(mallory.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("p"), RoleName: aws.String("app")}))
	// Without iam:ListInstanceProfiles the listing is refused on the instance-profile ARN.
	_, err = mallory.ListInstanceProfiles(ctx, &iam.ListInstanceProfilesInput{})
	ae = apiError(t, err, "AccessDenied")
	if !strings.Contains(ae.ErrorMessage(), "arn:aws:iam::"+testAccount+":instance-profile/") {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
}

// TestTagsOnEntities tags users, roles and policies: replacement without regard to case, AWS's limits, untag,
// paginated listing.
func TestTagsOnEntities(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u"), Tags: []types.Tag{tag("team", "blue")}}))
	must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	pol := must[*iam.CreatePolicyOutput](t)(e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)})).Policy

	// Users: a key in another case replaces the old one.
	must[*iam.TagUserOutput](t)(e.iam.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("u"), Tags: []types.Tag{tag("Team", "red"), tag("cost", "42")}}))
	ut := must[*iam.ListUserTagsOutput](t)(e.iam.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String("u")}))
	if diff := cmp.Diff([]types.Tag{tag("Team", "red"), tag("cost", "42")}, ut.Tags, cmpTags); diff != "" {
		t.Errorf("user tags mismatch (-want +got):\n%s", diff)
	}
	must[*iam.UntagUserOutput](t)(e.iam.UntagUser(ctx, &iam.UntagUserInput{UserName: aws.String("u"), TagKeys: []string{"COST", "absent"}}))
	ut = must[*iam.ListUserTagsOutput](t)(e.iam.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String("u")}))
	if diff := cmp.Diff([]types.Tag{tag("Team", "red")}, ut.Tags, cmpTags); diff != "" {
		t.Errorf("user tags after untag mismatch (-want +got):\n%s", diff)
	}
	_, err := e.iam.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("ghost"), Tags: []types.Tag{tag("a", "b")}})
	apiError(t, err, "NoSuchEntity")

	// Roles: 50 tags at most, counting those already there.
	var many []types.Tag
	for i := 0; i < 49; i++ {
		many = append(many, tag(fmt.Sprintf("k%02d", i), "v"))
	}
	must[*iam.TagRoleOutput](t)(e.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("r"), Tags: many}))
	must[*iam.TagRoleOutput](t)(e.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("r"), Tags: []types.Tag{tag("k00", "replaced"), tag("k49", "v")}}))
	_, err = e.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("r"), Tags: []types.Tag{tag("one-too-many", "v")}})
	apiError(t, err, "LimitExceeded")
	_, err = e.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("r"), Tags: []types.Tag{tag("aws:reserved", "v")}})
	apiError(t, err, "InvalidInput")
	_, err = e.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("r"), Tags: []types.Tag{tag("dup", "1"), tag("DUP", "2")}})
	apiError(t, err, "InvalidInput")
	_, err = e.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("r"), Tags: []types.Tag{tag(strings.Repeat("k", 129), "v")}})
	apiError(t, err, "ValidationError")
	_, err = e.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("r"), Tags: []types.Tag{tag("k", strings.Repeat("v", 257))}})
	apiError(t, err, "ValidationError")
	var keys []string
	pages := 0
	p := iam.NewListRoleTagsPaginator(e.iam, &iam.ListRoleTagsInput{RoleName: aws.String("r"), MaxItems: aws.Int32(20)})
	for p.HasMorePages() {
		page := must[*iam.ListRoleTagsOutput](t)(p.NextPage(ctx))
		pages++
		for _, tg := range page.Tags {
			keys = append(keys, aws.ToString(tg.Key))
			if aws.ToString(tg.Key) == "k00" && aws.ToString(tg.Value) != "replaced" {
				t.Errorf("k00 = %s, want replaced", aws.ToString(tg.Value))
			}
		}
	}
	if len(keys) != 50 || pages != 3 {
		t.Errorf("listed %d tags in %d pages, want 50 in 3", len(keys), pages)
	}
	role := must[*iam.GetRoleOutput](t)(e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")})).Role
	if len(role.Tags) != 50 {
		t.Errorf("GetRole shows %d tags, want 50", len(role.Tags))
	}

	// Customer-managed policies; AWS-managed ones cannot be tagged.
	must[*iam.TagPolicyOutput](t)(e.iam.TagPolicy(ctx, &iam.TagPolicyInput{PolicyArn: pol.Arn, Tags: []types.Tag{tag("owner", "sec")}}))
	pt := must[*iam.ListPolicyTagsOutput](t)(e.iam.ListPolicyTags(ctx, &iam.ListPolicyTagsInput{PolicyArn: pol.Arn}))
	if diff := cmp.Diff([]types.Tag{tag("owner", "sec")}, pt.Tags, cmpTags); diff != "" {
		t.Errorf("policy tags mismatch (-want +got):\n%s", diff)
	}
	must[*iam.UntagPolicyOutput](t)(e.iam.UntagPolicy(ctx, &iam.UntagPolicyInput{PolicyArn: pol.Arn, TagKeys: []string{"owner"}}))
	pt = must[*iam.ListPolicyTagsOutput](t)(e.iam.ListPolicyTags(ctx, &iam.ListPolicyTagsInput{PolicyArn: pol.Arn}))
	if len(pt.Tags) != 0 {
		t.Errorf("policy tags after untag: %+v", pt.Tags)
	}
	_, err = e.iam.TagPolicy(ctx, &iam.TagPolicyInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess"), Tags: []types.Tag{tag("a", "b")}})
	apiError(t, err, "NoSuchEntity")
}

// TestTagConditionKeys pins aws:RequestTag/…, aws:TagKeys and aws:ResourceTag/… reaching the policy engine.
func TestTagConditionKeys(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("blue-role"), AssumeRolePolicyDocument: aws.String(ec2Trust), Tags: []types.Tag{tag("team", "blue")}}))
	must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("red-role"), AssumeRolePolicyDocument: aws.String(ec2Trust), Tags: []types.Tag{tag("team", "red")}}))
	must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("plain-role"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))

	t.Run("RequestTag", func(t *testing.T) {
		tagger := e.userWithPolicy("tagger", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:TagRole","Resource":"*",
			"Condition":{"StringEquals":{"aws:RequestTag/team":["blue","green"]},"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}}]}`)
		must[*iam.TagRoleOutput](t)(tagger.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("plain-role"), Tags: []types.Tag{tag("team", "green")}}))
		_, err := tagger.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("plain-role"), Tags: []types.Tag{tag("team", "red")}})
		apiError(t, err, "AccessDenied")
		// A second key is outside aws:TagKeys.
		_, err = tagger.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("plain-role"), Tags: []types.Tag{tag("team", "blue"), tag("cost", "1")}})
		apiError(t, err, "AccessDenied")
		got := must[*iam.ListRoleTagsOutput](t)(e.iam.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("plain-role")}))
		if diff := cmp.Diff([]types.Tag{tag("team", "green")}, got.Tags, cmpTags); diff != "" {
			t.Errorf("tags mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ResourceTag", func(t *testing.T) {
		reader := e.userWithPolicy("reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"*",
			"Condition":{"StringEquals":{"aws:ResourceTag/team":"blue"}}}]}`)
		must[*iam.GetRoleOutput](t)(reader.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("blue-role")}))
		_, err := reader.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("red-role")})
		ae := apiError(t, err, "AccessDenied")
		if !strings.Contains(ae.ErrorMessage(), "on resource: role red-role") { // AWS names an existing role "role NAME"
			t.Errorf("message = %q", ae.ErrorMessage())
		}
		_, err = reader.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("plain-role")})
		apiError(t, err, "AccessDenied")
		// A missing role is not revealed to a caller that could not read it.
		_, err = reader.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("ghost")})
		apiError(t, err, "AccessDenied")
		// Retagging the role red takes the permission away.
		must[*iam.TagRoleOutput](t)(e.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("blue-role"), Tags: []types.Tag{tag("team", "red")}}))
		_, err = reader.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("blue-role")})
		apiError(t, err, "AccessDenied")
	})

	t.Run("UntagTagKeys", func(t *testing.T) {
		untagger := e.userWithPolicy("untagger", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:UntagUser","Resource":"*",
			"Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["temp"]}}}]}`)
		must[*iam.TagUserOutput](t)(e.iam.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("untagger"), Tags: []types.Tag{tag("temp", "1"), tag("keep", "1")}}))
		_, err := untagger.UntagUser(ctx, &iam.UntagUserInput{UserName: aws.String("untagger"), TagKeys: []string{"keep"}})
		apiError(t, err, "AccessDenied")
		must[*iam.UntagUserOutput](t)(untagger.UntagUser(ctx, &iam.UntagUserInput{UserName: aws.String("untagger"), TagKeys: []string{"temp"}}))
	})
}

// totpAt is the code an authenticator app shows for seed at t.
func totpAt(t *testing.T, seed string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(seed, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// TestVirtualMFADevices enables a device with codes the test computes from the seed, as an authenticator app
// would, on every backend.
func TestVirtualMFADevices(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}))
			dev := must[*iam.CreateVirtualMFADeviceOutput](t)(e.iam.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("alice-phone")})).VirtualMFADevice
			serial := aws.ToString(dev.SerialNumber)
			if serial != "arn:aws:iam::"+testAccount+":mfa/alice-phone" {
				t.Errorf("SerialNumber = %s", serial)
			}
			seed := string(dev.Base32StringSeed)
			if raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(seed); err != nil || len(raw) < 20 {
				t.Fatalf("Base32StringSeed %q is not a base32 seed of 160 bits or more (%v)", seed, err)
			}
			img, err := png.Decode(bytes.NewReader(dev.QRCodePNG))
			if err != nil || img.Bounds().Dx() < 100 {
				t.Errorf("QRCodePNG is not a PNG image of a QR code: %v", err)
			}
			_, err = e.iam.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("alice-phone")})
			apiError(t, err, "EntityAlreadyExists")

			// The seed is sealed at rest.
			rec, err := e.st.Get(ctx, store.KindMFADevice, testAccount, "alice-phone")
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(rec.Data, []byte(seed)) {
				t.Error("the stored device holds the seed in plain text")
			}

			unassigned := must[*iam.ListVirtualMFADevicesOutput](t)(e.iam.ListVirtualMFADevices(ctx, &iam.ListVirtualMFADevicesInput{AssignmentStatus: types.AssignmentStatusTypeUnassigned}))
			if len(unassigned.VirtualMFADevices) != 1 || len(unassigned.VirtualMFADevices[0].Base32StringSeed) != 0 {
				t.Errorf("unassigned devices = %+v (and never a seed)", unassigned.VirtualMFADevices)
			}

			now := time.Now()
			prev, cur := totpAt(t, seed, now.Add(-30*time.Second)), totpAt(t, seed, now)
			_, err = e.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial), AuthenticationCode1: aws.String(cur), AuthenticationCode2: aws.String(prev)})
			apiError(t, err, "InvalidAuthenticationCode")
			_, err = e.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial + "x"), AuthenticationCode1: aws.String(prev), AuthenticationCode2: aws.String(cur)})
			apiError(t, err, "NoSuchEntity")
			must[*iam.EnableMFADeviceOutput](t)(e.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial), AuthenticationCode1: aws.String(prev), AuthenticationCode2: aws.String(cur)}))

			listed := must[*iam.ListMFADevicesOutput](t)(e.iam.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("alice")}))
			if len(listed.MFADevices) != 1 || aws.ToString(listed.MFADevices[0].SerialNumber) != serial || aws.ToString(listed.MFADevices[0].UserName) != "alice" {
				t.Errorf("ListMFADevices = %+v", listed.MFADevices)
			}
			assigned := must[*iam.ListVirtualMFADevicesOutput](t)(e.iam.ListVirtualMFADevices(ctx, &iam.ListVirtualMFADevicesInput{AssignmentStatus: types.AssignmentStatusTypeAssigned}))
			if len(assigned.VirtualMFADevices) != 1 || assigned.VirtualMFADevices[0].User == nil || aws.ToString(assigned.VirtualMFADevices[0].User.UserName) != "alice" || assigned.VirtualMFADevices[0].EnableDate == nil {
				t.Errorf("assigned devices = %+v", assigned.VirtualMFADevices)
			}
			unassigned = must[*iam.ListVirtualMFADevicesOutput](t)(e.iam.ListVirtualMFADevices(ctx, &iam.ListVirtualMFADevicesInput{AssignmentStatus: types.AssignmentStatusTypeUnassigned}))
			if len(unassigned.VirtualMFADevices) != 0 {
				t.Errorf("unassigned devices = %+v", unassigned.VirtualMFADevices)
			}

			gd := must[*iam.GetMFADeviceOutput](t)(e.iam.GetMFADevice(ctx, &iam.GetMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial)}))
			if aws.ToString(gd.UserName) != "alice" || aws.ToString(gd.SerialNumber) != serial || gd.EnableDate == nil {
				t.Errorf("GetMFADevice = %+v", gd)
			}

			// VerifyMFA, for STS: a code is accepted once.
			svc := e.srv.iam.(*persiam.Service)
			if err := svc.VerifyMFA(ctx, testAccount, "alice", serial, cur); err != persiam.ErrMFAFailed {
				t.Errorf("replaying the enabling code: err = %v, want ErrMFAFailed", err)
			}
			next := totpAt(t, seed, now.Add(30*time.Second))
			if err := svc.VerifyMFA(ctx, testAccount, "alice", serial, next); err != nil {
				t.Errorf("VerifyMFA(next code) = %v", err)
			}
			if err := svc.VerifyMFA(ctx, testAccount, "alice", serial, next); err != persiam.ErrMFAFailed {
				t.Errorf("replaying a code: err = %v, want ErrMFAFailed", err)
			}
			later := totpAt(t, seed, now.Add(60*time.Second))
			for _, c := range []struct{ name, account, user, serial string }{
				{"another user", testAccount, "bob", serial},
				{"another account", "999988887777", "alice", serial},
				{"another serial", testAccount, "alice", "arn:aws:iam::" + testAccount + ":mfa/other"},
			} {
				if err := svc.VerifyMFA(ctx, c.account, c.user, c.serial, later); err != persiam.ErrMFAFailed {
					t.Errorf("%s: err = %v, want ErrMFAFailed", c.name, err)
				}
			}

			_, err = e.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})
			apiError(t, err, "DeleteConflict")
			_, err = e.iam.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(serial)})
			apiError(t, err, "DeleteConflict")

			// Resync with codes ahead of the last one accepted.
			c3, c4 := totpAt(t, seed, now.Add(90*time.Second)), totpAt(t, seed, now.Add(120*time.Second))
			must[*iam.ResyncMFADeviceOutput](t)(e.iam.ResyncMFADevice(ctx, &iam.ResyncMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial), AuthenticationCode1: aws.String(c3), AuthenticationCode2: aws.String(c4)}))
			_, err = e.iam.ResyncMFADevice(ctx, &iam.ResyncMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial), AuthenticationCode1: aws.String(c3), AuthenticationCode2: aws.String(c4)})
			apiError(t, err, "InvalidAuthenticationCode")

			// Tags on the device, and aws:ResourceTag/… on it.
			must[*iam.TagMFADeviceOutput](t)(e.iam.TagMFADevice(ctx, &iam.TagMFADeviceInput{SerialNumber: aws.String(serial), Tags: []types.Tag{tag("owner", "alice")}}))
			mt := must[*iam.ListMFADeviceTagsOutput](t)(e.iam.ListMFADeviceTags(ctx, &iam.ListMFADeviceTagsInput{SerialNumber: aws.String(serial)}))
			if diff := cmp.Diff([]types.Tag{tag("owner", "alice")}, mt.Tags, cmpTags); diff != "" {
				t.Errorf("device tags mismatch (-want +got):\n%s", diff)
			}
			must[*iam.UntagMFADeviceOutput](t)(e.iam.UntagMFADevice(ctx, &iam.UntagMFADeviceInput{SerialNumber: aws.String(serial), TagKeys: []string{"owner"}}))
			mt = must[*iam.ListMFADeviceTagsOutput](t)(e.iam.ListMFADeviceTags(ctx, &iam.ListMFADeviceTagsInput{SerialNumber: aws.String(serial)}))
			if len(mt.Tags) != 0 {
				t.Errorf("device tags after untag: %+v", mt.Tags)
			}
			_, err = e.iam.ListMFADeviceTags(ctx, &iam.ListMFADeviceTagsInput{SerialNumber: aws.String("arn:aws:iam::" + testAccount + ":mfa/none")})
			apiError(t, err, "NoSuchEntity")

			must[*iam.DeactivateMFADeviceOutput](t)(e.iam.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial)}))
			_, err = e.iam.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial)})
			apiError(t, err, "NoSuchEntity")
			_, err = e.iam.GetMFADevice(ctx, &iam.GetMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial)})
			apiError(t, err, "NoSuchEntity")
			if err := svc.VerifyMFA(ctx, testAccount, "alice", serial, totpAt(t, seed, now.Add(150*time.Second))); err != persiam.ErrMFAFailed {
				t.Errorf("a deactivated device verified: %v", err)
			}
			must[*iam.DeleteVirtualMFADeviceOutput](t)(e.iam.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(serial)}))
			_, err = e.iam.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(serial)})
			apiError(t, err, "NoSuchEntity")
			must[*iam.DeleteUserOutput](t)(e.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")}))
		})
	}
}

// TestMFADeviceOwnCalls lets a user manage its own device with the policy AWS's documentation gives for it
// (self-service MFA with ${aws:username}).
func TestMFADeviceOwnCalls(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	bob := e.userWithPolicy("bob", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["iam:CreateVirtualMFADevice","iam:DeleteVirtualMFADevice"],"Resource":"arn:aws:iam::*:mfa/${aws:username}"},
		{"Effect":"Allow","Action":["iam:EnableMFADevice","iam:ListMFADevices","iam:ResyncMFADevice"],"Resource":"arn:aws:iam::*:user/${aws:username}"}]}`)
	dev := must[*iam.CreateVirtualMFADeviceOutput](t)(bob.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("bob")})).VirtualMFADevice
	_, err := bob.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("alice")})
	apiError(t, err, "AccessDenied")
	seed := string(dev.Base32StringSeed)
	now := time.Now()
	must[*iam.EnableMFADeviceOutput](t)(bob.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("bob"), SerialNumber: dev.SerialNumber,
		AuthenticationCode1: aws.String(totpAt(t, seed, now.Add(-30*time.Second))), AuthenticationCode2: aws.String(totpAt(t, seed, now))}))
	own := must[*iam.ListMFADevicesOutput](t)(bob.ListMFADevices(ctx, &iam.ListMFADevicesInput{}))
	if len(own.MFADevices) != 1 {
		t.Errorf("bob's own devices = %+v", own.MFADevices)
	}
	_, err = bob.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: aws.String("bob"), SerialNumber: dev.SerialNumber})
	apiError(t, err, "AccessDenied")
}

// TestLoginProfilesAndPasswordPolicy covers console passwords: AWS's default policy, the account policy, reuse,
// ChangePassword by the user and argon2id at rest.
func TestLoginProfilesAndPasswordPolicy(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			carol := e.userWithPolicy("carol", "")

			_, err := e.iam.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
			ae := apiError(t, err, "NoSuchEntity")
			if ae.ErrorMessage() != "The Password Policy with domain name "+testAccount+" cannot be found." {
				t.Errorf("message = %q", ae.ErrorMessage())
			}
			// Without a policy, AWS's default applies: 8 characters, three classes.
			_, err = e.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("carol"), Password: aws.String("short1A")})
			apiError(t, err, "PasswordPolicyViolation")
			_, err = e.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("carol"), Password: aws.String("alllowercase")})
			apiError(t, err, "PasswordPolicyViolation")
			lp := must[*iam.CreateLoginProfileOutput](t)(e.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("carol"), Password: aws.String("Correct-Horse-1"), PasswordResetRequired: true})).LoginProfile
			if aws.ToString(lp.UserName) != "carol" || !lp.PasswordResetRequired {
				t.Errorf("LoginProfile = %+v", lp)
			}
			_, err = e.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("carol"), Password: aws.String("Correct-Horse-1")})
			apiError(t, err, "EntityAlreadyExists")
			_, err = e.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("ghost"), Password: aws.String("Correct-Horse-1")})
			apiError(t, err, "NoSuchEntity")
			got := must[*iam.GetLoginProfileOutput](t)(e.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("carol")})).LoginProfile
			if !got.PasswordResetRequired || got.CreateDate == nil {
				t.Errorf("GetLoginProfile = %+v", got)
			}
			rec, err := e.st.Get(ctx, store.KindLoginProfile, testAccount, "carol")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(rec.Data, []byte("$argon2id$v=19$m=19456,t=2,p=1$")) || bytes.Contains(rec.Data, []byte("Correct-Horse-1")) {
				t.Errorf("stored login profile is not an argon2id hash: %s", rec.Data)
			}

			must[*iam.UpdateAccountPasswordPolicyOutput](t)(e.iam.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
				MinimumPasswordLength: aws.Int32(12), RequireSymbols: true, RequireNumbers: true, AllowUsersToChangePassword: true, PasswordReusePrevention: aws.Int32(2), MaxPasswordAge: aws.Int32(90),
			}))
			pp := must[*iam.GetAccountPasswordPolicyOutput](t)(e.iam.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})).PasswordPolicy
			if aws.ToInt32(pp.MinimumPasswordLength) != 12 || !pp.RequireSymbols || pp.RequireUppercaseCharacters || !pp.ExpirePasswords || aws.ToInt32(pp.MaxPasswordAge) != 90 || aws.ToInt32(pp.PasswordReusePrevention) != 2 || !pp.AllowUsersToChangePassword {
				t.Errorf("PasswordPolicy = %+v", pp)
			}
			_, err = e.iam.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(5)})
			apiError(t, err, "ValidationError")

			for _, c := range []struct{ pw, want string }{
				{"Short-1", "Password should have a minimum length of 12"},
				{"NoSymbolsHere123", "Password should have at least one symbol"},
				{"No-Numbers-Here!", "Password should have at least one number"},
			} {
				_, err = e.iam.UpdateLoginProfile(ctx, &iam.UpdateLoginProfileInput{UserName: aws.String("carol"), Password: aws.String(c.pw)})
				ae = apiError(t, err, "PasswordPolicyViolation")
				if ae.ErrorMessage() != c.want {
					t.Errorf("%q: message = %q, want %q", c.pw, ae.ErrorMessage(), c.want)
				}
			}
			_, err = e.iam.UpdateLoginProfile(ctx, &iam.UpdateLoginProfileInput{UserName: aws.String("carol"), Password: aws.String("Correct-Horse-1")})
			apiError(t, err, "PasswordPolicyViolation") // too short now
			must[*iam.UpdateLoginProfileOutput](t)(e.iam.UpdateLoginProfile(ctx, &iam.UpdateLoginProfileInput{UserName: aws.String("carol"), Password: aws.String("Battery-Staple-2")}))

			// ChangePassword by carol herself: AllowUsersToChangePassword grants it.
			_, err = carol.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: aws.String("wrong-password"), NewPassword: aws.String("Another-Pass-3!")})
			apiError(t, err, "InvalidUserType")
			_, err = carol.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: aws.String("Battery-Staple-2"), NewPassword: aws.String("Battery-Staple-2")})
			ae = apiError(t, err, "PasswordPolicyViolation") // reuse of the last two
			if ae.ErrorMessage() != "Password should not be one of your last 2 passwords" {
				t.Errorf("message = %q", ae.ErrorMessage())
			}
			must[*iam.ChangePasswordOutput](t)(carol.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: aws.String("Battery-Staple-2"), NewPassword: aws.String("Another-Pass-3!")}))
			got = must[*iam.GetLoginProfileOutput](t)(e.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("carol")})).LoginProfile
			if got.PasswordResetRequired {
				t.Error("ChangePassword left PasswordResetRequired set")
			}
			_, err = e.iam.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: aws.String("x"), NewPassword: aws.String("y")})
			apiError(t, err, "InvalidUserType")

			// Without AllowUsersToChangePassword, carol needs iam:ChangePassword.
			must[*iam.DeleteAccountPasswordPolicyOutput](t)(e.iam.DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{}))
			_, err = e.iam.DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{})
			apiError(t, err, "NoSuchEntity")
			_, err = carol.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: aws.String("Another-Pass-3!"), NewPassword: aws.String("Yet-Another-4")})
			apiError(t, err, "AccessDenied")

			_, err = e.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("carol")})
			apiError(t, err, "DeleteConflict") // access key and login profile
			must[*iam.DeleteLoginProfileOutput](t)(e.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String("carol")}))
			_, err = e.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("carol")})
			ae = apiError(t, err, "NoSuchEntity")
			if ae.ErrorMessage() != "Login Profile for User carol cannot be found." {
				t.Errorf("message = %q", ae.ErrorMessage())
			}
		})
	}
}

// TestUserRenameCarriesCredentials renames a user with a login profile and an MFA device.
func TestUserRenameCarriesCredentials(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dan")}))
	must[*iam.CreateLoginProfileOutput](t)(e.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("dan"), Password: aws.String("Correct-Horse-1")}))
	dev := must[*iam.CreateVirtualMFADeviceOutput](t)(e.iam.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("dan")})).VirtualMFADevice
	now := time.Now()
	seed := string(dev.Base32StringSeed)
	must[*iam.EnableMFADeviceOutput](t)(e.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("dan"), SerialNumber: dev.SerialNumber,
		AuthenticationCode1: aws.String(totpAt(t, seed, now.Add(-30*time.Second))), AuthenticationCode2: aws.String(totpAt(t, seed, now))}))
	must[*iam.UpdateUserOutput](t)(e.iam.UpdateUser(ctx, &iam.UpdateUserInput{UserName: aws.String("dan"), NewUserName: aws.String("daniel")}))
	must[*iam.GetLoginProfileOutput](t)(e.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("daniel")}))
	devs := must[*iam.ListMFADevicesOutput](t)(e.iam.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("daniel")}))
	if len(devs.MFADevices) != 1 || aws.ToString(devs.MFADevices[0].UserName) != "daniel" {
		t.Errorf("daniel's devices = %+v", devs.MFADevices)
	}
	svc := e.srv.iam.(*persiam.Service)
	if err := svc.VerifyMFA(ctx, testAccount, "daniel", aws.ToString(dev.SerialNumber), totpAt(t, seed, now.Add(30*time.Second))); err != nil {
		t.Errorf("VerifyMFA after rename: %v", err)
	}
}

// TestSTSWithRealMFA passes codes of an enabled virtual MFA device to STS (wired to iam.Service.VerifyMFA): a
// code works once, and the session it opens satisfies aws:MultiFactorAuthPresent.
func TestSTSWithRealMFA(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}))
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p"), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`)}))
	key := must[*iam.CreateAccessKeyOutput](t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})).AccessKey
	alice := aws.Credentials{AccessKeyID: aws.ToString(key.AccessKeyId), SecretAccessKey: aws.ToString(key.SecretAccessKey)}
	dev := must[*iam.CreateVirtualMFADeviceOutput](t)(e.iam.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("alice")})).VirtualMFADevice
	seed := string(dev.Base32StringSeed)
	now := time.Now()
	must[*iam.EnableMFADeviceOutput](t)(e.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("alice"), SerialNumber: dev.SerialNumber,
		AuthenticationCode1: aws.String(totpAt(t, seed, now.Add(-30*time.Second))), AuthenticationCode2: aws.String(totpAt(t, seed, now))}))

	_, err := e.iamAs(alice).ListRoles(ctx, &iam.ListRolesInput{})
	apiError(t, err, "AccessDenied")
	code := totpAt(t, seed, now.Add(30*time.Second))
	out := must[*sts.GetSessionTokenOutput](t)(e.stsAs(alice).GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: dev.SerialNumber, TokenCode: aws.String(code)}))
	session := aws.Credentials{AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey), SessionToken: aws.ToString(out.Credentials.SessionToken)}
	must[*iam.ListRolesOutput](t)(e.iamAs(session).ListRoles(ctx, &iam.ListRolesInput{}))
	// The same code a second time is a replay.
	_, err = e.stsAs(alice).GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: dev.SerialNumber, TokenCode: aws.String(code)})
	apiError(t, err, "AccessDenied")
}

// TestVerifyPassword checks the console sign-in hook: one error for every failure, and the use recorded where
// GetUser and the credential report show it.
func TestVerifyPassword(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	svc := e.srv.iam.(*persiam.Service)
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("erin")}))
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("nopass")}))
	must[*iam.CreateLoginProfileOutput](t)(e.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("erin"), Password: aws.String("Correct-Horse-1"), PasswordResetRequired: true}))
	for _, c := range []struct{ user, pw string }{{"erin", "wrong"}, {"nopass", "Correct-Horse-1"}, {"ghost", "Correct-Horse-1"}} {
		if _, err := svc.VerifyPassword(ctx, testAccount, c.user, c.pw); err != persiam.ErrSignInFailed {
			t.Errorf("VerifyPassword(%s, %s) = %v, want ErrSignInFailed", c.user, c.pw, err)
		}
	}
	if _, err := svc.VerifyPassword(ctx, "999988887777", "erin", "Correct-Horse-1"); err != persiam.ErrSignInFailed {
		t.Errorf("another account: %v", err)
	}
	check, err := svc.VerifyPassword(ctx, testAccount, "erin", "Correct-Horse-1")
	if err != nil || !check.ResetRequired || check.Expired {
		t.Fatalf("VerifyPassword = %+v, %v; want reset required", check, err)
	}
	u := must[*iam.GetUserOutput](t)(e.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("erin")})).User
	if u.PasswordLastUsed == nil || time.Since(*u.PasswordLastUsed) > time.Minute {
		t.Errorf("PasswordLastUsed = %v", u.PasswordLastUsed)
	}
}

// TestMFADeviceLimits: eight devices per user at most, and a device in use cannot be enabled for another user.
func TestMFADeviceLimits(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u1")}))
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u2")}))
	now := time.Now()
	enable := func(user string, dev *types.VirtualMFADevice) error {
		seed := string(dev.Base32StringSeed)
		_, err := e.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String(user), SerialNumber: dev.SerialNumber,
			AuthenticationCode1: aws.String(totpAt(t, seed, now.Add(-30*time.Second))), AuthenticationCode2: aws.String(totpAt(t, seed, now))})
		return err
	}
	var first *types.VirtualMFADevice
	for i := 0; i < 9; i++ {
		dev := must[*iam.CreateVirtualMFADeviceOutput](t)(e.iam.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String(fmt.Sprintf("d%d", i))})).VirtualMFADevice
		err := enable("u1", dev)
		switch {
		case i == 0:
			first = dev
			fallthrough
		case i < 8:
			if err != nil {
				t.Fatalf("device %d: %v", i, err)
			}
		default:
			ae := apiError(t, err, "LimitExceeded")
			if ae.ErrorMessage() != "Cannot exceed quota for MFADevicesPerUser: 8" {
				t.Errorf("message = %q", ae.ErrorMessage())
			}
		}
	}
	ae := apiError(t, enable("u2", first), "EntityAlreadyExists")
	if ae.ErrorMessage() != "MFA Device is already in use." {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	_, err := e.iam.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: aws.String("u2"), SerialNumber: first.SerialNumber})
	apiError(t, err, "NoSuchEntity")
	page := must[*iam.ListMFADevicesOutput](t)(e.iam.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("u1"), MaxItems: aws.Int32(5)}))
	if len(page.MFADevices) != 5 || !page.IsTruncated {
		t.Errorf("first page: %d devices, truncated %v", len(page.MFADevices), page.IsTruncated)
	}
	page = must[*iam.ListMFADevicesOutput](t)(e.iam.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("u1"), Marker: page.Marker}))
	if len(page.MFADevices) != 3 || page.IsTruncated {
		t.Errorf("second page: %d devices, truncated %v", len(page.MFADevices), page.IsTruncated)
	}
}
