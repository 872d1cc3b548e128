package sqlitestore

import (
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
