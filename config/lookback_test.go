package config_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kelompok/pipe/config"
)

// TestLookBack: a pipeline's lookBack defaults to one minute, "0s" turns
// it off, and a value that is not a duration is an error at its position.
func TestLookBack(t *testing.T) {
	conn := `package pipe
connections: mem: {kind: "memory", streams: {a: columns: {id: "uuid", n: "int"}, b: columns: {id: "uuid", n: "int"}}}
`
	for _, tc := range []struct {
		line string
		want time.Duration
		err  string
	}{
		{"", time.Minute, ""},
		{`lookBack: "5m"`, 5 * time.Minute, ""},
		{`lookBack: "0s"`, 0, ""},
		{`lookBack: "0m"`, 0, ""},
		{`lookBack: "-1m"`, 0, `p.cue:3:12: pipelines.p.lookBack: invalid duration "-1m"`},
		{`lookBack: "soon"`, 0, `p.cue:3:12: pipelines.p.lookBack: invalid duration "soon": write a Go duration such as "1m" or "30s", or "0s" to read from the cursor itself`},
	} {
		dir := writeDir(t, map[string]string{"conn.cue": conn, "p.cue": `package pipe
pipelines: p: {source: "mem.a", sink: "mem.b", push: {n: "n"},
	` + tc.line + `}
`})
		cfg, err := config.Load(context.Background(), dir)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want it to contain %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		if got := cfg.Pipelines["p"].LookBack; got != tc.want {
			t.Errorf("%s: LookBack = %v, want %v", tc.line, got, tc.want)
		}
	}
}

// TestLookBackJSON: a pipeline's lookBack is written as a duration string,
// as the configuration gives it, not in nanoseconds.
func TestLookBackJSON(t *testing.T) {
	b, err := json.Marshal(&config.Pipeline{Name: "p", LookBack: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"lookBack":"1m0s"`) || strings.Count(string(b), `"lookBack"`) != 1 || !strings.Contains(string(b), `"name":"p"`) {
		t.Errorf("pipeline JSON %s, want lookBack \"1m0s\" once, beside the other fields", b)
	}
}
