package iam

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/awsquery"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store"
)

// Virtual MFA devices: RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30-second steps), the parameters AWS's virtual MFA
// devices use. https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_virtual.html
const (
	totpPeriod = 30
	// seedBytes of randomness make the 64-character base32 seed AWS hands out.
	seedBytes = 40
	// quotaMFADevicesPerUser is AWS's limit of MFA devices assigned to one user.
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
	quotaMFADevicesPerUser = 8
	// quotaVirtualMFADevicesPerAccount follows the users quota, as AWS's does.
	quotaVirtualMFADevicesPerAccount = quotaUsersPerAccount
	// enableWindow and resyncWindow bound, in steps either side of now, where EnableMFADevice and
	// ResyncMFADevice look for the two consecutive codes; verifyWindow is the tolerance of a single code once the
	// device's drift is known (one step either side, RFC 6238 section 5.2's recommendation).
	enableWindow = 4
	resyncWindow = 40
	verifyWindow = 1
	qrCodeSize   = 200
)

var hotpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

func (s *Service) mfaARN(account, path, name string) string {
	return arn.MFA(s.partition, account, pathOrRoot(path), name).String()
}

// step returns the TOTP time step of t.
func step(t time.Time) int64 { return t.Unix() / totpPeriod }

// matchCode reports whether code is the device's code at step; it compares in constant time.
func matchCode(seed, code string, st int64) bool {
	if st < 0 {
		return false
	}
	want, err := hotp.GenerateCodeCustom(seed, uint64(st), hotpOpts)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1
}

// findConsecutive returns the step s in [center-window, center+window] with code1 at s and code2 at s+1, s after
// last (so no code is accepted twice). It checks every step, so timing does not tell where a match was.
func findConsecutive(seed, code1, code2 string, center, window, last int64) (int64, bool) {
	found, ok := int64(0), false
	for st := center - window; st <= center+window; st++ {
		m := matchCode(seed, code1, st) && matchCode(seed, code2, st+1)
		if m && st > last && !ok {
			found, ok = st, true
		}
	}
	return found, ok
}

// invalidCodes is EnableMFADevice's and ResyncMFADevice's answer to codes that do not match.
func invalidCodes(serial string) error {
	return iamapi.InvalidAuthenticationCode("Authentication code for device is not valid.")
}

// openSeed opens a device's sealed seed.
func (s *Service) openSeed(d *store.MFADevice) (string, error) {
	seed, err := s.box.Open(d.Seed, []byte(d.Serial))
	if err != nil {
		return "", err
	}
	return string(seed), nil
}

// deviceNameFromSerial returns the device name of a virtual MFA serial number (its ARN) in account, or false
// when the serial is not one of account's virtual devices.
func deviceNameFromSerial(account, serial string) (string, bool) {
	a, err := arn.Parse(serial)
	if err != nil || a.Service != "iam" || a.AccountID != account || !strings.HasPrefix(a.Resource, "mfa/") {
		return "", false
	}
	i := strings.LastIndex(a.Resource, "/")
	if i == len(a.Resource)-1 {
		return "", false
	}
	return a.Resource[i+1:], true
}

// loadDevice loads the account's virtual MFA device with serial number serial, or NoSuchEntity.
func loadDevice(ctx context.Context, r store.Reader, account, serial string) (*store.MFADevice, store.Record, error) {
	name, ok := deviceNameFromSerial(account, serial)
	if !ok {
		return nil, store.Record{}, mfaNotFound(serial)
	}
	var d store.MFADevice
	rec, err := load(ctx, r, store.KindMFADevice, account, name, &d)
	if isNotFound(err) || (err == nil && d.Serial != serial) {
		return nil, rec, mfaNotFound(serial)
	}
	if err != nil {
		return nil, rec, err
	}
	return &d, rec, nil
}

func mfaNotFound(serial string) error {
	return iamapi.NoSuchEntity("VirtualMFADevice with serial number %s doesn't exist.", serial)
}

