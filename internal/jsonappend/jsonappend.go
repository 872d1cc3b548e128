// Package jsonappend appends JSON encodings to byte slices, byte for byte
// what encoding/json produces, without reflection, for the hot paths that
// encode a value per record (link bases, audit diffs, content hashes).
package jsonappend

import (
	"encoding/json"
	"unicode/utf8"
)

// String appends s as a JSON string. Strings that encoding/json would
// escape (quotes, backslashes, control characters, <, >, &, and anything
// beyond ASCII) go through encoding/json, so the output is always the same
// as json.Marshal(s).
func String(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			enc, _ := json.Marshal(s) // a string always encodes
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
