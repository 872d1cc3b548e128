package exec_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/connectors/exec"
	"github.com/kelompok/pipe/engine/secrets"
)

var pluginPath string

// TestMain compiles the example plugin once with `go build`.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "memplugin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginPath = filepath.Join(dir, "memplugin")
	build := osexec.Command("go", "build", "-o", pluginPath, "./testdata/memplugin")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build memplugin: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func seed() map[string]any {
	rec := func(id, updated string, fields map[string]any) map[string]any {
		fields["id"] = id
		return map[string]any{"id": id, "updatedAt": updated, "fields": fields}
	}
	return map[string]any{"people": []any{
		rec("p3", "2024-05-01T10:00:00Z", map[string]any{"name": "Budi", "email": "budi@example.com", "joined_at": "2024-01-02T03:04:05Z", "age": 41}),
		rec("p1", "2024-05-01T10:00:00Z", map[string]any{"name": "Siti", "email": nil, "joined_at": nil, "age": 29}),
		rec("p2", "2024-05-01T09:00:00+07:00", map[string]any{"name": "Agus", "email": "", "age": 33.5}),
	}}
}

func open(t *testing.T, extra map[string]any) *exec.Conn {
	t.Helper()
	params := map[string]any{
		"command": []any{pluginPath},
		"streams": map[string]any{"people": map[string]any{"updatedAt": "updated_at", "columns": map[string]any{"joined_at": "timestamp", "age": "float"}}},
		"config":  map[string]any{"seed": seed()},
	}
	for k, v := range extra {
		params[k] = v
	}
	c, err := connectors.Default.Open(context.Background(), "exec", connectors.OpenParams{Name: "plugin", Config: params, Secrets: secrets.Env{}})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*exec.Conn)
}

func ids(recs []connectors.Record) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

