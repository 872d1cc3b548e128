package sql_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/secrets"
)

// membersDDL is the members table of the reference schema
// (shared/reference/kelompok.md), with @-words for the dialect's types.
const membersDDL = `
CREATE TABLE members (
	id @UUID PRIMARY KEY,
	organization_id @UUID,
	full_name text NOT NULL,
	email text,
	phone text,
	position text,
	province text,
	city text,
	sdg_tags @TEXTS,
	national_id text,
	created_at @TS NOT NULL,
	updated_at @TS NOT NULL,
	deleted_at @TS
)`

// membersStream is the stream config of the reference members table. The
// column types are declared (as the shipped CUE does), so SQLite's text
// columns are read as uuid, timestamp and text[].
func membersStream() map[string]any {
	return map[string]any{
		"table":     "members",
		"key":       "id",
		"updatedAt": "updated_at",
		"deletedAt": "deleted_at",
		"columns": map[string]any{
			"id": "uuid", "organization_id": "uuid", "full_name": "text", "email": "text",
			"phone": "text", "position": "text", "city": "text", "sdg_tags": "text[]",
			"created_at": "timestamp", "updated_at": "timestamp", "deleted_at": "timestamp",
		},
		"lookup": map[string]any{"email": "lower(trim(email))"},
	}
}

// anggotaDDL is a second schema whose every name differs from the reference
// one, with identifiers that need quoting: a column named "order", one with
// a space, a text key, a schema-qualified table.
const anggotaDDL = `
CREATE TABLE @SCHEMA.anggota (
	kode text PRIMARY KEY,
	nama_lengkap text NOT NULL,
	surel text UNIQUE,
	"order" integer,
	"kota asal" text,
	label @TEXTS,
	aktif @BOOL,
	skor @FLOAT,
	profil @JSON,
	diubah_pada @TS NOT NULL,
	dihapus_pada @TS
)`

func anggotaStream(schema string) map[string]any {
	return map[string]any{
		"table":     schema + ".anggota",
		"key":       "kode",
		"updatedAt": "diubah_pada",
		"deletedAt": "dihapus_pada",
		"columns": map[string]any{
			"kode": "text", "nama_lengkap": "text", "surel": "text", "order": "int", "kota asal": "text",
			"label": "text[]", "aktif": "bool", "skor": "float", "profil": "json",
			"diubah_pada": "timestamp", "dihapus_pada": "timestamp",
		},
		"upsertOn": []any{"surel"},
	}
}

func schemaOf(b backend) string {
	if b.kind == "postgres" {
		return "komunitas"
	}
	return "main"
}

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func uid(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func member(n int, updated time.Time, extra map[string]any) map[string]any {
	row := map[string]any{
		"id": uid(n), "full_name": fmt.Sprintf("Anggota %d", n), "created_at": t0, "updated_at": updated,
	}
	for k, v := range extra {
		row[k] = v
	}
	return row
}

// TestReadPagesInKeysetOrderWithTies reads with pages smaller than the
// groups of equal updated_at: every row comes exactly once, in (updated_at,
// id) order, and a cursor taken from a page resumes after it.
func TestReadPagesInKeysetOrderWithTies(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		d := setup(t, b, membersDDL, map[string]any{"members": membersStream()})
		// Inserted out of order; ids 3, 7, 5 share one time, 2 and 9 another.
		times := map[int]time.Time{
			3: t0, 7: t0, 5: t0,
			2: t0.Add(time.Second), 9: t0.Add(time.Second),
			8: t0.Add(-time.Hour), 1: t0.Add(time.Hour), 4: t0.Add(500 * time.Millisecond),
		}
		for n, ts := range times {
			d.insert("members", member(n, ts, nil))
		}
		want := []string{uid(8), uid(3), uid(5), uid(7), uid(4), uid(2), uid(9), uid(1)}
		for _, limit := range []int{1, 2, 3, 100} {
			got := ids(readAll(t, d.stream("members"), limit, false))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("limit %d: read order\n got %v\nwant %v", limit, got, want)
			}
		}
		// A page's last position is an exclusive lower bound.
		s := d.stream("members")
		p, err := s.Read(context.Background(), connectors.ReadRequest{After: connectors.Position{UpdatedAt: t0, ID: uid(5)}, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(p.Records); !reflect.DeepEqual(got, []string{uid(7), uid(4)}) || !p.More {
			t.Errorf("after (t0, %s): got %v more=%v, want [%s %s] more=true", uid(5), got, p.More, uid(7), uid(4))
		}
		if !p.Records[0].UpdatedAt.Equal(t0) {
			t.Errorf("UpdatedAt = %v, want %v", p.Records[0].UpdatedAt, t0)
		}
		// A position with a time and no key (the engine's look-back
		// window) starts at that time: every record stamped then or later.
		p, err = s.Read(context.Background(), connectors.ReadRequest{After: connectors.Position{UpdatedAt: t0}, Limit: 100})
		if err != nil {
			t.Fatalf("after (t0, no key): %v", err)
		}
		if got := ids(p.Records); !reflect.DeepEqual(got, want[1:]) {
			t.Errorf("after (t0, no key): got %v, want %v", got, want[1:])
		}
	})
}

