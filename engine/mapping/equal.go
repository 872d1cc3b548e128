package mapping

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/kelompok/pipe/internal/jsonappend"
)

// Equal reports whether two JSON-like values are the same for syncing:
//
//   - numbers compare by value, whatever their Go type (int64 3 equals
//     float64 3.0, json.Number "3");
//   - a time.Time equals a string holding the same instant in RFC 3339
//     (time zones and fractional zeros do not matter);
//   - lists compare element by element, whatever their element type
//     ([]string{"a"} equals []any{"a"});
//   - in maps, a nil value, a missing key and an empty nested map are the
//     same (a side that returns every field as null equals one that leaves
//     them out).
func Equal(a, b any) bool {
	return reflect.DeepEqual(Canonical(a), Canonical(b))
}

// Hash returns a stable content hash of m (hex SHA-256 of its canonical
// JSON): maps equal under Equal have the same hash, whatever their key order
// or number types.
//
// The canonical JSON is json.Marshal(Canonical(m)), written here without
// building the canonical copy for the shapes records are made of (maps,
// lists, strings, numbers, booleans); anything else goes through Canonical.
func Hash(m map[string]any) string {
	var buf [512]byte
	b, ok := appendCanonical(buf[:0], m)
	if !ok {
		b = append(b[:0], "null"...)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// appendCanonical appends the JSON encoding of Canonical(v) to b. ok is
// false, and b unchanged, when Canonical(v) is nil (a map entry holding it
// is left out).
func appendCanonical(b []byte, v any) (_ []byte, ok bool) {
	switch v := v.(type) {
	case nil:
		return b, false
	case string:
		if t, ok := parseTime(v); ok {
			return jsonappend.String(b, t.UTC().Format(time.RFC3339Nano)), true
		}
		return jsonappend.String(b, v), true
	case bool:
		return strconv.AppendBool(b, v), true
	case float64:
		return append(b, number(v)...), true
	case int:
		return strconv.AppendInt(b, int64(v), 10), true
	case int64:
		return strconv.AppendInt(b, v, 10), true
	case map[string]any:
		start := len(b)
		var small [16]string
		keys := small[:0]
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		n := 0
		for _, k := range keys {
			mark := len(b)
			if n > 0 {
				b = append(b, ',')
			}
			b = jsonappend.String(b, k)
			b = append(b, ':')
			var present bool
			if b, present = appendCanonical(b, v[k]); !present {
				b = b[:mark]
				continue
			}
			n++
		}
		if n == 0 {
			return b[:start], false
		}
		return append(b, '}'), true
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var present bool
			if b, present = appendCanonical(b, e); !present {
				b = append(b, "null"...)
			}
		}
		return append(b, ']'), true
	}
	c := Canonical(v)
	if c == nil {
		return b, false
	}
	enc, err := json.Marshal(c)
	if err != nil { // Canonical leaves only JSON-encodable values
		panic("mapping: Hash: " + err.Error())
	}
	return append(b, enc...), true
}

// Canonical returns v in the canonical form Equal and Hash compare: maps
// without nil or empty values (nil if nothing is left), lists as []any,
// numbers as json.Number in shortest form, times (and strings that are RFC
// 3339 times) as UTC RFC 3339 strings, other values through their JSON
// encoding.
func Canonical(v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		if t, ok := parseTime(v); ok {
			return t.UTC().Format(time.RFC3339Nano)
		}
		return v
	case bool:
		return v
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case *time.Time:
		if v == nil {
			return nil
		}
		return v.UTC().Format(time.RFC3339Nano)
	case json.Number:
		if f, err := v.Float64(); err == nil {
			return number(f)
		}
		return string(v)
	case float64:
		return number(v)
	case float32:
		return number(float64(v))
	case int:
		return json.Number(strconv.FormatInt(int64(v), 10))
	case int64:
		return json.Number(strconv.FormatInt(v, 10))
	case int32:
		return json.Number(strconv.FormatInt(int64(v), 10))
	case int16, int8, uint, uint8, uint16, uint32, uint64:
		return number(reflect.ValueOf(v).Convert(reflect.TypeOf(float64(0))).Float())
	case map[string]any:
		if len(v) == 0 {
			return nil
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			if c := Canonical(e); c != nil {
				out[k] = c
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = Canonical(e)
		}
		return out
	case []string:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = Canonical(e)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = Canonical(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		if rv.IsNil() {
			return nil
		}
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
	}
	// Structs (functions.Ref) and other types: through their JSON form.
	b, err := json.Marshal(v)
	if err != nil {
		return reflect.TypeOf(v).String()
	}
	var back any
	if err := json.Unmarshal(b, &back); err != nil {
		return string(b)
	}
	return Canonical(back)
}

// number is f as a json.Number: integers without exponent or fraction.
func number(f float64) json.Number {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return json.Number(strconv.FormatInt(int64(f), 10))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return json.Number("0") // not representable in JSON; never produced by connectors
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
}

// parseTime parses RFC 3339 timestamps (with a date and a time); plain
// dates and other strings are not times.
func parseTime(s string) (time.Time, bool) {
	if len(s) < 20 || len(s) > 40 || s[4] != '-' || (s[10] != 'T' && s[10] != ' ') {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}
