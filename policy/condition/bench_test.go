package condition

import (
	"strconv"
	"testing"
)

func BenchmarkEvaluate(b *testing.B) {
	ctx := NewMapContext(map[string][]string{
		"aws:SourceIp":    {"203.0.113.77"},
		"s3:prefix":       {"home/alice/projects/2026/report.pdf"},
		"aws:TagKeys":     {"team", "project", "cost-center", "owner"},
		"aws:CurrentTime": {"2026-06-01T12:00:00Z"},
		"aws:SourceArn":   {"arn:aws:sns:us-east-1:123456789012:alerts"},
		"aws:username":    {"alice"},
	})
	benches := []struct {
		name, op, key string
		values        []string
	}{
		{"StringEquals", "StringEquals", "aws:username", []string{"bob", "carol", "alice"}},
		{"StringLike", "StringLike", "s3:prefix", []string{"home/bob/*", "home/alice/*"}},
		{"StringLikeMixedCaseKey", "StringLike", "S3:Prefix", []string{"home/*/projects/*.pdf"}},
		{"IpAddress", "IpAddress", "aws:SourceIp", []string{"10.0.0.0/8", "192.168.0.0/16", "203.0.113.0/24"}},
		{"ForAllValuesStringEquals", "ForAllValues:StringEquals", "aws:TagKeys", []string{"team", "project", "cost-center", "owner", "env"}},
		{"DateLessThan", "DateLessThan", "aws:CurrentTime", []string{"2027-01-01T00:00:00Z"}},
		{"ArnLike", "ArnLike", "aws:SourceArn", []string{"arn:aws:sns:*:123456789012:*"}},
		{"StringLikeVariable", "StringLike", "s3:prefix", []string{"home/${aws:username}/*"}},
	}
	for _, bb := range benches {
		c, err := Compile(bb.op, bb.key, bb.values, true)
		if err != nil {
			b.Fatal(err)
		}
		if !c.Evaluate(ctx, nil) {
			b.Fatalf("%s does not hold", bb.name)
		}
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Evaluate(ctx, nil)
			}
		})
	}
}

func BenchmarkMapContextValues(b *testing.B) {
	keys := []string{"aws:SourceIp", "aws:CurrentTime", "aws:EpochTime", "aws:PrincipalArn", "aws:PrincipalAccount",
		"aws:PrincipalType", "aws:userid", "aws:username", "aws:SecureTransport", "aws:RequestedRegion",
		"aws:PrincipalTag/team", "aws:ViaAWSService", "aws:UserAgent", "aws:MultiFactorAuthPresent",
		"aws:TokenIssueTime", "aws:SourceVpc", "aws:SourceVpce", "aws:PrincipalOrgID", "aws:CalledVia",
		"aws:ResourceAccount", "s3:prefix", "s3:max-keys", "s3:x-amz-acl", "s3:delimiter"}
	for _, n := range []int{2, 12, len(keys)} {
		m := map[string][]string{}
		for _, k := range keys[:n] {
			m[k] = []string{"v"}
		}
		ctx := NewMapContext(m)
		probe := lowerASCII(keys[n-1])
		b.Run("keys="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ctx.Values(probe)
				ctx.Values("aws:absent")
			}
		})
	}
}