// CreateVirtualMFADevice creates a virtual MFA device and returns its seed (base32) and a QR code PNG of
// otpauth://totp/NAME@ACCOUNT?secret=SEED, once: the seed is stored only sealed under the master key.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateVirtualMFADevice.html
func (s *Service) CreateVirtualMFADevice(ctx context.Context, in *iamapi.CreateVirtualMFADeviceInput) (*iamapi.CreateVirtualMFADeviceOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	path := pathOrRoot(in.Path)
	serial := s.mfaARN(p.Account, path, in.VirtualMFADeviceName)
	if err := s.authorize(ctx, "CreateVirtualMFADevice", serial, requestTagKeys(in.Tags, "")); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	raw := make([]byte, seedBytes)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	seed := base32Upper.EncodeToString(raw)
	d := store.MFADevice{Name: in.VirtualMFADeviceName, Path: path, Serial: serial, Seed: s.box.Seal([]byte(seed), []byte(serial)), Tags: tagsIn(in.Tags)}
	accountName := p.Account
	err = s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		n, err := tx.Count(ctx, store.KindMFADevice, p.Account, "")
		if err != nil {
			return err
		}
		if n >= quotaVirtualMFADevicesPerAccount {
			return limitExceeded("VirtualMFADevicesPerAccount", quotaVirtualMFADevicesPerAccount)
		}
		// The QR code names the account by its alias when it has one, as AWS's does.
		var acct store.Account
		if _, err := load(ctx, tx, store.KindAccount, "", p.Account, &acct); err == nil && len(acct.Aliases) > 0 {
			accountName = acct.Aliases[0]
		} else if err != nil && !isNotFound(err) {
			return err
		}
		d.Created = tx.Now()
		err = create(ctx, tx, store.KindMFADevice, p.Account, d.Name, d.Serial, &d)
		if isExists(err) {
			return iamapi.EntityAlreadyExists("MFADevice entity at the same path and name already exists.")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	qr, err := qrCode(in.VirtualMFADeviceName, accountName, seed)
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateVirtualMFADeviceOutput{VirtualMFADevice: &iamapi.VirtualMFADevice{
		SerialNumber:     serial,
		Base32StringSeed: []byte(seed),
		QRCodePNG:        qr,
		Tags:             tagsOut(d.Tags),
	}}, nil
}

// otpauthURL is the key URI authenticator apps read, in the form AWS documents for QRCodePNG.
func otpauthURL(deviceName, accountName, seed string) string {
	return "otpauth://totp/" + url.PathEscape(deviceName+"@"+accountName) + "?secret=" + seed
}

// qrCode renders the otpauth URL as a PNG QR code.
func qrCode(deviceName, accountName, seed string) ([]byte, error) {
	key, err := otp.NewKeyFromURL(otpauthURL(deviceName, accountName, seed))
	if err != nil {
		return nil, err
	}
	img, err := key.Image(qrCodeSize, qrCodeSize)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// EnableMFADevice assigns a virtual MFA device to a user, proven by two consecutive codes.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableMFADevice.html
func (s *Service) EnableMFADevice(ctx context.Context, in *iamapi.EnableMFADeviceInput) (*iamapi.EnableMFADeviceOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		u, _, err := s.loadUser(ctx, tx, "EnableMFADevice", in.UserName)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		d, rec, err := loadDevice(ctx, tx, p.Account, in.SerialNumber)
		if err != nil {
			return err
		}
		if d.User != "" {
			return iamapi.EntityAlreadyExists("MFA Device is already in use.")
		}
		if n, err := tx.Count(ctx, store.KindMFAByUser, p.Account, u.Name+"/"); err != nil {
			return err
		} else if n >= quotaMFADevicesPerUser {
			return limitExceeded("MFADevicesPerUser", quotaMFADevicesPerUser)
		}
		seed, err := s.openSeed(d)
		if err != nil {
			return err
		}
		now := step(s.now())
		st, ok := findConsecutive(seed, in.AuthenticationCode1, in.AuthenticationCode2, now, enableWindow, d.LastStep)
		if !ok {
			return invalidCodes(d.Serial)
		}
		d.User, d.Enabled, d.LastStep, d.Drift = u.Name, tx.Now(), st+1, st+1-now
		if err := update(ctx, tx, rec, d); err != nil {
			return err
		}
		return create(ctx, tx, store.KindMFAByUser, p.Account, u.Name+"/"+d.Name, "", &store.MFAAssignment{User: u.Name, Device: d.Name, Serial: d.Serial, Enabled: d.Enabled})
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.EnableMFADeviceOutput{}, nil
}

// userDevice loads the device with serial that is enabled for user, or NoSuchEntity.
func userDevice(ctx context.Context, r store.Reader, account, user, serial string) (*store.MFADevice, store.Record, error) {
	d, rec, err := loadDevice(ctx, r, account, serial)
	if err != nil {
		return nil, rec, err
	}
	if !strings.EqualFold(d.User, user) {
		return nil, rec, iamapi.NoSuchEntity("MFA Device with serial number %s does not exist for user %s.", serial, user)
	}
	return d, rec, nil
}

// ResyncMFADevice re-measures a device's clock drift from two consecutive codes.
func (s *Service) ResyncMFADevice(ctx context.Context, in *iamapi.ResyncMFADeviceInput) (*iamapi.ResyncMFADeviceOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		u, _, err := s.loadUser(ctx, tx, "ResyncMFADevice", in.UserName)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		d, rec, err := userDevice(ctx, tx, p.Account, u.Name, in.SerialNumber)
		if err != nil {
			return err
		}
		seed, err := s.openSeed(d)
		if err != nil {
			return err
		}
		now := step(s.now())
		st, ok := findConsecutive(seed, in.AuthenticationCode1, in.AuthenticationCode2, now, resyncWindow, d.LastStep)
		if !ok {
			return invalidCodes(d.Serial)
		}
		d.LastStep, d.Drift = st+1, st+1-now
		return update(ctx, tx, rec, d)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.ResyncMFADeviceOutput{}, nil
}

// DeactivateMFADevice unassigns a device from a user; the device stays and may be enabled again. Its last
// accepted step is kept, so codes seen before cannot be replayed to re-enable it.
func (s *Service) DeactivateMFADevice(ctx context.Context, in *iamapi.DeactivateMFADeviceInput) (*iamapi.DeactivateMFADeviceOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		u, _, err := s.loadUser(ctx, tx, "DeactivateMFADevice", in.UserName)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		d, rec, err := userDevice(ctx, tx, p.Account, u.Name, in.SerialNumber)
		if err != nil {
			return err
		}
		if err := tx.Delete(ctx, store.KindMFAByUser, p.Account, d.User+"/"+d.Name); err != nil {
			return err
		}
		d.User, d.Enabled = "", time.Time{}
		return update(ctx, tx, rec, d)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeactivateMFADeviceOutput{}, nil
}

// ListMFADevices lists the MFA devices enabled for a user (the caller when no name is given).
func (s *Service) ListMFADevices(ctx context.Context, in *iamapi.ListMFADevicesInput) (*iamapi.ListMFADevicesOutput, error) {
	user, err := s.keyOwner(ctx, s.store, "ListMFADevices", in.UserName)
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListMFADevicesOutput{MFADevices: []iamapi.MFADevice{}, IsTruncated: ptr(false)}
	if user == "" { // the root user: Persona keeps no root MFA devices
		return out, nil
	}
	p, _ := caller(ctx)
	list, next, err := pageOf[store.MFAAssignment](ctx, s.store, store.KindMFAByUser, p.Account, user+"/", in.Marker, maxItems(in.MaxItems), nil)
	if err != nil {
		return nil, err
	}
	for _, a := range list {
		out.MFADevices = append(out.MFADevices, iamapi.MFADevice{UserName: a.User, SerialNumber: a.Serial, EnableDate: a.Enabled})
	}
	out.IsTruncated, out.Marker = ptr(next != ""), next
	return out, nil
}

// GetMFADevice describes an MFA device enabled for a user (the caller when no name is given).
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetMFADevice.html
func (s *Service) GetMFADevice(ctx context.Context, in *iamapi.GetMFADeviceInput) (*iamapi.GetMFADeviceOutput, error) {
	user, err := s.keyOwner(ctx, s.store, "GetMFADevice", in.UserName)
	if err != nil {
		return nil, err
	}
	p, _ := caller(ctx)
	d, _, err := userDevice(ctx, s.store, p.Account, user, in.SerialNumber)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetMFADeviceOutput{UserName: d.User, SerialNumber: d.Serial, EnableDate: ptr(d.Enabled)}, nil
}

// ListVirtualMFADevices lists the account's virtual MFA devices by assignment status (never their seeds).
func (s *Service) ListVirtualMFADevices(ctx context.Context, in *iamapi.ListVirtualMFADevicesInput) (*iamapi.ListVirtualMFADevicesOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListVirtualMFADevices", "*", nil); err != nil {
		return nil, err
	}
	status := string(in.AssignmentStatus)
	devices, next, err := pageOf(ctx, s.store, store.KindMFADevice, p.Account, "", in.Marker, maxItems(in.MaxItems), func(d *store.MFADevice) bool {
		switch status {
		case "Assigned":
			return d.User != ""
		case "Unassigned":
			return d.User == ""
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListVirtualMFADevicesOutput{VirtualMFADevices: []iamapi.VirtualMFADevice{}, IsTruncated: ptr(next != ""), Marker: next}
	for _, d := range devices {
		v := iamapi.VirtualMFADevice{SerialNumber: d.Serial, Tags: tagsOut(d.Tags)}
		if d.User != "" {
			var u store.User
			if _, err := load(ctx, s.store, store.KindUser, p.Account, d.User, &u); err == nil {
				uo := s.userOut(p.Account, &u)
				uo.Tags, uo.PermissionsBoundary = nil, nil
				v.User = uo
			} else if !isNotFound(err) {
				return nil, err
			}
			v.EnableDate = ptr(d.Enabled)
		}
		out.VirtualMFADevices = append(out.VirtualMFADevices, v)
	}
	return out, nil
}

// DeleteVirtualMFADevice deletes a device that is not enabled for a user.
func (s *Service) DeleteVirtualMFADevice(ctx context.Context, in *iamapi.DeleteVirtualMFADeviceInput) (*iamapi.DeleteVirtualMFADeviceOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		d, _, err := s.loadDeviceAuthorized(ctx, tx, "DeleteVirtualMFADevice", in.SerialNumber, nil)
		if err != nil {
			return err
		}
		if d.User != "" {
			return iamapi.DeleteConflict("MFA device is still in use. Deactivate it before deleting it.")
		}
		p, _ := caller(ctx)
		return tx.Delete(ctx, store.KindMFADevice, p.Account, d.Name)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteVirtualMFADeviceOutput{}, nil
}

// loadDeviceAuthorized loads a device by serial and authorizes action on its ARN (the serial) with its
// aws:ResourceTag/… keys and extra. A serial of another account is authorized as given and reported missing.
func (s *Service) loadDeviceAuthorized(ctx context.Context, r store.Reader, action, serial string, extra map[string][]string) (*store.MFADevice, store.Record, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, store.Record{}, err
	}
	d, rec, err := loadDevice(ctx, r, p.Account, serial)
	if err != nil {
		if aerr := s.authorize(ctx, action, serial, extra); aerr != nil {
			return nil, rec, aerr
		}
		return nil, rec, err
	}
	if err := s.authorize(ctx, action, d.Serial, mergeKeys(resourceTagKeys(d.Tags), extra)); err != nil {
		return nil, rec, err
	}
	return d, rec, nil
}

// TagMFADevice adds or replaces tags on a virtual MFA device.
func (s *Service) TagMFADevice(ctx context.Context, in *iamapi.TagMFADeviceInput) (*iamapi.TagMFADeviceOutput, error) {
	load := func(ctx context.Context, r store.Reader) (*store.MFADevice, store.Record, error) {
		return s.loadDeviceAuthorized(ctx, r, "TagMFADevice", in.SerialNumber, requestTagKeys(in.Tags, ""))
	}
	if err := retag(s, ctx, load, func(d *store.MFADevice) *[]store.Tag { return &d.Tags }, adding(in.Tags)); err != nil {
		return nil, err
	}
	return &iamapi.TagMFADeviceOutput{}, nil
}

// UntagMFADevice removes tags from a virtual MFA device.
func (s *Service) UntagMFADevice(ctx context.Context, in *iamapi.UntagMFADeviceInput) (*iamapi.UntagMFADeviceOutput, error) {
	load := func(ctx context.Context, r store.Reader) (*store.MFADevice, store.Record, error) {
		return s.loadDeviceAuthorized(ctx, r, "UntagMFADevice", in.SerialNumber, untagKeys(in.TagKeys))
	}
	if err := retag(s, ctx, load, func(d *store.MFADevice) *[]store.Tag { return &d.Tags }, removing(in.TagKeys)); err != nil {
		return nil, err
	}
	return &iamapi.UntagMFADeviceOutput{}, nil
}

// ListMFADeviceTags lists a virtual MFA device's tags.
func (s *Service) ListMFADeviceTags(ctx context.Context, in *iamapi.ListMFADeviceTagsInput) (*iamapi.ListMFADeviceTagsOutput, error) {
	d, _, err := s.loadDeviceAuthorized(ctx, s.store, "ListMFADeviceTags", in.SerialNumber, nil)
	if err != nil {
		return nil, err
	}
	tags, trunc, next, err := pageTags(d.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListMFADeviceTagsOutput{Tags: tags, IsTruncated: trunc, Marker: next}, nil
}

// ErrMFAFailed is what VerifyMFA returns for any code, device or user that does not check out: STS's
// AccessDenied, with one message for every cause so a caller learns nothing about which part was wrong.
var ErrMFAFailed = awsquery.NewError("AccessDenied", http.StatusForbidden, "MultiFactorAuthentication failed with invalid MFA one time pass code. ")

// VerifyMFA checks a one-time code from the virtual MFA device serialNumber enabled for userName in account,
// for STS (AssumeRole and GetSessionToken with SerialNumber and TokenCode). The code must match a step within
// one of now (corrected by the device's measured drift) and come after the last step accepted, which it then
// records: a code is accepted once. Comparisons are constant-time. Wrong codes are throttled: after
// mfaFreeFailures in a row the device refuses every code for a lockout that grows with each further failure (a
// six-digit code would otherwise fall to a few hundred thousand guesses). It returns nil or ErrMFAFailed (or a
// store error).
func (s *Service) VerifyMFA(ctx context.Context, account, userName, serialNumber, code string) error {
	if len(code) != 6 || userName == "" {
		return ErrMFAFailed
	}
	// Recording the accepted step is not the request's mutation: the STS call it belongs to may still be refused.
	// Without the request's pending audit record, this write does not commit that record early (as a success
	// without error code or response, which the refusal then could not correct).
	ctx = audit.WithPending(ctx, nil)
	failed := false
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		failed = false
		d, rec, err := loadDevice(ctx, tx, account, serialNumber)
		if err != nil {
			if isNotFound(err) || isAPIError(err) {
				return ErrMFAFailed
			}
			return err
		}
		if d.User == "" || !strings.EqualFold(d.User, userName) {
			return ErrMFAFailed
		}
		now := s.now()
		if now.Before(d.LockedUntil) {
			return ErrMFAFailed
		}
		seed, err := s.openSeed(d)
		if err != nil {
			return err
		}
		center := step(now) + d.Drift
		matched, ok := int64(0), false
		for st := center - verifyWindow; st <= center+verifyWindow; st++ {
			if matchCode(seed, code, st) && st > d.LastStep && !ok {
				matched, ok = st, true
			}
		}
		if !ok {
			// Commit the failure (the transaction must succeed for the count to stick), answer it afterwards.
			failed = true
			d.FailedAttempts++
			if n := d.FailedAttempts - mfaFreeFailures; n > 0 {
				d.LockedUntil = now.Add(min(time.Duration(n)*mfaLockoutStep, mfaMaxLockout))
			}
			return update(ctx, tx, rec, d)
		}
		d.LastStep, d.FailedAttempts, d.LockedUntil = matched, 0, time.Time{}
		return update(ctx, tx, rec, d)
	})
	if err == nil && failed {
		return ErrMFAFailed
	}
	return err
}

// VerifyMFA's throttle: mfaFreeFailures wrong codes in a row are free; each further one locks the device for
// mfaLockoutStep more, up to mfaMaxLockout.
const (
	mfaFreeFailures = 5
	mfaLockoutStep  = time.Minute
	mfaMaxLockout   = 15 * time.Minute
)

func isAPIError(err error) bool {
	_, ok := err.(*awsquery.Error)
	return ok
}

// mfaDevicesOfUser counts the devices enabled for user.
func mfaDevicesOfUser(ctx context.Context, r store.Reader, account, user string) (int, error) {
	return r.Count(ctx, store.KindMFAByUser, account, user+"/")
}

// renameUserMFA moves a user's device assignments to its new name.
func renameUserMFA(ctx context.Context, tx store.Tx, account, oldName, newName string) error {
	list, err := store.ListJSON[store.MFAAssignment](ctx, tx, store.KindMFAByUser, account, oldName+"/")
	if err != nil {
		return err
	}
	for _, a := range list {
		if err := tx.Delete(ctx, store.KindMFAByUser, account, oldName+"/"+a.Device); err != nil {
			return err
		}
		a.User = newName
		if err := create(ctx, tx, store.KindMFAByUser, account, newName+"/"+a.Device, "", &a); err != nil {
			return err
		}
		var d store.MFADevice
		rec, err := load(ctx, tx, store.KindMFADevice, account, a.Device, &d)
		if err != nil {
			return err
		}
		d.User = newName
		if err := update(ctx, tx, rec, &d); err != nil {
			return err
		}
	}
	return nil
}
