package awsquery

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Limits on a form, generous for IAM's largest requests (a 131,072-character policy document, percent-encoded,
// is under 400 KiB; SimulateCustomPolicy with many context entries has a few thousand parameters) and small
// enough that a hostile request cannot make the decoder do unbounded work.
const (
	// MaxFormBytes bounds the encoded form ParseForm accepts.
	MaxFormBytes = 2 << 20
	// MaxFormParams bounds the number of parameters ParseForm accepts.
	MaxFormParams = 10000
)

// ParseForm parses an application/x-www-form-urlencoded body or query string, as the Query protocol sends it:
// pairs separated by '&', '+' for space, %XX escapes. Unlike net/url it treats ';' as an ordinary character,
// fails on the first malformed escape with its byte offset, and enforces MaxFormBytes and MaxFormParams.
// Errors are *Error values ready for the wire.
func ParseForm(body []byte) (url.Values, error) {
	if len(body) > MaxFormBytes {
		return nil, &Error{Code: "RequestEntityTooLarge", HTTPStatus: http.StatusRequestEntityTooLarge, Sender: true,
			Message: "The request's form is " + strconv.Itoa(len(body)) + " bytes; at most " + strconv.Itoa(MaxFormBytes) + " are accepted."}
	}
	form := make(url.Values, 8)
	if len(body) == 0 {
		return form, nil
	}
	// One conversion; unescaped keys and values are substrings of s and cost nothing more.
	s := string(body)
	n := 0
	for off := 0; off <= len(s); {
		end := strings.IndexByte(s[off:], '&')
		if end < 0 {
			end = len(s)
		} else {
			end += off
		}
		pair := s[off:end]
		start := off
		off = end + 1
		if pair == "" {
			continue
		}
		n++
		if n > MaxFormParams {
			return nil, &Error{Code: "InvalidQueryParameter", HTTPStatus: http.StatusBadRequest, Sender: true,
				Message: "The request has more than " + strconv.Itoa(MaxFormParams) + " parameters."}
		}
		key, value := pair, ""
		vstart := start
		if i := strings.IndexByte(pair, '='); i >= 0 {
			key, value = pair[:i], pair[i+1:]
			vstart = start + i + 1
		}
		k, err := unescape(key, start)
		if err != nil {
			return nil, err
		}
		v, err := unescape(value, vstart)
		if err != nil {
			return nil, err
		}
		form[k] = append(form[k], v)
	}
	return form, nil
}

// unescape decodes '+' and %XX in s, which starts at byte base of the form (for the error message).
func unescape(s string, base int) (string, error) {
	n := 0
	plus := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '%':
			if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
				return "", &Error{Code: "MalformedQueryString", HTTPStatus: http.StatusNotFound, Sender: true,
					Message: "Invalid percent-encoding at byte " + strconv.Itoa(base+i) + " of the request's form."}
			}
			n++
			i += 2
		case '+':
			plus = true
		}
	}
	if n == 0 && !plus {
		return s, nil
	}
	b := make([]byte, 0, len(s)-2*n)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case '+':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b), nil
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
