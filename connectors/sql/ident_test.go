package sql

import (
	"reflect"
	"testing"
)

func TestSplitAndQuoteQualified(t *testing.T) {
	for _, tc := range []struct {
		in     string
		parts  []string
		quoted string
		err    bool
	}{
		{in: "members", parts: []string{"members"}, quoted: `"members"`},
		{in: "kelompok.members", parts: []string{"kelompok", "members"}, quoted: `"kelompok"."members"`},
		{in: `"my.schema"."Anggota Aktif"`, parts: []string{"my.schema", "Anggota Aktif"}, quoted: `"my.schema"."Anggota Aktif"`},
		{in: `public."we""ird"`, parts: []string{"public", `we"ird`}, quoted: `"public"."we""ird"`},
		{in: `order`, parts: []string{"order"}, quoted: `"order"`},
		{in: `"x""; DROP TABLE members; --"`, parts: []string{`x"; DROP TABLE members; --`}, quoted: `"x""; DROP TABLE members; --"`},
		{in: `x"; DROP TABLE members; --`, err: true},
		{in: "a.b.c", err: true},
		{in: ".members", err: true},
		{in: "members.", err: true},
		{in: `"unclosed`, err: true},
	} {
		parts, err := splitQualified(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("splitQualified(%q) = %q, want an error", tc.in, parts)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(parts, tc.parts) {
			t.Errorf("splitQualified(%q) = %q, %v; want %q", tc.in, parts, err, tc.parts)
			continue
		}
		if q := quoteQualified(parts); q != tc.quoted {
			t.Errorf("quoteQualified(%q) = %s, want %s", parts, q, tc.quoted)
		}
	}
	if q := quoteIdent(`kota "asal"`); q != `"kota ""asal"""` {
		t.Errorf("quoteIdent = %s", q)
	}
}
