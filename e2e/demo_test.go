package e2e

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kelompok/pipe/examples/quickstart"
)

// `pipe demo` as the command runs it (the same function, in process): the
// default sample data, exit status 0, and a second run that writes nothing.
func TestPipeDemo(t *testing.T) {
	var out bytes.Buffer
	dir := t.TempDir()
	rep, err := quickstart.RunDemo(t.Context(), quickstart.DemoOptions{Dir: dir, Out: &out})
	if err != nil {
		t.Fatalf("pipe demo failed: %v\n%s", err, out.String())
	}
	if n := quickstart.Writes(rep.Rerun); n != 0 {
		t.Errorf("the demo's second run wrote %d records", n)
	}
	if quickstart.Writes(rep.Apply) == 0 {
		t.Error("the demo's first run wrote nothing")
	}
	text := out.String()
	for _, want := range []string{"Dry run", "rejected", "0 writes", "pipe runs --config " + dir, "pipe runs show ID"} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, text)
		}
	}
}
