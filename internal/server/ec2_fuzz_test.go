package server

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzEC2List: ec2List returns the Name.N values of a form in increasing N, and only those: every value comes
// from a key Name.N with N a positive integer, and no such key is missed.
func FuzzEC2List(f *testing.F) {
	f.Add("InstanceId.1=a&InstanceId.2=b&InstanceId.10=c")
	f.Add("InstanceId.0=x&InstanceId.-1=y&InstanceId.=z&InstanceIdX.1=w&InstanceId.1.Name=v")
	f.Fuzz(func(t *testing.T, raw string) {
		form := map[string][]string{}
		for _, kv := range strings.Split(raw, "&") {
			k, v, _ := strings.Cut(kv, "=")
			form[k] = append(form[k], v)
		}
		got := ec2List(form, "InstanceId")
		want := 0
		for k, v := range form {
			rest, ok := strings.CutPrefix(k, "InstanceId.")
			if !ok || len(v) == 0 {
				continue
			}
			if n, err := strconv.Atoi(rest); err == nil && n > 0 {
				want++
			}
		}
		if len(got) != want {
			t.Fatalf("ec2List(%q) = %q, want %d values", raw, got, want)
		}
	})
}
