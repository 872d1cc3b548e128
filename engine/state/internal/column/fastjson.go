package column

import (
	"encoding/json"
	"slices"
	"unicode/utf8"

	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/internal/jsonappend"
)

// appendJSON appends the JSON encoding of v, byte for byte what
// encoding/json produces, without reflection for the shapes the stores
// write on every record: link bases (maps of scalars) and audit diffs
// (FieldChange lists). Other values (numbers, structs, ...) are encoded by
// encoding/json.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return jsonappend.String(b, v), nil
	case bool:
		if v {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case map[string]any:
		if v == nil {
			return append(b, "null"...), nil
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonappend.String(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, v[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		if v == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case []state.FieldChange:
		if v == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, c := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"field":`...)
			b = jsonappend.String(b, c.Field)
			b = append(b, `,"old":`...)
			var err error
			if b, err = appendJSON(b, c.Old); err != nil {
				return nil, err
			}
			b = append(b, `,"new":`...)
			if b, err = appendJSON(b, c.New); err != nil {
				return nil, err
			}
			b = append(b, '}')
		}
		return append(b, ']'), nil
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}

// decodeFlat decodes a JSON object whose values are all strings without
// escapes, null, true or false (what a link base usually is) into a map,
// as encoding/json would. ok is false for anything else, which the caller
// then decodes with encoding/json.
func decodeFlat(s string) (m map[string]any, ok bool) {
	i := 0
	ws := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	str := func() (string, bool) {
		if i >= len(s) || s[i] != '"' {
			return "", false
		}
		i++
		start := i
		for i < len(s) && s[i] != '"' {
			if s[i] == '\\' || s[i] < 0x20 {
				return "", false
			}
			i++
		}
		if i >= len(s) {
			return "", false
		}
		v := s[start:i]
		i++
		if !utf8.ValidString(v) {
			return "", false
		}
		return v, true
	}
	ws()
	if i >= len(s) || s[i] != '{' {
		return nil, false
	}
	i++
	m = make(map[string]any, 16)
	ws()
	if i < len(s) && s[i] == '}' {
		i++
		ws()
		return m, i == len(s)
	}
	for {
		ws()
		k, ok := str()
		if !ok {
			return nil, false
		}
		ws()
		if i >= len(s) || s[i] != ':' {
			return nil, false
		}
		i++
		ws()
		if i >= len(s) {
			return nil, false
		}
		switch {
		case s[i] == '"':
			v, ok := str()
			if !ok {
				return nil, false
			}
			m[k] = v
		case len(s)-i >= 4 && s[i:i+4] == "null":
			m[k] = nil
			i += 4
		case len(s)-i >= 4 && s[i:i+4] == "true":
			m[k] = true
			i += 4
		case len(s)-i >= 5 && s[i:i+5] == "false":
			m[k] = false
			i += 5
		default:
			return nil, false
		}
		ws()
		if i >= len(s) {
			return nil, false
		}
		if s[i] == ',' {
			i++
			continue
		}
		if s[i] != '}' {
			return nil, false
		}
		i++
		ws()
		return m, i == len(s)
	}
}
