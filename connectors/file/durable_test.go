package file

// Tests of the durable write: every append is synced (file, and the
// directories of a new file), and a failed sync fails the write without
// leaving its rows in the file. The syncs are watched or failed through
// stream.fsync.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/kelompok/pipe/connectors"
)

// openStream opens a file connection in dir and returns its stream name.
func openStream(t *testing.T, dir string, params map[string]any, name string) *stream {
	t.Helper()
	c, err := Open(context.Background(), connectors.OpenParams{Name: "export", Config: params, Dir: dir})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	s, err := c.Stream(context.Background(), name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	return s.(*stream)
}

// syncLog records the paths synced, in order, and what the synced file held
// when its sync was called.
type syncLog struct {
	paths    []string
	contents map[string][]byte
	fail     map[string]error // by path: the error that sync returns
}

func (l *syncLog) fsync(f *os.File) error {
	l.paths = append(l.paths, f.Name())
	if st, err := f.Stat(); err == nil && !st.IsDir() {
		b, err := os.ReadFile(f.Name())
		if err != nil {
			return err
		}
		if l.contents == nil {
			l.contents = map[string][]byte{}
		}
		l.contents[f.Name()] = b
	}
	if err := l.fail[f.Name()]; err != nil {
		return err
	}
	return f.Sync()
}

func readIDs(t *testing.T, s *stream) []string {
	t.Helper()
	p, err := s.Read(context.Background(), connectors.ReadRequest{Limit: 100, IncludeDeleted: true})
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var out []string
	for _, r := range p.Records {
		out = append(out, r.ID)
	}
	return out
}

// TestFailedSyncFailsTheWrite: when the file's sync fails, Write fails with
// an error naming the file and the cause, returns no results (nothing is
// reported as written), and the file is as it was before the call, for
// NDJSON and CSV; the same write then succeeds once syncs work again, and
// appends its rows once.
func TestFailedSyncFailsTheWrite(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"m.ndjson", `{"id":"m1","updated_at":"2024-05-01T10:00:00Z","name":"Siti"}` + "\n"},
		{"m.csv", "id,updated_at,name\nm1,2024-05-01T10:00:00Z,Siti\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, tc.name)
			if err := os.WriteFile(file, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			s := openStream(t, dir, map[string]any{"path": tc.name}, "m")
			injected := errors.New("injected: I/O error")
			log := &syncLog{fail: map[string]error{file: injected}}
			s.fsync = log.fsync
			changes := []connectors.Change{
				{Op: connectors.OpUpdate, ID: "m1", Fields: map[string]any{"name": "Siti Aminah"}},
				{Op: connectors.OpCreate, ID: "m2", Fields: map[string]any{"name": "Budi"}},
			}
			res, err := s.Write(context.Background(), changes)
			if err == nil || !strings.Contains(err.Error(), file) || !errors.Is(err, injected) || !strings.Contains(err.Error(), "sync") {
				t.Fatalf("write with a failing sync: err = %v, want an error naming %s that wraps the sync's", err, file)
			}
			if res != nil {
				t.Errorf("write with a failing sync reported results: %+v", res)
			}
			if !reflect.DeepEqual(log.paths, []string{file}) || !bytes.Contains(log.contents[file], []byte("Budi")) {
				t.Fatalf("syncs %v (file then held %q), want one sync of %s after the rows were written", log.paths, log.contents[file], file)
			}
			if b, _ := os.ReadFile(file); string(b) != tc.content {
				t.Errorf("file after the failed write:\n%s\nwant it as before:\n%s", b, tc.content)
			}
			if got := readIDs(t, s); !reflect.DeepEqual(got, []string{"m1"}) {
				t.Errorf("records after the failed write: %v, want m1", got)
			}
			got, err := s.Get(context.Background(), []string{"m1"})
			if err != nil || len(got) != 1 || got[0].Fields["name"] != "Siti" {
				t.Errorf("m1 after the failed write: %+v, %v; want name Siti", got, err)
			}

			log.fail = nil
			res, err = s.Write(context.Background(), changes)
			if err != nil || len(res) != 2 || res[0].Err != nil || res[1].Err != nil {
				t.Fatalf("write once syncs work: %+v, %v", res, err)
			}
			b, _ := os.ReadFile(file)
			if !strings.HasPrefix(string(b), tc.content) || strings.Count(string(b), "\n") != strings.Count(tc.content, "\n")+2 {
				t.Errorf("file after the retried write, want the old content and two rows:\n%s", b)
			}
		})
	}
}

