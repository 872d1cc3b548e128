package sqlitestore

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/kelompok/pipe/engine/state"
)

func TestIntentsEncoding(t *testing.T) {
	at := time.UnixMicro(1700000000123456).UTC()
	in := []state.Intent{
		{Pipeline: "members", Side: "sink", Key: "m-1", TargetID: "6f1c0b6e-0000-5000-8000-000000000001", CreatedAt: at},
		{Pipeline: "members", Side: "source", Key: `quote " and \ backslash`, TargetID: "héllo <x>", CreatedAt: at.Add(time.Second)},
		{Pipeline: "members", Side: "sink", Key: "", TargetID: "t", CreatedAt: time.UnixMicro(0).UTC()},
	}
	for _, text := range []string{
		encodeIntents(in),
		// As SQLite's json_group_array writes them (migration 2), and
		// with whitespace: the slow path.
		`[ ["sink","m-1","6f1c0b6e-0000-5000-8000-000000000001",1700000000123456],` +
			` ["source","quote \" and \\ backslash","h\u00e9llo \u003cx\u003e",1700000001123456], ["sink","","t",0] ]`,
	} {
		got, err := decodeIntents("members", text)
		if err != nil || !reflect.DeepEqual(got, in) {
			t.Errorf("decodeIntents(%s) = %+v, %v\nwant %+v", text, got, err, in)
		}
	}
	if got, err := decodeIntents("members", "[]"); err != nil || len(got) != 0 {
		t.Errorf("decodeIntents([]) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "[", `[["sink","k","t"]]`, `[["sink","k","t",1],]`, `{}`} {
		if got, err := decodeIntents("members", bad); err == nil {
			t.Errorf("decodeIntents(%q) = %+v, want an error", bad, got)
		}
	}
}

// TestLinksByUsesAnIndex: each lookup of links by key searches an index
// on that key, never every link of the pipeline (the query planner, with
// no statistics, once chose the primary key's "pipeline = ?" for sink
// keys and made LinksBySink read the whole ledger per call).
func TestLinksByUsesAnIndex(t *testing.T) {
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for column, want := range map[string]string{
		"source_key": "SEARCH links USING PRIMARY KEY (pipeline=? AND source_key=?)",
		"sink_key":   "SEARCH links USING INDEX links_sink (pipeline=? AND sink_key=?)",
	} {
		rows, err := st.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+linksByQuery(column, 3), "members", "a", "b", "c")
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if len(plan) != 1 || plan[0] != want {
			t.Errorf("links by %s: plan %q, want %q", column, plan, want)
		}
	}
}