func TestReadGetFindWrite(t *testing.T) {
	ctx := context.Background()
	c := open(t, nil)
	s, err := c.Stream(ctx, "people")
	if err != nil {
		t.Fatal(err)
	}
	var all []connectors.Record
	var after connectors.Position
	for i := 0; i < 10; i++ {
		p, err := s.Read(ctx, connectors.ReadRequest{After: after, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Records...)
		if len(p.Records) > 0 {
			after = connectors.PositionOf(p.Records[len(p.Records)-1])
		}
		if !p.More {
			break
		}
	}
	if got := ids(all); !reflect.DeepEqual(got, []string{"p2", "p1", "p3"}) {
		t.Fatalf("read order %v, want p2 p1 p3", got)
	}
	if !all[0].UpdatedAt.Equal(time.Date(2024, 5, 1, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("p2 UpdatedAt = %v", all[0].UpdatedAt)
	}
	p3 := all[2]
	if jt, ok := p3.Fields["joined_at"].(time.Time); !ok || !jt.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("joined_at = %#v, want a time (declared timestamp)", p3.Fields["joined_at"])
	}
	if p3.Fields["age"] != float64(41) || all[0].Fields["age"] != 33.5 {
		t.Errorf("age = %#v / %#v, want float64 (declared float)", p3.Fields["age"], all[0].Fields["age"])
	}
	if v, ok := all[1].Fields["email"]; !ok || v != nil {
		t.Errorf("p1 email = %#v, want nil", v)
	}
	if v := all[0].Fields["email"]; v != "" {
		t.Errorf("p2 email = %#v, want \"\"", v)
	}

	got, err := s.Get(ctx, []string{"p3", "nope"})
	if err != nil || !reflect.DeepEqual(ids(got), []string{"p3"}) {
		t.Errorf("Get = %v, %v", ids(got), err)
	}
	got, err = s.Find(ctx, "name", []string{"Siti", "Agus"})
	if err != nil || !reflect.DeepEqual(ids(got), []string{"p2", "p1"}) {
		t.Errorf("Find = %v, %v", ids(got), err)
	}

	res, err := s.Write(ctx, []connectors.Change{
		{Op: connectors.OpCreate, ID: "p4", Fields: map[string]any{"name": "Dewi", "email": "dewi@example.com"}},
		{Op: connectors.OpCreate, ID: "p5", Fields: map[string]any{"name": "Eko", "email": "eko-at-example"}},
		{Op: connectors.OpUpdate, ID: "p9", Fields: map[string]any{"name": "x"}},
		{Op: connectors.OpDelete, ID: "p1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].ID != "p4" || res[0].Record == nil || res[0].Record.Fields["name"] != "Dewi" {
		t.Errorf("create: %+v", res[0])
	}
	if !connectors.IsRecordError(res[1].Err) || !strings.Contains(res[1].Err.Error(), "has no @") {
		t.Errorf("bad email: err = %v, want a RecordError", res[1].Err)
	}
	if !errors.Is(res[2].Err, connectors.ErrNotFound) {
		t.Errorf("update of a missing record: err = %v, want ErrNotFound", res[2].Err)
	}
	if res[3].Err != nil || !res[3].Record.Deleted {
		t.Errorf("delete: %+v", res[3])
	}
	p, err := s.Read(ctx, connectors.ReadRequest{Limit: 10})
	if err != nil || !reflect.DeepEqual(ids(p.Records), []string{"p2", "p3", "p4"}) {
		t.Errorf("after writes: %v, %v", ids(p.Records), err)
	}
	if _, err := c.Stream(ctx, "companies"); err == nil || !strings.Contains(err.Error(), "people") {
		t.Errorf("unknown stream: err = %v, want the served streams listed", err)
	}
}

// TestCrashRestarts: a child that dies fails the call in flight; the next
// call starts it again.
func TestCrashRestarts(t *testing.T) {
	ctx := context.Background()
	c := open(t, nil)
	s, err := c.Stream(ctx, "people")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(ctx, []connectors.Change{{Op: connectors.OpCreate, ID: "p4", Fields: map[string]any{"name": "Dewi"}}}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Find(ctx, "__crash", []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "restarted") {
		t.Fatalf("find that crashes the plugin: err = %v, want the exit status and a restart notice", err)
	}
	if n := c.Starts(); n != 1 {
		t.Fatalf("starts = %d before the next call", n)
	}
	p, err := s.Read(ctx, connectors.ReadRequest{Limit: 10})
	if err != nil {
		t.Fatalf("read after crash: %v", err)
	}
	if n := c.Starts(); n != 2 {
		t.Errorf("starts = %d after the next call, want 2", n)
	}
	// The example plugin keeps data in memory: a restart is back to the seed.
	if got := ids(p.Records); !reflect.DeepEqual(got, []string{"p2", "p1", "p3"}) {
		t.Errorf("read after restart: %v", got)
	}
}

// TestCancelledCallRestarts: a call whose context ends while the plugin is
// busy fails with the context's error, the plugin is killed, and the next
// call starts a fresh one.
func TestCancelledCallRestarts(t *testing.T) {
	c := open(t, nil)
	s, err := c.Stream(context.Background(), "people")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// The plugin never answers __hang, so whenever the cancel
		// lands, the call is waiting for it (or not sent yet, which
		// fails the same way).
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	_, err = s.Find(ctx, "__hang", []string{"x"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("hung call: err = %v, want context.Canceled", err)
	}
	// A plugin left running would still be stuck in __hang: bound the wait.
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	p, err := s.Read(rctx, connectors.ReadRequest{})
	if err != nil || len(p.Records) != 3 {
		t.Fatalf("read after cancel: %v, %v", p, err)
	}
	if n := c.Starts(); n != 2 {
		t.Errorf("starts = %d, want 2 (killed and restarted)", n)
	}
}

// TestEnvFromSecret: env values may be secret references; the plugin sees
// the resolved value.
func TestEnvFromSecret(t *testing.T) {
	t.Setenv("TEST_EXTRA_STREAM", "organizations")
	c := open(t, map[string]any{"env": map[string]any{"MEMPLUGIN_EXTRA_STREAM": map[string]any{"env": "TEST_EXTRA_STREAM"}}})
	s, err := c.Stream(context.Background(), "organizations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Read(context.Background(), connectors.ReadRequest{})
	if err != nil || len(p.Records) != 0 {
		t.Errorf("read organizations: %v, %v", p, err)
	}
	_, err = connectors.Default.Open(context.Background(), "exec", connectors.OpenParams{Config: map[string]any{
		"command": []any{pluginPath}, "env": map[string]any{"X": map[string]any{"env": "TEST_UNSET_VARIABLE_FOR_EXEC"}},
	}, Secrets: secrets.Env{}})
	if err == nil || !strings.Contains(err.Error(), "TEST_UNSET_VARIABLE_FOR_EXEC") {
		t.Errorf("unresolvable env secret: err = %v", err)
	}
}

func TestBadCommand(t *testing.T) {
	c, err := connectors.Default.Open(context.Background(), "exec", connectors.OpenParams{Config: map[string]any{
		"command": []any{filepath.Join(t.TempDir(), "no-such-plugin")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Stream(context.Background(), "people"); err == nil || !strings.Contains(err.Error(), "no-such-plugin") {
		t.Errorf("missing program: err = %v", err)
	}
	// A program that is not a plugin (exits at once) fails the handshake.
	c2, err := connectors.Default.Open(context.Background(), "exec", connectors.OpenParams{Config: map[string]any{"command": []any{"true"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Stream(context.Background(), "people"); err == nil || !strings.Contains(err.Error(), "handshake") {
		t.Errorf("non-plugin program: err = %v", err)
	}
	if _, err := connectors.Default.Open(context.Background(), "exec", connectors.OpenParams{Config: map[string]any{}}); err == nil {
		t.Errorf("open without command succeeded")
	}
}