// TestWriteIsSynced: a write to an existing file syncs that file once,
// after its rows are in it; the first write to a new file also syncs its
// directory, and each directory created for it, up to the one that existed.
func TestWriteIsSynced(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "old.ndjson"), []byte(`{"id":"o1"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openStream(t, dir, map[string]any{"dir": "."}, "old")
	log := &syncLog{}
	s.fsync = log.fsync
	ctx := context.Background()
	if _, err := s.Write(ctx, []connectors.Change{{Op: connectors.OpCreate, ID: "o2"}}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "old.ndjson")
	if !reflect.DeepEqual(log.paths, []string{file}) {
		t.Errorf("syncs of a write to an existing file: %v, want %s", log.paths, file)
	}
	if !bytes.Contains(log.contents[file], []byte(`"o2"`)) {
		t.Errorf("the file held %q when synced, want the new row in it", log.contents[file])
	}

	for _, format := range []string{"ndjson", "csv"} {
		out := "out-" + format
		n := openStream(t, dir, map[string]any{"path": out + "/sub/new." + format}, "new")
		log := &syncLog{}
		n.fsync = log.fsync
		if _, err := n.Write(ctx, []connectors.Change{{Op: connectors.OpCreate, ID: "n1", Fields: map[string]any{"a": "x"}}}); err != nil {
			t.Fatal(err)
		}
		newFile := filepath.Join(dir, out, "sub/new."+format)
		want := []string{newFile, filepath.Join(dir, out, "sub"), filepath.Join(dir, out), dir}
		if !reflect.DeepEqual(log.paths, want) {
			t.Errorf("%s: syncs of the first write to a new file in new directories:\n%v\nwant\n%v", format, log.paths, want)
		}
		log.paths = nil
		if _, err := n.Write(ctx, []connectors.Change{{Op: connectors.OpCreate, ID: "n2", Fields: map[string]any{"a": "y"}}}); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(log.paths, []string{newFile}) {
			t.Errorf("%s: syncs of the second write: %v, want the file only", format, log.paths)
		}
	}
}

// TestFailedDirectorySyncFailsTheWrite: when the directory of a new file
// cannot be synced, the write fails naming the directory, reports nothing
// written, and the stream stays empty.
func TestFailedDirectorySyncFailsTheWrite(t *testing.T) {
	dir := t.TempDir()
	s := openStream(t, dir, map[string]any{"dir": "."}, "fresh")
	injected := errors.New("injected: directory I/O error")
	log := &syncLog{fail: map[string]error{dir: injected}}
	s.fsync = log.fsync
	res, err := s.Write(context.Background(), []connectors.Change{{Op: connectors.OpCreate, ID: "f1"}})
	if err == nil || !errors.Is(err, injected) || !strings.Contains(err.Error(), "directory "+dir) || res != nil {
		t.Fatalf("write with a failing directory sync: %+v, %v; want no results and an error naming %s", res, err, dir)
	}
	if got := readIDs(t, s); len(got) != 0 {
		t.Errorf("records after the failed write: %v, want none", got)
	}
}

// TestUnencodableRecordRefusedAlone: a record with a value JSON cannot hold
// (NaN, an infinity, a function), after more rows than fit in the write
// buffer, is refused alone, as a record error naming the field and the
// cause; the other records of the call are appended and synced once, the
// file stays readable, and a later change to the refused record's key in
// the same call starts from what the file holds. In a CSV, the same goes for
// a list holding NaN and for a field outside the existing file's header.
func TestUnencodableRecordRefusedAlone(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		bad           []map[string]any // fields of the refused creates, in order
		want          []string         // what each refusal says
	}{
		{"k.ndjson", `{"id":"k1","n":1}` + "\n",
			[]map[string]any{{"score": math.NaN()}, {"score": math.Inf(1)}, {"fn": func() {}}},
			[]string{"field score: json: unsupported value: NaN", "field score: json: unsupported value: +Inf", "field fn: json: unsupported type: func()"}},
		{"k.csv", "id,updated_at,n,pad,score\nk1,,1,,\n",
			[]map[string]any{{"score": []any{math.NaN()}}, {"extra": "x"}},
			[]string{"field score: json: unsupported value: NaN", "field extra is not a column of the CSV header"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, tc.name)
			if err := os.WriteFile(file, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			s := openStream(t, dir, map[string]any{"path": tc.name}, "k")
			log := &syncLog{}
			s.fsync = log.fsync
			var changes []connectors.Change
			var good []string
			for i := 0; i < 20; i++ {
				id := fmt.Sprintf("big%02d", i)
				good = append(good, id)
				changes = append(changes, connectors.Change{Op: connectors.OpCreate, ID: id, Fields: map[string]any{"pad": strings.Repeat("p", 1000)}})
			}
			badAt := map[int]string{}
			for i, fields := range tc.bad {
				badAt[len(changes)] = tc.want[i]
				changes = append(changes, connectors.Change{Op: connectors.OpCreate, ID: fmt.Sprintf("bad%d", i), Fields: fields})
			}
			// An update of k1 refused, then one that must not see it.
			badAt[len(changes)] = tc.want[0]
			changes = append(changes,
				connectors.Change{Op: connectors.OpUpdate, ID: "k1", Fields: tc.bad[0]},
				connectors.Change{Op: connectors.OpCreate, ID: "last", Fields: map[string]any{"n": int64(2)}},
				connectors.Change{Op: connectors.OpUpdate, ID: "k1", Fields: map[string]any{"pad": "q"}},
			)
			res, err := s.Write(context.Background(), changes)
			if err != nil || len(res) != len(changes) {
				t.Fatalf("write: %d results, err = %v; want one result per change and no error", len(res), err)
			}
			for i, r := range res {
				want, bad := badAt[i]
				switch {
				case bad && (!connectors.IsRecordError(r.Err) || !strings.Contains(r.Err.Error(), want)):
					t.Errorf("change %d (%s): err = %v, want a record error containing %q", i, changes[i].ID, r.Err, want)
				case !bad && (r.Err != nil || r.Record == nil):
					t.Errorf("change %d (%s): %+v, want it written", i, changes[i].ID, r)
				}
			}
			if !reflect.DeepEqual(log.paths, []string{file}) {
				t.Errorf("syncs %v, want one of %s", log.paths, file)
			}
			want := append([]string{"k1"}, good...)
			want = append(want, "last")
			got := readIDs(t, s)
			sort.Strings(got)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("records after the write: %v, want %v", got, want)
			}
			k1, err := s.Get(context.Background(), []string{"k1"})
			if err != nil || len(k1) != 1 || k1[0].Fields["pad"] != "q" || fmt.Sprint(k1[0].Fields["n"]) != "1" || k1[0].Fields["score"] != nil {
				t.Errorf("k1 after the write: %+v, %v; want n 1, pad q and no score", k1, err)
			}
			b, _ := os.ReadFile(file)
			if n := strings.Count(string(b), "\n"); n != strings.Count(tc.content, "\n")+len(good)+2 {
				t.Errorf("file has %d lines, want the old ones and %d more:\n%.300s", n, len(good)+2, b)
			}
		})
	}
}