// TestReadSoftDeleted: deleted rows are left out unless asked for, and then
// come with Deleted set.
func TestReadSoftDeleted(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		d := setup(t, b, membersDDL, map[string]any{"members": membersStream()})
		d.insert("members", member(1, t0, nil))
		d.insert("members", member(2, t0.Add(time.Minute), map[string]any{"deleted_at": t0.Add(time.Minute)}))
		d.insert("members", member(3, t0.Add(2*time.Minute), nil))
		live := readAll(t, d.stream("members"), 10, false)
		if got := ids(live); !reflect.DeepEqual(got, []string{uid(1), uid(3)}) {
			t.Fatalf("without deleted: %v", got)
		}
		all := readAll(t, d.stream("members"), 10, true)
		if got := ids(all); !reflect.DeepEqual(got, []string{uid(1), uid(2), uid(3)}) {
			t.Fatalf("with deleted: %v", got)
		}
		for _, r := range all {
			if r.Deleted != (r.ID == uid(2)) {
				t.Errorf("%s: Deleted = %v", r.ID, r.Deleted)
			}
		}
	})
}

// TestValuesRoundTrip checks NULL against "", empty and NULL lists, arrays
// with Indonesian text, and timestamps, both as stored directly and as
// written by the connector.
func TestValuesRoundTrip(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		d := setup(t, b, membersDDL, map[string]any{"members": membersStream()})
		d.insert("members", member(1, t0, map[string]any{"email": "", "phone": nil, "sdg_tags": []string{"SDG 4", "Pendidikan Berkualitas", "sdg-04"}}))
		d.insert("members", member(2, t0, map[string]any{"email": nil, "sdg_tags": []string{}}))
		d.insert("members", member(3, t0, nil))
		s := d.stream("members")
		recs, err := s.Get(context.Background(), []string{uid(1), uid(2), uid(3)})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]connectors.Record{}
		for _, r := range recs {
			byID[r.ID] = r
		}
		checkField(t, byID[uid(1)], "email", "")
		checkField(t, byID[uid(1)], "phone", nil)
		checkField(t, byID[uid(1)], "sdg_tags", []any{"SDG 4", "Pendidikan Berkualitas", "sdg-04"})
		checkField(t, byID[uid(2)], "email", nil)
		checkField(t, byID[uid(2)], "sdg_tags", []any{})
		checkField(t, byID[uid(3)], "sdg_tags", nil)
		checkField(t, byID[uid(3)], "created_at", t0)
		checkField(t, byID[uid(3)], "organization_id", nil)
		if _, ok := byID[uid(3)].Fields["national_id"]; ok {
			t.Errorf("national_id was read although the columns config leaves it out")
		}

		// The same values written through the connector read back equal.
		res, err := s.Write(context.Background(), []connectors.Change{
			{Op: connectors.OpCreate, ID: uid(10), Fields: map[string]any{
				"full_name": "Siti Rahayu", "email": "", "phone": nil, "created_at": t0,
				"sdg_tags": []any{"Quality Education", "4"}, "organization_id": nil,
			}},
			{Op: connectors.OpCreate, ID: uid(11), Fields: map[string]any{
				"full_name": "Budi", "email": nil, "created_at": "2024-05-01T17:00:00+07:00", "sdg_tags": []any{},
			}},
		})
		mustOK(t, res, err)
		got, err := s.Get(context.Background(), []string{uid(10), uid(11)})
		if err != nil || len(got) != 2 {
			t.Fatalf("get written: %v, %d records", err, len(got))
		}
		byID = map[string]connectors.Record{}
		for _, r := range got {
			byID[r.ID] = r
		}
		checkField(t, byID[uid(10)], "email", "")
		checkField(t, byID[uid(10)], "phone", nil)
		checkField(t, byID[uid(10)], "sdg_tags", []any{"Quality Education", "4"})
		checkField(t, byID[uid(11)], "email", nil)
		checkField(t, byID[uid(11)], "sdg_tags", []any{})
		checkField(t, byID[uid(11)], "created_at", t0)
		if !reflect.DeepEqual(res[0].Record.Fields, byID[uid(10)].Fields) {
			t.Errorf("Result.Record = %v\nwant the stored row %v", res[0].Record.Fields, byID[uid(10)].Fields)
		}
	})
}

