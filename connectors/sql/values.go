package sql

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// sqliteTimeFormat is how timestamps are written to SQLite: UTC, fixed-width
// RFC 3339 with microseconds. SQLite's date functions understand it and it
// sorts as text in time order.
const sqliteTimeFormat = "2006-01-02T15:04:05.000000Z"

var timeFormats = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999-07",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
}

// parseTime reads the timestamp forms found in databases and JSON; a time
// without a zone is UTC.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, f := range timeFormats {
		if t, err := time.Parse(f, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a timestamp (want RFC 3339, e.g. 2024-05-01T10:00:00Z)", s)
}

// decodeFunc turns a value as the driver returns it into a Record value.
type decodeFunc func(v any) (any, error)

// decoder returns the decoder for a column type. textEncoded is true for
// SQLite, where lists and JSON are stored as JSON text.
func decoder(typ string, textEncoded bool) decodeFunc {
	switch typ {
	case TypeUUID:
		return decodeUUID
	case TypeInt:
		return decodeInt
	case TypeFloat:
		return decodeFloat
	case TypeBool:
		return decodeBool
	case TypeTimestamp:
		return decodeTime
	case TypeTextArray:
		if textEncoded {
			return decodeJSONList
		}
		return decodeList
	case TypeJSON:
		if textEncoded {
			return decodeJSONText
		}
		return decodeJSONValue
	}
	return decodeText
}

func decodeUUID(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case [16]byte:
		return uuid.UUID(x).String(), nil
	case []byte:
		if len(x) == 16 {
			return uuid.UUID(x).String(), nil
		}
		return string(x), nil
	case string:
		return v, nil
	}
	return decodeText(v)
}

func decodeText(v any) (any, error) {
	if i, ok := integer(v); ok {
		return strconv.FormatInt(i, 10), nil
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return v, nil
	case []byte:
		return string(x), nil
	case [16]byte:
		return uuid.UUID(x).String(), nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), nil
	case bool:
		return strconv.FormatBool(x), nil
	case fmt.Stringer:
		return x.String(), nil
	}
	return fmt.Sprint(v), nil
}

// integer returns v as an int64 when it is one of the Go integer types
// drivers and mappings hand over (int64, int32, int16, int).
func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case int:
		return int64(x), true
	}
	return 0, false
}

// textOf returns v as a string when the driver returned text (a string or
// bytes).
func textOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

func decodeInt(v any) (any, error) {
	if i, ok := integer(v); ok {
		return i, nil
	}
	if s, ok := textOf(v); ok {
		return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int8:
		return int64(x), nil
	case float64:
		if x == math.Trunc(x) {
			return int64(x), nil
		}
		return nil, fmt.Errorf("%v is not a whole number", x)
	case pgtype.Numeric:
		i, err := x.Int64Value()
		if err != nil {
			return nil, err
		}
		return i.Int64, nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	}
	return nil, fmt.Errorf("cannot read %T as an integer", v)
}

func decodeFloat(v any) (any, error) {
	if i, ok := integer(v); ok {
		return float64(i), nil
	}
	if s, ok := textOf(v); ok {
		return strconv.ParseFloat(strings.TrimSpace(s), 64)
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case float64:
		return v, nil
	case float32:
		return float64(x), nil
	case pgtype.Numeric:
		f, err := x.Float64Value()
		if err != nil {
			return nil, err
		}
		if !f.Valid {
			return nil, nil
		}
		return f.Float64, nil
	}
	return nil, fmt.Errorf("cannot read %T as a number", v)
}

func decodeBool(v any) (any, error) {
	if s, ok := textOf(v); ok {
		return strconv.ParseBool(strings.TrimSpace(s))
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool:
		return v, nil
	case int64:
		return x != 0, nil
	}
	return nil, fmt.Errorf("cannot read %T as a boolean", v)
}

func decodeTime(v any) (any, error) {
	if s, ok := textOf(v); ok {
		return parseTime(s)
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		if x.Location() == time.UTC {
			return v, nil
		}
		return x.UTC(), nil
	case int64:
		return time.Unix(x, 0).UTC(), nil
	case float64:
		sec, frac := math.Modf(x)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	return nil, fmt.Errorf("cannot read %T as a timestamp", v)
}

// decodeList reads a PostgreSQL array (pgx returns []any) as a list of
// strings; NULL elements stay nil.
func decodeList(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		return textElements(x), nil
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	case string, []byte:
		return decodeJSONList(v)
	}
	return nil, fmt.Errorf("cannot read %T as a list", v)
}

