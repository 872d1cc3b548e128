// Package jsonvalue converts JSON-decoded values and text cells into the
// Record value types of a declared column type (uuid, text, int, float, bool,
// timestamp, text[], json). It is shared by the file and exec connectors.
package jsonvalue

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Convert turns a JSON-decoded value (numbers as json.Number) or a CSV cell
// into the declared type; undeclared fields keep their JSON type, numbers
// becoming int64 when whole and float64 otherwise.
func Convert(v any, typ string, fromCSV bool) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch x := v.(type) {
	case json.Number:
		switch typ {
		case "text", "uuid":
			return x.String(), nil
		case "float":
			return x.Float64()
		}
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		if typ == "int" {
			return nil, fmt.Errorf("%s is not a whole number", x)
		}
		return x.Float64()
	case []any:
		for i, e := range x {
			ce, err := Convert(e, "", false)
			if err != nil {
				return nil, err
			}
			x[i] = ce
		}
		if typ == "text[]" {
			for i, e := range x {
				if e != nil {
					if _, ok := e.(string); !ok {
						x[i] = fmt.Sprint(e)
					}
				}
			}
		}
		return x, nil
	case map[string]any:
		for k, e := range x {
			ce, err := Convert(e, "", false)
			if err != nil {
				return nil, err
			}
			x[k] = ce
		}
		return x, nil
	case string:
		switch typ {
		case "timestamp":
			return ParseTime(x)
		case "int":
			return strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		case "float":
			return strconv.ParseFloat(strings.TrimSpace(x), 64)
		case "bool":
			return strconv.ParseBool(strings.TrimSpace(x))
		case "text[]", "json":
			if !fromCSV {
				if typ == "text[]" {
					return nil, fmt.Errorf("want a list, got a string")
				}
				return x, nil
			}
			dec := json.NewDecoder(strings.NewReader(x))
			dec.UseNumber()
			var out any
			if err := dec.Decode(&out); err != nil {
				return nil, fmt.Errorf("cell is not JSON: %w", err)
			}
			return Convert(out, typ, false)
		}
		return x, nil
	case bool:
		if typ == "text" {
			return strconv.FormatBool(x), nil
		}
		return x, nil
	}
	return v, nil
}

// timeFormats are the timestamp forms ParseTime accepts.
var timeFormats = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"}

// ParseTime reads an RFC 3339 timestamp (or a date, or one without a zone,
// taken as UTC) and returns it in UTC.
func ParseTime(s string) (time.Time, error) {
	for _, f := range timeFormats {
		if t, err := time.Parse(f, strings.TrimSpace(s)); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a timestamp (want RFC 3339, e.g. 2024-05-01T10:00:00Z)", s)
}