func checkField(t *testing.T, r connectors.Record, field string, want any) {
	t.Helper()
	got, ok := r.Fields[field]
	if !ok {
		t.Errorf("%s: field %s absent, want %#v", r.ID, field, want)
		return
	}
	if wt, isTime := want.(time.Time); isTime {
		if gt, ok := got.(time.Time); !ok || !gt.Equal(wt) {
			t.Errorf("%s: %s = %#v, want %v", r.ID, field, got, wt)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: %s = %#v, want %#v", r.ID, field, got, want)
	}
}

func mustOK(t *testing.T, res []connectors.Result, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("write result %d: %v", i, r.Err)
		}
	}
}

// TestGetAndFind: Get by keys (missing and malformed keys are simply
// absent), Find through a lookup expression on messy emails, Find by a
// plain column, deleted records included, many values chunked.
func TestGetAndFind(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		d := setup(t, b, membersDDL, map[string]any{"members": membersStream()})
		d.insert("members", member(1, t0, map[string]any{"email": "  Budi.Santoso@Example.COM ", "city": "Bandung"}))
		d.insert("members", member(2, t0, map[string]any{"email": "siti@example.com", "city": "Bandung", "deleted_at": t0}))
		d.insert("members", member(3, t0, map[string]any{"email": "BUDI.SANTOSO@example.com", "city": "Surabaya"}))
		d.insert("members", member(4, t0, map[string]any{"email": nil, "city": "Kota Bandung"}))
		s := d.stream("members")
		ctx := context.Background()

		got, err := s.Get(ctx, []string{uid(2), uid(99), "not-a-uuid", uid(1), uid(1)})
		if err != nil {
			t.Fatal(err)
		}
		if g := sortedIDs(got); !reflect.DeepEqual(g, []string{uid(1), uid(2)}) {
			t.Errorf("Get = %v, want [%s %s]", g, uid(1), uid(2))
		}

		got, err = s.Find(ctx, "email", []string{"budi.santoso@example.com", "siti@example.com", "nobody@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if g := sortedIDs(got); !reflect.DeepEqual(g, []string{uid(1), uid(2), uid(3)}) {
			t.Errorf("Find(email) = %v, want members 1, 2 (deleted) and 3", g)
		}

		got, err = s.Find(ctx, "city", []string{"Bandung"})
		if err != nil {
			t.Fatal(err)
		}
		if g := sortedIDs(got); !reflect.DeepEqual(g, []string{uid(1), uid(2)}) {
			t.Errorf("Find(city) = %v", g)
		}

		// More values than SQLite's IN-list chunk.
		many := make([]string, 0, 1300)
		for i := 0; i < 1300; i++ {
			many = append(many, uid(1000+i))
		}
		many = append(many, uid(4))
		got, err = s.Get(ctx, many)
		if err != nil {
			t.Fatal(err)
		}
		if g := sortedIDs(got); !reflect.DeepEqual(g, []string{uid(4)}) {
			t.Errorf("Get(1301 keys) = %v", g)
		}

		if _, err := s.Find(ctx, "nickname", []string{"x"}); err == nil || !strings.Contains(err.Error(), "nickname") {
			t.Errorf("Find on an unknown field: err = %v, want one naming the field", err)
		}
	})
}

func sortedIDs(recs []connectors.Record) []string {
	out := ids(recs)
	sort.Strings(out)
	return out
}

