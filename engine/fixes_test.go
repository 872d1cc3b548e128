package engine_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine"
)

// TestConnectionsOpenWithTheConfigDir: relative paths in a connection's
// config (an SQLite file, an NDJSON directory, a plugin command) resolve
// against the configuration directory, not the process's working directory.
func TestConnectionsOpenWithTheConfigDir(t *testing.T) {
	e := newEnv(t, storeKinds[0].open, members(config.Push))
	e.cfg.Dir = filepath.Join(t.TempDir(), "pipelines")
	var mu sync.Mutex
	got := map[string]string{}
	reg := &connectors.Registry{}
	reg.Register("memory", func(_ context.Context, p connectors.OpenParams) (connectors.Connection, error) {
		mu.Lock()
		got[p.Name] = p.Path("data/state.db")
		mu.Unlock()
		if p.Name == "kelompok" {
			return e.src, nil
		}
		return e.snk, nil
	})
	eng, err := engine.New(engine.Config{Config: e.cfg, Store: e.store, Registry: reg, Mappers: fakeMappers{}, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	e.eng = eng
	e.seed(1)
	e.runOK(engine.RunParams{})
	want := filepath.Join(e.cfg.Dir, "data", "state.db")
	for _, name := range []string{"kelompok", "crm"} {
		if got[name] != want {
			t.Errorf("connection %s resolved data/state.db to %q, want %q (the config directory)", name, got[name], want)
		}
	}
}
