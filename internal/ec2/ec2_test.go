package ec2

import (
	"net/netip"
	"testing"
)

func TestValidateRegister(t *testing.T) {
	tests := []struct {
		name string
		in   RegisterInput
		ok   bool
	}{
		{"Empty", RegisterInput{}, true},
		{"Full", RegisterInput{InstanceType: "t3.micro", ImageID: "ami-0abcdef1234567890", AvailabilityZone: "eu-west-1a", PrivateIP: "10.0.0.12"}, true},
		{"BadType", RegisterInput{InstanceType: "huge"}, false},
		{"BadImage", RegisterInput{ImageID: "ubuntu"}, false},
		{"BadZone", RegisterInput{AvailabilityZone: "moon-1"}, false},
		{"BadIP", RegisterInput{PrivateIP: "10.0.0.256"}, false},
		{"IPv6", RegisterInput{PrivateIP: "::1"}, false},
		{"LeadingZero", RegisterInput{PrivateIP: "10.0.0.01"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := validateRegister(&tc.in); (err == nil) != tc.ok {
				t.Fatalf("validateRegister = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// FuzzValidIPv4: validIPv4 accepts exactly the canonical dotted-quad form netip parses as IPv4.
func FuzzValidIPv4(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "255.255.255.255", "0.0.0.0", "1.2.3", "01.2.3.4", "1.2.3.4.5", "::1", "1.2.3.-4", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := netip.ParseAddr(s)
		want := err == nil && a.Is4() && a.String() == s
		if got := validIPv4(s); got != want {
			t.Fatalf("validIPv4(%q) = %v, want %v", s, got, want)
		}
	})
}