// TestWriteOperations walks one record through create, update, soft delete,
// restore and destroy, checking the stored row and updated_at each time.
func TestWriteOperations(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		d := setup(t, b, membersDDL, map[string]any{"members": membersStream()})
		s := d.stream("members")
		ctx := context.Background()
		before := time.Now().Add(-time.Second)

		res, err := s.Write(ctx, []connectors.Change{{Op: connectors.OpCreate, ID: uid(1), Fields: map[string]any{
			"full_name": "Dewi Lestari", "email": "dewi@example.com", "position": "Ketum", "created_at": t0,
		}}})
		mustOK(t, res, err)
		if res[0].ID != uid(1) || res[0].Record == nil {
			t.Fatalf("create result = %+v, want the proposed id %s and the stored record", res[0], uid(1))
		}
		created := res[0].Record.UpdatedAt
		if created.Before(before) {
			t.Errorf("updated_at after create = %v, want now", created)
		}

		// A replayed create (after a crash) updates instead of duplicating.
		res, err = s.Write(ctx, []connectors.Change{{Op: connectors.OpCreate, ID: uid(1), Fields: map[string]any{
			"full_name": "Dewi Lestari", "email": "dewi@example.com", "position": "Ketua Umum", "created_at": t0,
		}}})
		mustOK(t, res, err)
		all := readAll(t, s, 10, true)
		if len(all) != 1 {
			t.Fatalf("after a replayed create: %d rows, want 1", len(all))
		}
		checkField(t, all[0], "position", "Ketua Umum")

		res, err = s.Write(ctx, []connectors.Change{{Op: connectors.OpUpdate, ID: uid(1), Fields: map[string]any{"city": "Yogyakarta", "email": nil}}})
		mustOK(t, res, err)
		checkField(t, *res[0].Record, "city", "Yogyakarta")
		checkField(t, *res[0].Record, "email", nil)
		checkField(t, *res[0].Record, "full_name", "Dewi Lestari")
		if res[0].Record.UpdatedAt.Before(created) {
			t.Errorf("updated_at went back on update: %v < %v", res[0].Record.UpdatedAt, created)
		}

		res, err = s.Write(ctx, []connectors.Change{{Op: connectors.OpDelete, ID: uid(1)}})
		mustOK(t, res, err)
		if res[0].Record == nil || !res[0].Record.Deleted {
			t.Fatalf("soft delete: record %+v, want Deleted", res[0].Record)
		}
		if live := readAll(t, s, 10, false); len(live) != 0 {
			t.Errorf("soft-deleted row still read as live: %v", ids(live))
		}
		if got, _ := s.Get(ctx, []string{uid(1)}); len(got) != 1 || !got[0].Deleted {
			t.Errorf("Get after soft delete = %+v, want the row, deleted", got)
		}

		res, err = s.Write(ctx, []connectors.Change{{Op: connectors.OpRestore, ID: uid(1)}})
		mustOK(t, res, err)
		if res[0].Record.Deleted {
			t.Errorf("restore left the row deleted")
		}
		checkField(t, *res[0].Record, "deleted_at", nil)

		res, err = s.Write(ctx, []connectors.Change{{Op: connectors.OpDestroy, ID: uid(1)}})
		mustOK(t, res, err)
		if got, _ := s.Get(ctx, []string{uid(1)}); len(got) != 0 {
			t.Errorf("destroy left %v", ids(got))
		}

		// An update of a row that is gone is refused as not found.
		res, err = s.Write(ctx, []connectors.Change{{Op: connectors.OpUpdate, ID: uid(1), Fields: map[string]any{"city": "Medan"}}})
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(res[0].Err, connectors.ErrNotFound) || !connectors.IsRecordError(res[0].Err) {
			t.Errorf("update of a destroyed row: err = %v, want a RecordError wrapping ErrNotFound", res[0].Err)
		}
	})
}

// TestBadRecordInBatch: one refused record in a batch is reported as a
// RecordError and the records before and after it are committed.
func TestBadRecordInBatch(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		d := setup(t, b, membersDDL, map[string]any{"members": membersStream()})
		s := d.stream("members")
		ctx := context.Background()
		res, err := s.Write(ctx, []connectors.Change{
			{Op: connectors.OpCreate, ID: uid(1), Fields: map[string]any{"full_name": "Satu", "created_at": t0}},
			{Op: connectors.OpCreate, ID: uid(2), Fields: map[string]any{"full_name": nil, "created_at": t0}},           // NOT NULL
			{Op: connectors.OpCreate, ID: uid(3), Fields: map[string]any{"full_name": "Tiga", "created_at": "kemarin"}}, // not a time
			{Op: connectors.OpCreate, ID: "bukan-uuid", Fields: map[string]any{"full_name": "Empat", "created_at": t0}},
			{Op: connectors.OpCreate, ID: uid(5), Fields: map[string]any{"full_name": "Lima", "created_at": t0, "hobby": "x"}},
			{Op: connectors.OpCreate, ID: uid(6), Fields: map[string]any{"full_name": "Enam", "created_at": t0}},
		})
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		for i, r := range res {
			bad := i >= 1 && i <= 4
			if bad != connectors.IsRecordError(r.Err) {
				t.Errorf("result %d: err = %v, want RecordError %v", i, r.Err, bad)
			}
		}
		if !strings.Contains(res[4].Err.Error(), "hobby") {
			t.Errorf("unknown column error %q does not name the column", res[4].Err)
		}
		if got := sortedIDs(readAll(t, s, 10, true)); !reflect.DeepEqual(got, []string{uid(1), uid(6)}) {
			t.Errorf("stored %v, want the good records %s and %s", got, uid(1), uid(6))
		}
	})
}

