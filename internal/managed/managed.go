// Package managed serves the AWS-managed policies (arn:aws:iam::aws:policy/…) that every account can attach:
// their real names, paths, default versions, dates and documents, shipped as data (see extract.py).
package managed

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/base32"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"time"
)

//go:generate python3 extract.py

//go:embed policies.json.gz
var data []byte

// ARNPrefix starts the ARN of every AWS-managed policy.
const ARNPrefix = "arn:aws:iam::aws:policy"

// Policy is one AWS-managed policy.
type Policy struct {
	Name             string
	Path             string
	ARN              string
	ID               string
	DefaultVersionID string
	Created          time.Time
	Updated          time.Time
	Document         string
}

var (
	once   sync.Once
	byARN  map[string]*Policy
	sorted []*Policy
)

func load() {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		panic("managed: corrupt embedded data: " + err.Error())
	}
	var raw []struct {
		Name, Path, Version, Created, Updated, Document string
	}
	if err := json.NewDecoder(zr).Decode(&raw); err != nil {
		panic("managed: corrupt embedded data: " + err.Error())
	}
	byARN = make(map[string]*Policy, len(raw))
	for _, r := range raw {
		p := &Policy{
			Name:             r.Name,
			Path:             r.Path,
			ARN:              ARNPrefix + r.Path + r.Name,
			ID:               policyID(r.Name),
			DefaultVersionID: r.Version,
			Created:          parseTime(r.Created),
			Updated:          parseTime(r.Updated),
			Document:         r.Document,
		}
		byARN[p.ARN] = p
		sorted = append(sorted, p)
	}
	sort.Slice(sorted, func(i, j int) bool { return strings.ToLower(sorted[i].Name) < strings.ToLower(sorted[j].Name) })
}

// policyID derives a stable ANPA… id from the name, so every Persona server gives a policy the same id.
func policyID(name string) string {
	sum := sha256.Sum256([]byte("aws-managed-policy:" + name))
	return "ANPA" + base32.StdEncoding.EncodeToString(sum[:])[:17]
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// Lookup returns the AWS-managed policy with the given ARN.
func Lookup(arn string) (*Policy, bool) {
	once.Do(load)
	p, ok := byARN[arn]
	return p, ok
}

// All returns every AWS-managed policy, ordered by name without regard to case. The slice must not be modified.
func All() []*Policy {
	once.Do(load)
	return sorted
}
