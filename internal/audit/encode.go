package audit

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendRecord appends rec's JSON to dst, byte for byte what json.Marshal(rec) writes (TestAppendRecordIsMarshal
// and FuzzAppendRecord hold it to that), without reflection: encoding/json was most of Build's cost, and Build runs
// on every request's path. Values inside requestParameters and responseElements that are not strings, booleans,
// nil, maps or slices (numbers) are written by json.Marshal.
func appendRecord(dst []byte, rec *Record) ([]byte, error) {
	var err error
	dst = append(dst, `{"eventVersion":`...)
	dst = appendString(dst, rec.EventVersion)
	dst = append(dst, `,"userIdentity":`...)
	dst = appendIdentity(dst, &rec.UserIdentity)
	dst = appendField(dst, "eventTime", rec.EventTime)
	dst = appendField(dst, "eventSource", rec.EventSource)
	dst = appendField(dst, "eventName", rec.EventName)
	dst = appendField(dst, "awsRegion", rec.AWSRegion)
	dst = appendField(dst, "sourceIPAddress", rec.SourceIPAddress)
	dst = appendField(dst, "userAgent", rec.UserAgent)
	dst = appendOmitEmpty(dst, "errorCode", rec.ErrorCode)
	dst = appendOmitEmpty(dst, "errorMessage", rec.ErrorMessage)
	dst = append(dst, `,"requestParameters":`...)
	if dst, err = appendValue(dst, rec.RequestParameters); err != nil {
		return nil, err
	}
	dst = append(dst, `,"responseElements":`...)
	if dst, err = appendValue(dst, rec.ResponseElements); err != nil {
		return nil, err
	}
	dst = appendField(dst, "requestID", rec.RequestID)
	dst = appendField(dst, "eventID", rec.EventID)
	dst = append(dst, `,"readOnly":`...)
	dst = strconv.AppendBool(dst, rec.ReadOnly)
	if len(rec.Resources) > 0 {
		dst = append(dst, `,"resources":[`...)
		for i, r := range rec.Resources {
			if i > 0 {
				dst = append(dst, ',')
			}
			o := object{dst: append(dst, '{')}
			o.omitEmpty("ARN", r.ARN)
			o.omitEmpty("accountId", r.AccountID)
			o.omitEmpty("type", r.Type)
			dst = append(o.dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = appendField(dst, "eventType", rec.EventType)
	dst = append(dst, `,"managementEvent":`...)
	dst = strconv.AppendBool(dst, rec.ManagementEvent)
	dst = appendField(dst, "recipientAccountId", rec.RecipientAccountID)
	dst = appendOmitEmpty(dst, "sharedEventID", rec.SharedEventID)
	dst = appendField(dst, "eventCategory", rec.EventCategory)
	if t := rec.TLSDetails; t != nil {
		dst = append(dst, `,"tlsDetails":{"tlsVersion":`...)
		dst = appendString(dst, t.TLSVersion)
		dst = appendField(dst, "cipherSuite", t.CipherSuite)
		dst = appendField(dst, "clientProvidedHostHeader", t.ClientProvidedHostHeader)
		dst = append(dst, '}')
	}
	return append(dst, '}'), nil
}

func appendIdentity(dst []byte, id *UserIdentity) []byte {
	dst = append(dst, `{"type":`...)
	dst = appendString(dst, id.Type)
	dst = appendOmitEmpty(dst, "principalId", id.PrincipalID)
	dst = appendOmitEmpty(dst, "arn", id.ARN)
	dst = appendOmitEmpty(dst, "accountId", id.AccountID)
	dst = appendOmitEmpty(dst, "accessKeyId", id.AccessKeyID)
	dst = appendOmitEmpty(dst, "userName", id.UserName)
	dst = appendOmitEmpty(dst, "identityProvider", id.IdentityProvider)
	dst = appendOmitEmpty(dst, "invokedBy", id.InvokedBy)
	if sc := id.SessionContext; sc != nil {
		o := object{dst: append(dst, `,"sessionContext":{`...)}
		if si := sc.SessionIssuer; si != nil {
			o.key("sessionIssuer")
			o.dst = append(o.dst, `{"type":`...)
			o.dst = appendString(o.dst, si.Type)
			o.dst = appendField(o.dst, "principalId", si.PrincipalID)
			o.dst = appendField(o.dst, "arn", si.ARN)
			o.dst = appendField(o.dst, "accountId", si.AccountID)
			o.dst = appendField(o.dst, "userName", si.UserName)
			o.dst = append(o.dst, '}')
		}
		if w := sc.WebIDFederationData; w != nil {
			o.key("webIdFederationData")
			wo := object{dst: append(o.dst, '{')}
			wo.omitEmpty("federatedProvider", w.FederatedProvider)
			wo.key("attributes")
			if w.Attributes == nil {
				wo.dst = append(wo.dst, "null"...)
			} else {
				wo.dst = append(wo.dst, '{')
				for i, k := range sortedKeys(w.Attributes) {
					if i > 0 {
						wo.dst = append(wo.dst, ',')
					}
					wo.dst = appendString(wo.dst, k)
					wo.dst = append(wo.dst, ':')
					wo.dst = appendString(wo.dst, w.Attributes[k])
				}
				wo.dst = append(wo.dst, '}')
			}
			o.dst = append(wo.dst, '}')
		}
		o.key("attributes")
		o.dst = append(o.dst, `{"creationDate":`...)
		o.dst = appendString(o.dst, sc.Attributes.CreationDate)
		o.dst = appendField(o.dst, "mfaAuthenticated", sc.Attributes.MFAAuthenticated)
		o.dst = append(o.dst, '}')
		o.omitEmpty("sourceIdentity", sc.SourceIdentity)
		dst = append(o.dst, '}')
	}
	return append(dst, '}')
}

// object writes the members of a JSON object whose members may all be absent.
type object struct {
	dst  []byte
	some bool
}

func (o *object) key(k string) {
	if o.some {
		o.dst = append(o.dst, ',')
	}
	o.some = true
	o.dst = appendString(o.dst, k)
	o.dst = append(o.dst, ':')
}

func (o *object) omitEmpty(k, v string) {
	if v != "" {
		o.key(k)
		o.dst = appendString(o.dst, v)
	}
}

// appendField appends `,"k":v`.
func appendField(dst []byte, k, v string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, k...)
	dst = append(dst, '"', ':')
	return appendString(dst, v)
}

func appendOmitEmpty(dst []byte, k, v string) []byte {
	if v == "" {
		return dst
	}
	return appendField(dst, k, v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendValue appends v as json.Marshal writes it.
func appendValue(dst []byte, v any) ([]byte, error) {
	var err error
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, v), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case map[string]any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '{')
		for i, k := range sortedKeys(v) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			if dst, err = appendValue(dst, v[k]); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, x := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendValue(dst, x); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string as encoding/json writes it (HTML characters, U+2028 and U+2029
// escaped, invalid UTF-8 replaced by U+FFFD).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