// TestSecondSchema runs the connector against a table whose names all
// differ from the reference schema, schema-qualified, with a text key, an
// upsert column, and columns named "order" and "kota asal".
func TestSecondSchema(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		d := setup(t, b, anggotaDDL, map[string]any{"anggota": anggotaStream(schemaOf(b))})
		d.insert("@SCHEMA.anggota", map[string]any{
			"kode": "A-001", "nama_lengkap": "Rina Wulandari", "surel": "rina@example.com", "order": 2,
			"kota asal": "Kota Malang", "label": []string{"relawan"}, "aktif": true, "skor": 4.5,
			"profil": map[string]any{"hobi": "membaca", "anak": float64(2)}, "diubah_pada": t0,
		})
		d.insert("@SCHEMA.anggota", map[string]any{"kode": "A-002", "nama_lengkap": "Joko", "diubah_pada": t0.Add(time.Minute), "dihapus_pada": t0})
		s := d.stream("anggota")
		ctx := context.Background()

		recs := readAll(t, s, 1, true)
		if got := ids(recs); !reflect.DeepEqual(got, []string{"A-001", "A-002"}) {
			t.Fatalf("read = %v", got)
		}
		r := recs[0]
		checkField(t, r, "order", int64(2))
		checkField(t, r, "kota asal", "Kota Malang")
		checkField(t, r, "label", []any{"relawan"})
		checkField(t, r, "aktif", true)
		checkField(t, r, "skor", 4.5)
		checkField(t, r, "profil", map[string]any{"hobi": "membaca", "anak": float64(2)})
		if !r.UpdatedAt.Equal(t0) || r.Deleted || !recs[1].Deleted {
			t.Errorf("UpdatedAt/Deleted from diubah_pada/dihapus_pada wrong: %v %v %v", r.UpdatedAt, r.Deleted, recs[1].Deleted)
		}

		found, err := s.Find(ctx, "kota asal", []string{"Kota Malang"})
		if err != nil || len(found) != 1 {
			t.Fatalf("Find by \"kota asal\": %v, %d records", err, len(found))
		}
		// A dotted path into a json column.
		for field, value := range map[string]string{"profil.hobi": "membaca", "profil.anak": "2"} {
			found, err = s.Find(ctx, field, []string{value, "berenang"})
			if err != nil || !reflect.DeepEqual(ids(found), []string{"A-001"}) {
				t.Errorf("Find(%s = %s) = %v, %v; want A-001", field, value, ids(found), err)
			}
		}

		// A create whose surel exists upserts onto the existing row and
		// reports that row's key.
		res, err := s.Write(ctx, []connectors.Change{
			{Op: connectors.OpCreate, ID: "B-100", Fields: map[string]any{"nama_lengkap": "Rina W.", "surel": "rina@example.com", "order": 7, "aktif": false}},
			{Op: connectors.OpCreate, ID: "B-101", Fields: map[string]any{"nama_lengkap": "Agus", "surel": "agus@example.com", "kota asal": nil, "profil": map[string]any{"x": []any{"a"}}}},
		})
		mustOK(t, res, err)
		if res[0].ID != "A-001" {
			t.Errorf("upsert on surel: result id %q, want the existing A-001", res[0].ID)
		}
		checkField(t, *res[0].Record, "order", int64(7))
		checkField(t, *res[0].Record, "aktif", false)
		checkField(t, *res[0].Record, "nama_lengkap", "Rina W.")
		checkField(t, *res[1].Record, "profil", map[string]any{"x": []any{"a"}})
		if n := len(readAll(t, s, 10, true)); n != 3 {
			t.Errorf("%d rows after upserts, want 3", n)
		}
	})
}

