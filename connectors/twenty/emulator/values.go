package emulator

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// timeLayout is how Twenty prints timestamps: UTC with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// parseTime accepts the forms Postgres accepts for timestamptz that clients
// actually send: RFC 3339 with or without fractions, and a bare date.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid input syntax for type timestamp with time zone: %q", s)
}

// apiError is an error answered to the client with Twenty's error body.
type apiError struct {
	Status   int
	Error    string
	Code     string
	Messages []string
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{Status: 400, Error: "BadRequestException", Messages: []string{fmt.Sprintf(format, args...)}}
}

func notFound(msg string) *apiError {
	return &apiError{Status: 404, Error: "NotFoundException", Messages: []string{msg}}
}

// cloneValue deep-copies a JSON-like value.
func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneValue(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = cloneValue(e)
		}
		return s
	case []string:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = e
		}
		return s
	default:
		return v
	}
}

func cloneRecord(r map[string]any) map[string]any { return cloneValue(r).(map[string]any) }

// normalizeEmail lower-cases an email like Twenty does before storing it.
func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// normalizeLinkURL lower-cases a URL's scheme and host and drops one
// trailing slash, like Twenty's lowercaseUrlOriginAndRemoveTrailingSlash.
// A URL without a scheme has its host part (up to the first slash)
// lower-cased.
func normalizeLinkURL(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	if i := strings.Index(s, "://"); i > 0 {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			origin := strings.ToLower(u.Scheme + "://" + u.Host)
			rest := s[len(u.Scheme)+3+len(u.Host):]
			return strings.TrimSuffix(origin+rest, "/")
		}
	}
	host, rest, _ := strings.Cut(s, "/")
	if rest == "" && strings.HasSuffix(s, "/") {
		return strings.ToLower(host)
	}
	if rest == "" {
		return strings.ToLower(host)
	}
	return strings.TrimSuffix(strings.ToLower(host)+"/"+rest, "/")
}

// coerceField validates one input value for field f of object o and
// returns the value to store. A composite input is returned as a partial
// map (only the sub-fields given); the caller merges it.
func coerceField(o *objectDef, f *fieldDef, v any) (any, *apiError) {
	if v == nil {
		switch f.Type {
		case typeBoolean:
			if !f.IsNullable {
				return nil, badRequest("null value in column %q of relation %q violates not-null constraint", f.Name, o.Singular)
			}
		}
		if isComposite(f.Type) {
			return nil, badRequest("Invalid value for composite field %q: null", f.Name)
		}
		return nil, nil
	}
	wrongType := func(want string) *apiError {
		b, _ := json.Marshal(v)
		return badRequest("Invalid value %s for field %q: expected %s", string(b), f.Name, want)
	}
	switch f.Type {
	case typeText:
		s, ok := v.(string)
		if !ok {
			return nil, wrongType("a string")
		}
		return s, nil
	case typeNumber, typePosition, typeRating:
		n, ok := v.(float64)
		if !ok {
			return nil, wrongType("a number")
		}
		return n, nil
	case typeBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, wrongType("a boolean")
		}
		return b, nil
	case typeUUID:
		s, ok := v.(string)
		if !ok {
			return nil, wrongType("a UUID string")
		}
		if _, err := uuid.Parse(s); err != nil || len(s) != 36 {
			return nil, badRequest("invalid input syntax for type uuid: %q", s)
		}
		return strings.ToLower(s), nil
	case typeDateTime:
		s, ok := v.(string)
		if !ok {
			return nil, wrongType("an ISO 8601 date-time string")
		}
		t, err := parseTime(s)
		if err != nil {
			return nil, badRequest("%s", err.Error())
		}
		return formatTime(t), nil
	case typeDate:
		s, ok := v.(string)
		if !ok {
			return nil, wrongType("a date string")
		}
		t, err := parseTime(s)
		if err != nil {
			return nil, badRequest("invalid input syntax for type date: %q", s)
		}
		return t.Format("2006-01-02"), nil
	case typeSelect:
		s, ok := v.(string)
		if !ok || !contains(f.Options, s) {
			return nil, badRequest("invalid input value for enum %s: %q", f.EnumName, fmt.Sprint(v))
		}
		return s, nil
	case typeMulti, typeArray:
		arr, ok := v.([]any)
		if !ok {
			return nil, wrongType("an array")
		}
		out := make([]any, 0, len(arr))
		for _, e := range arr {
			s, ok := e.(string)
			if !ok {
				return nil, wrongType("an array of strings")
			}
			if f.Type == typeMulti && !contains(f.Options, s) {
				return nil, badRequest("invalid input value for enum %s: %q", f.EnumName, s)
			}
			out = append(out, s)
		}
		return out, nil
	case typeRawJSON:
		return cloneValue(v), nil
	}
	subs, ok := compositeTypes[f.Type]
	if !ok {
		return nil, badRequest("Field %q of type %s cannot be written", f.Name, f.Type)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, wrongType("an object")
	}
	out := map[string]any{}
	for k, sv := range m {
		var sub *subField
		for i := range subs {
			if subs[i].name == k {
				sub = &subs[i]
			}
		}
		if sub == nil {
			return nil, badRequest("Object %s doesn't have any \"%s.%s\" field.", o.Singular, f.Name, k)
		}
		if sv == nil {
			out[k] = nil
			continue
		}
		switch sub.kind {
		case typeText:
			s, ok := sv.(string)
			if !ok {
				return nil, badRequest("Invalid value for %s.%s: expected a string", f.Name, k)
			}
			switch {
			case f.Type == typeEmails:
				s = normalizeEmail(s)
			case f.Type == typeLinks && k == "primaryLinkUrl":
				s = normalizeLinkURL(s)
			}
			out[k] = s
		case typeNumber:
			switch n := sv.(type) {
			case float64:
				out[k] = n
			case string: // amountMicros is a bigint; Twenty accepts it as a string too
				var f64 float64
				if _, err := fmt.Sscan(n, &f64); err != nil {
					return nil, badRequest("invalid input syntax for type numeric: %q", n)
				}
				out[k] = f64
			default:
				return nil, badRequest("Invalid value for %s.%s: expected a number", f.Name, k)
			}
		case typeArray:
			arr, ok := sv.([]any)
			if !ok {
				return nil, badRequest("Invalid value for %s.%s: expected an array", f.Name, k)
			}
			if f.Type == typeEmails {
				norm := make([]any, len(arr))
				for i, e := range arr {
					s, ok := e.(string)
					if !ok {
						return nil, badRequest("Invalid value for %s.%s: expected an array of strings", f.Name, k)
					}
					norm[i] = normalizeEmail(s)
				}
				arr = norm
			}
			out[k] = cloneValue(arr)
		default:
			out[k] = cloneValue(sv)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// lookupPath reads a dotted path (emails.primaryEmail) from a record. The
// second result is false when the path does not exist.
func lookupPath(r map[string]any, path string) (any, bool) {
	head, rest, nested := strings.Cut(path, ".")
	v, ok := r[head]
	if !ok {
		return nil, false
	}
	if !nested {
		return v, true
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, v == nil
	}
	return lookupPath(m, rest)
}
