package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAWSCLIIAMRest drives instance profiles, virtual MFA devices (both bootstrap methods), the account summary
// and the credential report with the aws CLI, a second real client beside aws-sdk-go-v2.
func TestAWSCLIIAMRest(t *testing.T) {
	e := newEnv(t, sqliteStore)
	root := []string{"AWS_ACCESS_KEY_ID=" + testRootKey, "AWS_SECRET_ACCESS_KEY=" + testRootSecret}
	cli := func(args ...string) string {
		t.Helper()
		stdout, stderr, err := e.awsCLI(t, root, args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return stdout
	}
	dir := t.TempDir()

	var ip struct {
		InstanceProfile struct{ InstanceProfileName, InstanceProfileId, Arn string }
	}
	if err := json.Unmarshal([]byte(cli("iam", "create-instance-profile", "--instance-profile-name", "cli-ip")), &ip); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ip.InstanceProfile.InstanceProfileId, "AIPA") || ip.InstanceProfile.Arn != "arn:aws:iam::"+testAccount+":instance-profile/cli-ip" {
		t.Errorf("create-instance-profile = %+v", ip.InstanceProfile)
	}

	qr := filepath.Join(dir, "qr.png")
	cli("iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "cli-qr", "--outfile", qr, "--bootstrap-method", "QRCodePNG")
	if b, err := os.ReadFile(qr); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("the QR code file is not a PNG (%v)", err)
	}
	seedFile := filepath.Join(dir, "seed.txt")
	var dev struct{ VirtualMFADevice struct{ SerialNumber string } }
	if err := json.Unmarshal([]byte(cli("iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "cli-seed", "--outfile", seedFile, "--bootstrap-method", "Base32StringSeed")), &dev); err != nil {
		t.Fatal(err)
	}
	seed, err := os.ReadFile(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	cli("iam", "create-user", "--user-name", "cli-user")
	now := time.Now()
	cli("iam", "enable-mfa-device", "--user-name", "cli-user", "--serial-number", dev.VirtualMFADevice.SerialNumber,
		"--authentication-code1", totpAt(t, string(seed), now.Add(-30*time.Second)), "--authentication-code2", totpAt(t, string(seed), now))
	var listed struct {
		MFADevices []struct{ UserName, SerialNumber string }
	}
	if err := json.Unmarshal([]byte(cli("iam", "list-mfa-devices", "--user-name", "cli-user")), &listed); err != nil || len(listed.MFADevices) != 1 {
		t.Errorf("list-mfa-devices = %+v (%v)", listed, err)
	}

	var summary struct{ SummaryMap map[string]int }
	if err := json.Unmarshal([]byte(cli("iam", "get-account-summary")), &summary); err != nil {
		t.Fatal(err)
	}
	if summary.SummaryMap["Users"] != 1 || summary.SummaryMap["MFADevices"] != 2 || summary.SummaryMap["MFADevicesInUse"] != 1 || summary.SummaryMap["InstanceProfiles"] != 1 {
		t.Errorf("get-account-summary = %v", summary.SummaryMap)
	}

	cli("iam", "generate-credential-report")
	content := strings.TrimSpace(cli("iam", "get-credential-report", "--query", "Content", "--output", "text"))
	csv, err := base64.StdEncoding.DecodeString(content)
	if err != nil {
		t.Fatalf("Content %q is not base64: %v", content, err)
	}
	lines := strings.Split(string(csv), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "user,arn,user_creation_time,") || !strings.HasPrefix(lines[1], "<root_account>,") || !strings.HasPrefix(lines[2], "cli-user,") {
		t.Errorf("credential report:\n%s", csv)
	}
	if fields := strings.Split(lines[2], ","); fields[7] != "true" {
		t.Errorf("cli-user mfa_active = %s, want true", fields[7])
	}
}