// TestIntegerKeyAssignedByDatabase: with a serial key the proposed id is
// not used; the result carries the key the database assigned. upsertOn on a
// unique column makes the creates replayable.
func TestIntegerKeyAssignedByDatabase(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		d := setup(t, b, `CREATE TABLE acara (nomor @SERIAL PRIMARY KEY, judul text UNIQUE, diperbarui @TS NOT NULL)`,
			map[string]any{"events": map[string]any{"table": "acara", "key": "nomor", "updatedAt": "diperbarui", "upsertOn": "judul"}})
		s := d.stream("events")
		res, err := s.Write(context.Background(), []connectors.Change{
			{Op: connectors.OpCreate, ID: uid(1), Fields: map[string]any{"judul": "Kopdar Jakarta"}},
			{Op: connectors.OpCreate, ID: uid(2), Fields: map[string]any{"judul": "Bakti Sosial"}},
		})
		mustOK(t, res, err)
		if res[0].ID != "1" || res[1].ID != "2" {
			t.Fatalf("assigned ids %q %q, want 1 and 2", res[0].ID, res[1].ID)
		}
		got, err := s.Get(context.Background(), []string{"2", "x"})
		if err != nil || len(got) != 1 {
			t.Fatalf("Get(2) = %v, %v", got, err)
		}
		checkField(t, got[0], "judul", "Bakti Sosial")
		checkField(t, got[0], "nomor", int64(2))
		// Without deletedAt, delete is a hard delete.
		res, err = s.Write(context.Background(), []connectors.Change{{Op: connectors.OpDelete, ID: "1"}})
		mustOK(t, res, err)
		if n := len(readAll(t, s, 10, true)); n != 1 {
			t.Errorf("%d rows after hard delete, want 1", n)
		}
	})
}

// TestAssignedKeyCreateReplay: on a table whose database assigns the key,
// creates replayed after a crash (the same changes written twice) update
// the rows of the first write when upsertOn names a unique column, and are
// refused, nothing written, when it does not.
func TestAssignedKeyCreateReplay(t *testing.T) {
	const ddl = `CREATE TABLE items (id @SERIAL PRIMARY KEY, name text, email text UNIQUE, updated_at @TS NOT NULL)`
	creates := []connectors.Change{
		{Op: connectors.OpCreate, ID: uid(1), Fields: map[string]any{"name": "N1", "email": "e1@x.id"}},
		{Op: connectors.OpCreate, ID: uid(2), Fields: map[string]any{"name": "N2", "email": "e2@x.id"}},
	}
	each(t, func(t *testing.T, b backend) {
		t.Run("upsertOn", func(t *testing.T) {
			d := setup(t, b, ddl, map[string]any{"items": map[string]any{"upsertOn": []any{"email"}}})
			s := d.stream("items")
			first, err := s.Write(context.Background(), creates)
			mustOK(t, first, err)
			again, err := s.Write(context.Background(), creates)
			mustOK(t, again, err)
			for i := range creates {
				if first[i].ID != again[i].ID {
					t.Errorf("create %d: replay reports key %q, the first write %q", i, again[i].ID, first[i].ID)
				}
			}
			if n := len(readAll(t, s, 10, true)); n != 2 {
				t.Errorf("%d rows after a replayed create, want 2", n)
			}
			// A create without an email could not be found again (a
			// NULL never conflicts): it alone is refused, the others go in.
			for _, empty := range []any{nil, ""} {
				res, err := s.Write(context.Background(), []connectors.Change{
					{Op: connectors.OpCreate, ID: uid(3), Fields: map[string]any{"name": "N3", "email": empty}},
					{Op: connectors.OpCreate, ID: uid(4), Fields: map[string]any{"name": "N4", "email": fmt.Sprintf("e4-%v@x.id", empty == nil)}},
				})
				if err != nil {
					t.Fatal(err)
				}
				var re *connectors.RecordError
				if !errors.As(res[0].Err, &re) || !strings.Contains(re.Error(), "no value for email, the upsertOn column") {
					t.Errorf("create with email %#v: %v, want a RecordError about the upsertOn column", empty, res[0].Err)
				}
				if res[1].Err != nil {
					t.Errorf("the create beside it: %v", res[1].Err)
				}
			}
			if n := len(readAll(t, s, 10, true)); n != 4 {
				t.Errorf("%d rows, want 4 (the two with an email)", n)
			}
		})
		t.Run("refused", func(t *testing.T) {
			d := setup(t, b, ddl, map[string]any{"items": map[string]any{}})
			s := d.stream("items")
			mixed := append([]connectors.Change{{Op: connectors.OpDelete, ID: "9"}}, creates...)
			res, err := s.Write(context.Background(), mixed)
			if err == nil {
				t.Fatalf("creates without upsertOn on a database-assigned key were written: %+v", res)
			}
			for _, want := range []string{`connection "kelompok" stream "items"`, "the database assigns the key (id, of type int)",
				"a create replayed after a crash would add a second row", "set upsertOn to a unique column"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			var re *connectors.RecordError
			if errors.As(err, &re) {
				t.Errorf("refusal is a RecordError (one reject per record); want an error of the whole write")
			}
			if n := len(readAll(t, s, 10, true)); n != 0 {
				t.Errorf("%d rows written by a refused create", n)
			}
			// Updates and deletes, and creates that carry the key, are
			// not refused: a replay meets the row on the key.
			res, err = s.Write(context.Background(), []connectors.Change{
				{Op: connectors.OpCreate, Fields: map[string]any{"id": 5, "name": "N5"}},
				{Op: connectors.OpUpdate, ID: "5", Fields: map[string]any{"name": "N5b"}},
			})
			mustOK(t, res, err)
			res, err = s.Write(context.Background(), []connectors.Change{{Op: connectors.OpCreate, Fields: map[string]any{"id": 5, "name": "N5c"}}})
			mustOK(t, res, err)
			if n := len(readAll(t, s, 10, true)); n != 1 {
				t.Errorf("%d rows after a replayed create that carries its key, want 1", n)
			}
		})
	})
}

// TestWhereFilter: the configured where limits reads, Get and Find.
func TestWhereFilter(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		cfg := membersStream()
		cfg["where"] = "city <> 'Test'"
		d := setup(t, b, membersDDL, map[string]any{"members": cfg})
		d.insert("members", member(1, t0, map[string]any{"city": "Medan", "email": "a@example.com"}))
		d.insert("members", member(2, t0, map[string]any{"city": "Test", "email": "a@example.com"}))
		s := d.stream("members")
		if got := ids(readAll(t, s, 10, true)); !reflect.DeepEqual(got, []string{uid(1)}) {
			t.Errorf("read = %v", got)
		}
		if got, _ := s.Get(context.Background(), []string{uid(2)}); len(got) != 0 {
			t.Errorf("Get returned a filtered-out row")
		}
		if got, _ := s.Find(context.Background(), "email", []string{"a@example.com"}); len(got) != 1 {
			t.Errorf("Find = %v, want only the row inside the filter", ids(got))
		}
	})
}

