package column

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/kelompok/pipe/engine/state"
)

func TestJSONMatchesEncodingJSON(t *testing.T) {
	vals := []any{
		nil, "", "plain", `q"uote`, "back\\slash", "<b>&amp;</b>", "tab\there", "ünïcödé", "\u2028", "bad\xffutf8",
		true, false, 3.0, 1e21, 0.000001, int64(7), json.Number("12"), time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		map[string]any(nil), map[string]any{}, []any(nil), []any{},
		map[string]any{"b": "x", "a": nil, "c": map[string]any{"z": 1.5, "y": []any{"p", nil, true}}, "é<": "v"},
		[]state.FieldChange(nil), []state.FieldChange{},
		[]state.FieldChange{{Field: "name.firstName", Old: nil, New: "Budi"}, {Field: "n", Old: 2.5, New: map[string]any{"k": "<v>"}}},
		state.Counts{Created: 3},
		[]string{"a", "b"},
	}
	for _, v := range vals {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := JSON(v)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		if got != string(want) {
			t.Errorf("JSON(%#v) = %s, want %s", v, got, want)
		}
	}
}

func TestDecodeMatchesEncodingJSON(t *testing.T) {
	docs := []string{
		`{}`, ` { } `, `{"a":"b"}`, `{"a": "b", "c": null, "d": true, "e": false}`, `{"a":"b","a":"c"}`,
		`{"a":"\"esc"}`, `{"a":1}`, `{"a":{"b":"c"}}`, `{"a":["x"]}`, `{"ü":"ä"}`, `{"a":"b"`, `{"a" "b"}`,
		`{"a":"b",}`, `{"a":"b"} x`, `[1]`, `{"a":nul}`, `{"a":"b\u0041"}`, "{\"a\":\"\xff\"}",
	}
	for _, d := range docs {
		var want map[string]any
		werr := json.Unmarshal([]byte(d), &want)
		var got map[string]any
		gerr := Decode(d, &got)
		if (werr != nil) != (gerr != nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("Decode(%q) = %#v, %v; encoding/json: %#v, %v", d, got, gerr, want, werr)
		}
	}
}

func FuzzDecodeFlat(f *testing.F) {
	f.Add(`{"a":"b","c":null}`)
	f.Add(`{"a":true, "b" : false }`)
	f.Fuzz(func(t *testing.T, d string) {
		m, ok := decodeFlat(d)
		if !ok {
			return
		}
		var want map[string]any
		if err := json.Unmarshal([]byte(d), &want); err != nil {
			t.Fatalf("decodeFlat accepted %q, encoding/json refuses: %v", d, err)
		}
		if !reflect.DeepEqual(m, want) {
			t.Fatalf("decodeFlat(%q) = %#v, want %#v", d, m, want)
		}
	})
}