// decodeJSONList reads a list stored as JSON text (SQLite).
func decodeJSONList(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		return decodeList(x)
	}
	s, ok := textOf(v)
	if !ok {
		return nil, fmt.Errorf("cannot read %T as a list", v)
	}
	var list []any
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, fmt.Errorf("list column does not hold a JSON array of strings: %w", err)
	}
	return textElements(list), nil
}

// textElements returns list with every element that is neither a string
// nor nil turned into its text; list itself is returned, unchanged, when
// there is none, and is never modified.
func textElements(list []any) []any {
	var out []any
	for i, e := range list {
		if _, ok := e.(string); ok || e == nil {
			continue
		}
		if out == nil {
			out = append([]any(nil), list...)
		}
		out[i], _ = decodeText(e)
	}
	if out == nil {
		return list
	}
	return out
}

// decodeJSONValue keeps what pgx decoded from json/jsonb.
func decodeJSONValue(v any) (any, error) {
	switch x := v.(type) {
	case []byte:
		return decodeJSONText(x)
	}
	return v, nil
}

// decodeJSONText parses JSON stored as text (SQLite).
func decodeJSONText(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	s, ok := textOf(v)
	if !ok {
		return v, nil
	}
	var out any
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("json column does not hold valid JSON: %w", err)
	}
	return out, nil
}

// Values as written: each function turns a Record value into the Go value of
// the column type, before the dialect's final encoding.

// encodeValue turns a non-nil Record value into the Go value of column c's
// type: a uuid string, int64, float64, bool, time.Time (UTC), []string,
// the value itself for json, else text. PostgreSQL takes it as is; SQLite
// encodes it further.
func encodeValue(c column, v any) (any, error) {
	switch c.Type {
	case TypeUUID:
		return toUUID(v)
	case TypeInt:
		return toInt(v)
	case TypeFloat:
		return toFloat(v)
	case TypeBool:
		return toBool(v)
	case TypeTimestamp:
		return toTime(v)
	case TypeTextArray:
		return toStrings(v)
	case TypeJSON:
		return v, nil
	}
	return toText(v)
}

// parseLookup parses a text value (a key, a Find value) compared with
// column c: a uuid.UUID for uuid columns, an int64 for int columns, else s
// itself; ok is false when no row can hold it.
func parseLookup(c column, s string) (any, bool) {
	switch c.Type {
	case TypeUUID:
		u, err := uuid.Parse(strings.TrimSpace(s))
		if err != nil {
			return nil, false
		}
		return u, true
	case TypeInt:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, false
		}
		return i, true
	}
	return s, true
}

func toText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int64, int32, int, float64, float32, bool, time.Time:
		s, _ := decodeText(x)
		return s.(string), nil
	}
	return "", fmt.Errorf("cannot write %T as text", v)
}

func toUUID(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("cannot write %T as a uuid", v)
	}
	u, err := uuid.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("%q is not a uuid", s)
	}
	return u.String(), nil
}

func toInt(v any) (int64, error) {
	if _, isBool := v.(bool); isBool {
		return 0, fmt.Errorf("cannot write a boolean as an integer")
	}
	i, err := decodeInt(v)
	if err != nil {
		return 0, fmt.Errorf("cannot write %v as an integer: %w", v, err)
	}
	return i.(int64), nil
}

func toFloat(v any) (float64, error) {
	f, err := decodeFloat(v)
	if err != nil {
		return 0, fmt.Errorf("cannot write %v as a number: %w", v, err)
	}
	return f.(float64), nil
}

func toBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			return false, fmt.Errorf("cannot write %q as a boolean", x)
		}
		return b, nil
	}
	return false, fmt.Errorf("cannot write %T as a boolean", v)
}

func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case string:
		return parseTime(x)
	}
	return time.Time{}, fmt.Errorf("cannot write %T as a timestamp", v)
}

func toStrings(v any) ([]string, error) {
	switch x := v.(type) {
	case []string:
		return x, nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("list element %d is %T, want text", i, e)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot write %T as a list of text", v)
}
