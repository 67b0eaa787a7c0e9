package server

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzEC2List: ec2List returns the Name.N values of a form in increasing N, and only those: every value comes
// from a key Name.N with N a positive integer, and no such key is missed; ec2Seq returns Name.1, Name.2, … up to
// the first index missing.
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
		// ec2Seq: the values of InstanceId.1, .2, … in order, stopping at the first index missing.
		seq := ec2Seq(form, "InstanceId")
		for i, v := range seq {
			if vs := form["InstanceId."+strconv.Itoa(i+1)]; len(vs) == 0 || vs[0] != v {
				t.Fatalf("ec2Seq(%q)[%d] = %q, but InstanceId.%d is %q", raw, i, v, i+1, vs)
			}
		}
		if vs := form["InstanceId."+strconv.Itoa(len(seq)+1)]; len(vs) > 0 {
			t.Fatalf("ec2Seq(%q) = %q stopped before InstanceId.%d = %q", raw, seq, len(seq)+1, vs)
		}
	})
}