// TestConfigErrors: mistakes in the stream config are reported with the
// names needed to fix them.
func TestConfigErrors(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		streams := map[string]any{
			"members":  membersStream(),
			"missing":  map[string]any{"table": "tidak_ada"},
			"badkey":   map[string]any{"table": "members", "key": "kode"},
			"badcol":   map[string]any{"table": "members", "columns": map[string]any{"nik": "text"}},
			"badupd":   map[string]any{"table": "members", "updatedAt": "diubah"},
			"badtable": map[string]any{"table": "a.b.c"},
		}
		d := setup(t, b, membersDDL, streams)
		for name, want := range map[string]string{
			"missing": "tidak_ada", "badkey": `"kode"`, "badcol": `"nik"`, "badupd": `"diubah"`,
			"badtable": "a.b.c", "nosuch": "not configured",
		} {
			_, err := d.conn.Stream(context.Background(), name)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("stream %s: err = %v, want one mentioning %s", name, err, want)
			}
		}
	})
}

// TestOpenErrorsHideTheURL: a wrong or unreachable PostgreSQL URL is
// reported without the password it holds.
func TestOpenErrorsHideTheURL(t *testing.T) {
	const password = "hunter2-kelompok"
	for _, url := range []string{
		"postgres://pipe:" + password + "@127.0.0.1:1/kelompok?sslmode=disable&connect_timeout=5",
		"postgres://pipe:" + password + "@[::1/kelompok",
		"host=127.0.0.1 port=notaport password=" + password,
	} {
		t.Setenv("TEST_BAD_URL", url)
		_, err := connectors.Default.Open(context.Background(), "postgres", connectors.OpenParams{
			Name: "kelompok", Config: map[string]any{"url": map[string]any{"env": "TEST_BAD_URL"}}, Secrets: secrets.Env{},
		})
		if err == nil {
			t.Fatalf("open with a bad URL succeeded")
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("error contains the password: %v", err)
		}
	}
	_, err := connectors.Default.Open(context.Background(), "postgres", connectors.OpenParams{Name: "kelompok", Config: map[string]any{}})
	if err == nil || !strings.Contains(err.Error(), "url is missing") {
		t.Errorf("open without url: %v", err)
	}
}

