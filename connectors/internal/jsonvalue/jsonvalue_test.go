package jsonvalue

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestConvert(t *testing.T) {
	ts := time.Date(2024, 5, 1, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in    any
		typ   string
		cell  bool
		want  any
		isErr bool
	}{
		{json.Number("41"), "", false, int64(41), false},
		{json.Number("4.5"), "", false, 4.5, false},
		{json.Number("41"), "float", false, 41.0, false},
		{json.Number("41"), "text", false, "41", false},
		{json.Number("4.5"), "int", false, nil, true},
		{"2024-05-01T10:00:00+07:00", "timestamp", false, ts, false},
		{"2024-05-01 03:00:00", "timestamp", false, ts, false},
		{"kemarin", "timestamp", false, nil, true},
		{" 12 ", "int", true, int64(12), false},
		{"true", "bool", true, true, false},
		{`["SDG 4","sdg-05"]`, "text[]", true, []any{"SDG 4", "sdg-05"}, false},
		{`["SDG 4", 5]`, "text[]", true, []any{"SDG 4", "5"}, false},
		{"SDG 4", "text[]", false, nil, true},
		{`{"a":1}`, "json", true, map[string]any{"a": int64(1)}, false},
		{"", "text", true, "", false},
		{nil, "int", false, nil, false},
		{[]any{json.Number("1"), "x", nil}, "", false, []any{int64(1), "x", nil}, false},
		{map[string]any{"n": json.Number("2.5")}, "json", false, map[string]any{"n": 2.5}, false},
	} {
		got, err := Convert(tc.in, tc.typ, tc.cell)
		if tc.isErr {
			if err == nil {
				t.Errorf("Convert(%#v, %q) = %#v, want an error", tc.in, tc.typ, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Convert(%#v, %q) = %#v, %v; want %#v", tc.in, tc.typ, got, err, tc.want)
		}
	}
	if _, err := ParseTime("01/05/2024"); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Errorf("ParseTime error = %v", err)
	}
}
