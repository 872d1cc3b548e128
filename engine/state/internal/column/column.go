// Package column encodes values the way both state stores keep them in
// their columns: JSON documents, times at microsecond precision, and cursor
// positions kept exactly.
package column

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/kelompok/pipe/connectors"
)

// Now returns the current time in UTC with microsecond precision, the
// precision both stores keep.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Norm returns t in UTC with microsecond precision, or Now() when t is zero.
func Norm(t time.Time) time.Time {
	if t.IsZero() {
		return Now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// JSON encodes v for a JSON column; nil maps and slices become "null".
func JSON(v any) (string, error) {
	buf := jsonBufs.Get().(*[]byte)
	b, err := appendJSON((*buf)[:0], v)
	if err != nil {
		jsonBufs.Put(buf)
		return "", fmt.Errorf("encode %T as JSON for the state store: %w", v, err)
	}
	out := string(b)
	if cap(b) <= 64<<10 { // a rare huge value does not stay pinned
		*buf = b
		jsonBufs.Put(buf)
	}
	return out, nil
}

// jsonBufs holds JSON's scratch buffers: one allocation per encoded value
// (the string) instead of a buffer grown for each.
var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Decode decodes a JSON column into dst ("" and "null" leave it zero).
func Decode(s string, dst any) error {
	if s == "" || s == "null" {
		return nil
	}
	if m, ok := dst.(*map[string]any); ok && *m == nil {
		if flat, ok := decodeFlat(s); ok {
			*m = flat
			return nil
		}
	}
	if err := json.Unmarshal([]byte(s), dst); err != nil {
		return fmt.Errorf("decode JSON column of the state store: %w", err)
	}
	return nil
}

// PositionTime encodes a cursor position's time exactly (RFC 3339 with
// nanoseconds, UTC); the zero time is "".
func PositionTime(p connectors.Position) string { return ExactTime(p.UpdatedAt) }

// ParsePosition decodes a cursor position stored by PositionTime.
func ParsePosition(t, id string) (connectors.Position, error) {
	p := connectors.Position{ID: id}
	ts, err := ParseExactTime(t)
	if err != nil {
		return p, fmt.Errorf("stored cursor time %q: %w", t, err)
	}
	p.UpdatedAt = ts
	return p, nil
}

// ExactTime encodes a time exactly (RFC 3339 with nanoseconds, UTC), as
// cursor positions are kept; the zero time is "".
func ExactTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// ParseExactTime decodes a time stored by ExactTime ("" is the zero time).
func ParseExactTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}
