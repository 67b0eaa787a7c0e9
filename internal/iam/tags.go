package iam

import (
	"strings"

	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store"
)

// validateTags applies the tag rules the model cannot express: at most 50 tags and no key given twice (keys
// compare without regard to case). https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html#id_tags_rules
func validateTags(tags []iamapi.Tag) error {
	if len(tags) > quotaTagsPerEntity {
		return limitExceeded("TagsPerEntity", quotaTagsPerEntity)
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		k := strings.ToLower(t.Key)
		if seen[k] {
			return iamapi.InvalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[k] = true
		if strings.HasPrefix(k, "aws:") {
			return iamapi.InvalidInput("User is not authorized to tag with keys that begin with aws:.")
		}
	}
	return nil
}

func tagsIn(tags []iamapi.Tag) []store.Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]store.Tag, len(tags))
	for i, t := range tags {
		out[i] = store.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

func tagsOut(tags []store.Tag) []iamapi.Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]iamapi.Tag, len(tags))
	for i, t := range tags {
		out[i] = iamapi.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

// requestTagKeys returns the condition keys a request that creates tags (and optionally sets a permissions
// boundary) carries: aws:RequestTag/KEY, aws:TagKeys, iam:PermissionsBoundary.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_iam-tags.html
func requestTagKeys(tags []iamapi.Tag, boundary string) map[string][]string {
	if len(tags) == 0 && boundary == "" {
		return nil
	}
	m := map[string][]string{}
	if len(tags) > 0 {
		keys := make([]string, 0, len(tags))
		for _, t := range tags {
			m["aws:RequestTag/"+t.Key] = []string{t.Value}
			keys = append(keys, t.Key)
		}
		m["aws:TagKeys"] = keys
	}
	if boundary != "" {
		m["iam:PermissionsBoundary"] = []string{boundary}
	}
	return m
}

// resourceTagKeys returns aws:ResourceTag/KEY (and iam:ResourceTag/KEY) for an existing entity's tags.
func resourceTagKeys(tags []store.Tag) map[string][]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string][]string, 2*len(tags))
	for _, t := range tags {
		m["aws:ResourceTag/"+t.Key] = []string{t.Value}
		m["iam:ResourceTag/"+t.Key] = []string{t.Value}
	}
	return m
}