// TestPostgresTypes reads the PostgreSQL types that go through pgx's codecs
// rather than the connector's binary fast path, and the fast path's corner
// cases (NULL array elements, timestamp without time zone).
func TestPostgresTypes(t *testing.T) {
	b := backends[1]
	d := setup(t, b, `
CREATE TYPE status AS ENUM ('draft', 'published');
CREATE TABLE things (
	id integer PRIMARY KEY, amount numeric(10,2), day date, names varchar(20)[], st status,
	small smallint, ratio real, local_ts timestamp NOT NULL, tags text[], doc json)`,
		map[string]any{"things": map[string]any{"table": "things", "updatedAt": "local_ts"}})
	d.exec(`INSERT INTO things VALUES (1, 12.50, '2024-05-01', ARRAY['Ketua','Sekjen'], 'published', 7, 0.5,
		'2024-05-01 10:00:00', ARRAY['a', NULL, ''], '{"a": [1, "x"]}')`)
	recs, err := d.stream("things").Get(context.Background(), []string{"1"})
	if err != nil || len(recs) != 1 {
		t.Fatalf("get: %v, %d", err, len(recs))
	}
	r := recs[0]
	checkField(t, r, "amount", 12.5)
	checkField(t, r, "day", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC))
	checkField(t, r, "names", []any{"Ketua", "Sekjen"})
	checkField(t, r, "st", "published")
	checkField(t, r, "small", int64(7))
	checkField(t, r, "ratio", 0.5)
	checkField(t, r, "local_ts", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))
	checkField(t, r, "tags", []any{"a", nil, ""})
	checkField(t, r, "doc", map[string]any{"a": []any{float64(1), "x"}})
	if !r.UpdatedAt.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("UpdatedAt from a timestamp without time zone = %v", r.UpdatedAt)
	}
	// A write stamps the local timestamp column in UTC.
	before := time.Now().UTC().Add(-time.Minute)
	res, err := d.stream("things").Write(context.Background(), []connectors.Change{{Op: connectors.OpUpdate, ID: "1", Fields: map[string]any{"st": "draft", "amount": 3}}})
	mustOK(t, res, err)
	checkField(t, *res[0].Record, "st", "draft")
	checkField(t, *res[0].Record, "amount", 3.0)
	if ts := res[0].Record.UpdatedAt; ts.Before(before) || ts.After(time.Now().UTC().Add(time.Minute)) {
		t.Errorf("updated local_ts = %v, want about now in UTC", ts)
	}
}

// TestSQLiteMixedTimeFormats: rows written by other tools with other time
// forms still read in time order, ties broken by key.
func TestSQLiteMixedTimeFormats(t *testing.T) {
	b := backends[0]
	d := setup(t, b, membersDDL, map[string]any{"members": membersStream()})
	for n, ts := range map[int]string{
		1: "2024-05-01 10:00:00",         // SQLite's datetime()
		2: "2024-05-01T10:00:00.000000Z", // the connector's own form
		3: "2024-05-01T17:00:00+07:00",   // same instant, WIB offset
		4: "2024-05-01 09:59:59.999",     // just before
		5: "2024-05-01T10:00:00.5Z",      // half a second after
	} {
		d.exec(`INSERT INTO members (id, full_name, created_at, updated_at) VALUES (?1, 'x', ?2, ?2)`, uid(n), ts)
	}
	got := ids(readAll(t, d.stream("members"), 2, false))
	want := []string{uid(4), uid(1), uid(2), uid(3), uid(5)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read order\n got %v\nwant %v", got, want)
	}
}

// TestConcurrentUse: one connection serves readers and writers at once (as
// several pipelines share it); every write lands and reads see whole rows.
func TestConcurrentUse(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		d := setup(t, b, membersDDL, map[string]any{"members": membersStream()})
		ctx := context.Background()
		errs := make(chan error, 8)
		for w := 0; w < 4; w++ {
			go func(w int) {
				s, err := d.conn.Stream(ctx, "members")
				if err != nil {
					errs <- err
					return
				}
				for i := 0; i < 5; i++ {
					var batch []connectors.Change
					for j := 0; j < 5; j++ {
						n := w*100 + i*10 + j
						batch = append(batch, connectors.Change{Op: connectors.OpCreate, ID: uid(n), Fields: map[string]any{"full_name": fmt.Sprintf("Penulis %d", n), "created_at": t0}})
					}
					res, err := s.Write(ctx, batch)
					if err == nil {
						for _, r := range res {
							if r.Err != nil {
								err = r.Err
							}
						}
					}
					if err != nil {
						errs <- err
						return
					}
					if _, err := s.Read(ctx, connectors.ReadRequest{Limit: 7}); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}(w)
		}
		for w := 0; w < 4; w++ {
			if err := <-errs; err != nil {
				t.Fatalf("concurrent use: %v", err)
			}
		}
		if n := len(readAll(t, d.stream("members"), 13, true)); n != 100 {
			t.Errorf("%d rows after 4 writers x 25 creates, want 100", n)
		}
	})
}
