package exec_test

// Tests of an exec connection as a .cue file declares it: loaded by
// config.Load (the schemas included) and opened with the parameters the
// engine would give it.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
)

// loadExec loads a configuration whose connection "plugin" runs the example
// plugin with these extra fields.
func loadExec(t *testing.T, fields string) (*config.Config, error) {
	t.Helper()
	dir := t.TempDir()
	src := fmt.Sprintf("package pipe\n\nconnections: plugin: {\n\tkind: \"exec\"\n\tcommand: [%q]\n%s\n}\n", pluginPath, fields)
	if err := os.WriteFile(filepath.Join(dir, "conn.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return config.Load(context.Background(), dir)
}

// TestConfigFieldFromCUE: the config field of a .cue file reaches the
// plugin as is, in its handshake config beside streams (the example plugin
// serves config.streams seeded from config.seed); config.streams is refused
// by the schema and by the connector.
func TestConfigFieldFromCUE(t *testing.T) {
	ctx := context.Background()
	cfg, err := loadExec(t, `	config: {
		seed: people: [{id: "p1", updatedAt: "2024-05-01T10:00:00Z", fields: {id: "p1", name: "Siti", tags: ["SDG 4"]}}]
		region: "id"
	}
	streams: people: columns: name: "text"`)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	cc := cfg.Connections["plugin"]
	c, err := connectors.Default.Open(ctx, cc.Kind, connectors.OpenParams{Name: "plugin", Config: cc.Params, Dir: cfg.Dir})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	s, err := c.Stream(ctx, "people")
	if err != nil {
		t.Fatalf("stream people: %v", err)
	}
	got, err := s.Get(ctx, []string{"p1"})
	if err != nil || len(got) != 1 || got[0].Fields["name"] != "Siti" || fmt.Sprint(got[0].Fields["tags"]) != "[SDG 4]" {
		t.Errorf("get p1 = %+v, %v; want the record seeded from config.seed", got, err)
	}

	if _, err := loadExec(t, `	config: streams: people: {}`); err == nil || !strings.Contains(err.Error(), "config.streams is taken") {
		t.Errorf("config.Load with config.streams: err = %v, want it refused", err)
	}
	_, err = connectors.Default.Open(ctx, "exec", connectors.OpenParams{Name: "plugin", Config: map[string]any{
		"command": []any{pluginPath}, "config": map[string]any{"streams": map[string]any{}},
	}})
	if err == nil || !strings.Contains(err.Error(), "config.streams is taken") {
		t.Errorf("open with config.streams: err = %v, want it refused", err)
	}
	_, err = connectors.Default.Open(ctx, "exec", connectors.OpenParams{Name: "plugin", Config: map[string]any{
		"command": []any{pluginPath}, "config": "region=id",
	}})
	if err == nil || !strings.Contains(err.Error(), "config must be an object") {
		t.Errorf("open with a string config: err = %v, want it refused", err)
	}
}
