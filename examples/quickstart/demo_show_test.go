package quickstart

import (
	"strings"
	"testing"
)

// The sample decisions of pipe demo print values as pipe run -v does.
func TestShowValue(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{nil, "null"},
		{"Nur", `"Nur"`},
		{int64(3), "3"},
		{[]any{"SDG-04"}, `["SDG-04"]`},
		{map[string]any{"key": "k"}, `{"key":"k"}`},
		{strings.Repeat("é", 80), `"` + strings.Repeat("é", 66) + "..."},
	} {
		if got := showValue(c.in); got != c.want {
			t.Errorf("showValue(%#v) = %s, want %s", c.in, got, c.want)
		}
	}
	if got := moreFields(1); got != "1 more field" {
		t.Errorf("moreFields(1) = %q", got)
	}
	if got := moreFields(5); got != "5 more fields" {
		t.Errorf("moreFields(5) = %q", got)
	}
}
