package audit

import (
	"reflect"
	"time"
	"unicode"
	"unicode/utf8"
)

// ElementTime is how CloudTrail writes timestamps inside IAM and STS requestParameters and responseElements
// ("createDate": "Oct 21, 2019 5:08:13 PM"), unlike eventTime, which is ISO 8601.
const ElementTime = "Jan 2, 2006 3:04:05 PM"

// Elements converts an operation's typed input or output (a pointer to a struct of the generated API types) into
// CloudTrail's requestParameters or responseElements form: members named in lower camel case ("RoleName" becomes
// "roleName", as CloudTrail writes them), members left unset omitted, lists as arrays, timestamps in ElementTime.
// It returns nil when v is nil or sets no member (CloudTrail writes null then). The result is not redacted: Build
// does that.
func Elements(v any) map[string]any {
	if v == nil {
		return nil
	}
	m, _ := element(reflect.ValueOf(v)).(map[string]any)
	if len(m) == 0 {
		return nil
	}
	return m
}

var timeType = reflect.TypeFor[time.Time]()

// element converts one value; nil means "unset, omit it".
func element(v reflect.Value) any {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Type() == timeType {
		t := v.Interface().(time.Time)
		if t.IsZero() {
			return nil
		}
		return t.UTC().Format(ElementTime)
	}
	switch v.Kind() {
	case reflect.Struct:
		m := map[string]any{}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if x := element(v.Field(i)); x != nil {
				m[lowerFirst(f.Name)] = x
			}
		}
		return m
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			// A blob: CloudTrail never shows raw bytes (they are QR codes, seeds, certificates' binary forms).
			return Hidden
		}
		out := make([]any, 0, v.Len())
		for i := range v.Len() {
			out = append(out, element(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		m := make(map[string]any, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			if iter.Key().Kind() != reflect.String {
				return Hidden
			}
			m[iter.Key().String()] = element(iter.Value())
		}
		return m
	case reflect.String:
		if v.Len() == 0 {
			return nil
		}
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		return v.Float()
	}
	// Fail closed: a kind we do not know how to show is withheld rather than guessed at.
	return Hidden
}

// lowerFirst lowercases the first letter: CloudTrail's member naming ("SAMLProviderArn" becomes "sAMLProviderArn").
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}
