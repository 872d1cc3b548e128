package mapping

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/kelompok/pipe/engine/functions"
)

func TestGetSet(t *testing.T) {
	m := map[string]any{}
	Set(m, "name.firstName", "Budi")
	Set(m, "name.lastName", "Santoso")
	Set(m, "city", "Bandung")
	Set(m, "city.sub", "x") // replaces the non-map value
	if v, ok := Get(m, "name.firstName"); !ok || v != "Budi" {
		t.Errorf("Get name.firstName = %v, %v", v, ok)
	}
	if v, ok := Get(m, "city.sub"); !ok || v != "x" {
		t.Errorf("Get city.sub = %v, %v", v, ok)
	}
	if _, ok := Get(m, "name.middle"); ok {
		t.Error("Get found a missing key")
	}
	if _, ok := Get(m, "name.firstName.x"); ok {
		t.Error("Get went below a string")
	}
	if v, ok := Get(map[string]any{"a.b": 1}, "a.b"); !ok || v != 1 {
		t.Error("Get did not find a flat dotted key")
	}
	flat := Flatten(m)
	if len(flat) != 3 || flat["name.lastName"] != "Santoso" || flat["city.sub"] != "x" {
		t.Errorf("Flatten = %v", flat)
	}
}

func TestEqual(t *testing.T) {
	ts := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	wib := time.FixedZone("WIB", 7*3600)
	tests := []struct {
		a, b any
		want bool
	}{
		{int64(3), 3.0, true},
		{3, json.Number("3"), true},
		{3.5, json.Number("3.50"), true},
		{3, 4, false},
		{"3", 3, false},
		{ts, "2026-03-01T10:00:00Z", true},
		{ts, "2026-03-01T17:00:00+07:00", true},
		{ts.In(wib), ts, true},
		{ts, "2026-03-01T10:00:00.000Z", true},
		{ts, "2026-03-01T10:00:01Z", false},
		{"2026-03-01", "2026-03-01", true},
		{[]string{"SDG-04"}, []any{"SDG-04"}, true},
		{[]any{"a", "b"}, []any{"b", "a"}, false},
		{map[string]any{"a": 1, "b": nil}, map[string]any{"a": 1.0}, true},
		{map[string]any{"a": map[string]any{"x": nil}}, map[string]any{}, true},
		{map[string]any{"a": ""}, map[string]any{}, false},
		{functions.Ref{Pipeline: "p", Key: "k"}, map[string]any{"pipeline": "p", "key": "k"}, true},
		{nil, map[string]any(nil), true},
		{true, "true", false},
	}
	for _, tc := range tests {
		if got := Equal(tc.a, tc.b); got != tc.want {
			t.Errorf("Equal(%#v, %#v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		// Hash agrees with Equal.
		if same := Hash(map[string]any{"v": tc.a}) == Hash(map[string]any{"v": tc.b}); same != tc.want {
			t.Errorf("Hash of %#v and %#v: same = %v, want %v", tc.a, tc.b, same, tc.want)
		}
	}
}

func TestHash(t *testing.T) {
	a := map[string]any{"name": map[string]any{"firstName": "Budi", "lastName": "S"}, "n": int64(2), "at": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "x": nil}
	b := map[string]any{"at": "2026-01-02T10:04:05+07:00", "n": 2.0, "name": map[string]any{"lastName": "S", "firstName": "Budi"}}
	if Hash(a) != Hash(b) {
		t.Error("equal maps hash differently")
	}
	if len(Hash(a)) != 64 {
		t.Errorf("hash %q is not hex SHA-256", Hash(a))
	}
	b["n"] = 3
	if Hash(a) == Hash(b) {
		t.Error("different maps hash the same")
	}
	// Stable across runs and versions: the hash of the canonical JSON.
	sum := sha256.Sum256([]byte(`{"a":"b","n":1.5,"t":"2026-01-02T03:04:05Z"}`))
	if got, want := Hash(map[string]any{"t": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "n": float32(1.5), "a": "b"}), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("Hash = %s, want %s", got, want)
	}
}
