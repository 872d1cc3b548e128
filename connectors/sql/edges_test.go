package sql_test

// Edge tests that kill mutants the rest of the suite let through: each
// names the behaviour it pins and would fail if the code stopped doing it.

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/secrets"
	"github.com/kelompok/pipe/internal/pgtest"
)

// TestReadLastPageExactlyFull: a page that holds exactly the records left
// says there are no more (the connector fetches limit+1 rows to know).
func TestReadLastPageExactlyFull(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		d := setup(t, b, membersDDL, map[string]any{"members": membersStream()})
		for n := 1; n <= 3; n++ {
			d.insert("members", member(n, t0.Add(time.Duration(n)*time.Second), nil))
		}
		s := d.stream("members")
		p, err := s.Read(context.Background(), connectors.ReadRequest{Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Records) != 3 || p.More {
			t.Errorf("limit 3 over 3 rows: %d records, More = %v; want 3 and false", len(p.Records), p.More)
		}
		p, err = s.Read(context.Background(), connectors.ReadRequest{Limit: 2, After: connectors.Position{UpdatedAt: t0.Add(time.Second), ID: uid(1)}})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(p.Records); !reflect.DeepEqual(got, []string{uid(2), uid(3)}) || p.More {
			t.Errorf("limit 2 over the last 2 rows: %v More = %v; want [%s %s] and false", got, p.More, uid(2), uid(3))
		}
	})
}

// TestSoftDeleteStampsUpdatedAtAndKeepsFirstDeletion: a soft delete moves
// updated_at to now (so incremental reads see it), and deleting a row that
// is already deleted keeps its first deletion time.
func TestSoftDeleteStampsUpdatedAtAndKeepsFirstDeletion(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		d := setup(t, b, membersDDL, map[string]any{"members": membersStream()})
		d.insert("members", member(1, t0, nil))
		d.insert("members", member(2, t0, map[string]any{"deleted_at": t0.Add(-time.Hour)}))
		s := d.stream("members")
		ctx := context.Background()
		before := time.Now().Add(-time.Minute)

		res, err := s.Write(ctx, []connectors.Change{{Op: connectors.OpDelete, ID: uid(1)}, {Op: connectors.OpDelete, ID: uid(2)}})
		mustOK(t, res, err)
		for _, r := range res {
			if r.Record == nil || !r.Record.Deleted {
				t.Fatalf("delete %s: record %+v, want it deleted", r.ID, r.Record)
			}
			if r.Record.UpdatedAt.Before(before) {
				t.Errorf("delete %s: updated_at = %v, want now (a delete must be seen by incremental reads)", r.ID, r.Record.UpdatedAt)
			}
		}
		checkField(t, *res[1].Record, "deleted_at", t0.Add(-time.Hour))
		if del, _ := res[0].Record.Fields["deleted_at"].(time.Time); del.Before(before) {
			t.Errorf("delete %s: deleted_at = %v, want now", uid(1), res[0].Record.Fields["deleted_at"])
		}
		// A read after the old position finds both deletions.
		p, err := s.Read(ctx, connectors.ReadRequest{After: connectors.Position{UpdatedAt: t0, ID: uid(2)}, IncludeDeleted: true, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if got := sortedIDs(p.Records); !reflect.DeepEqual(got, []string{uid(1), uid(2)}) {
			t.Errorf("read after the old cursor = %v, want both deleted rows", got)
		}
	})
}

// TestUpdateStampsUpdatedAt: an update moves updated_at to now, not merely
// "not backwards".
func TestUpdateStampsUpdatedAt(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		d := setup(t, b, membersDDL, map[string]any{"members": membersStream()})
		d.insert("members", member(1, t0, nil))
		before := time.Now().Add(-time.Minute)
		res, err := d.stream("members").Write(context.Background(), []connectors.Change{{Op: connectors.OpUpdate, ID: uid(1), Fields: map[string]any{"city": "Medan"}}})
		mustOK(t, res, err)
		if ts := res[0].Record.UpdatedAt; ts.Before(before) {
			t.Errorf("updated_at after update = %v, want about now", ts)
		}
	})
}

// TestRestoreRefusals: restoring a row that is gone is a RecordError
// wrapping ErrNotFound; restoring on a stream without deletedAt is refused
// as a RecordError saying why.
func TestRestoreRefusals(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		d := setup(t, b, membersDDL+`;
CREATE TABLE plain (id text PRIMARY KEY, name text, updated_at @TS NOT NULL)`, map[string]any{
			"members": membersStream(),
			"plain":   map[string]any{"table": "plain"},
		})
		d.insert("plain", map[string]any{"id": "p1", "name": "x", "updated_at": t0})
		ctx := context.Background()
		res, err := d.stream("members").Write(ctx, []connectors.Change{{Op: connectors.OpRestore, ID: uid(9)}})
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(res[0].Err, connectors.ErrNotFound) || !connectors.IsRecordError(res[0].Err) {
			t.Errorf("restore of a missing row: err = %v, want a RecordError wrapping ErrNotFound", res[0].Err)
		}
		res, err = d.stream("plain").Write(ctx, []connectors.Change{{Op: connectors.OpRestore, ID: "p1", Fields: map[string]any{"name": "y"}}})
		if err != nil {
			t.Fatal(err)
		}
		if !connectors.IsRecordError(res[0].Err) || !strings.Contains(res[0].Err.Error(), "no deletedAt") {
			t.Errorf("restore without deletedAt: err = %v, want a RecordError saying the stream has no deletedAt", res[0].Err)
		}
		recs, _ := d.stream("plain").Get(ctx, []string{"p1"})
		if len(recs) != 1 || recs[0].Fields["name"] != "x" {
			t.Errorf("the refused restore changed the row: %+v", recs)
		}
	})
}

// TestWhereWithOr: the configured where is one parenthesized condition, so
// an OR in it cannot bypass the deleted filter or the cursor.
func TestWhereWithOr(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		cfg := membersStream()
		cfg["where"] = "city = 'Medan' OR city = 'Padang'"
		d := setup(t, b, membersDDL, map[string]any{"members": cfg})
		d.insert("members", member(1, t0, map[string]any{"city": "Medan"}))
		d.insert("members", member(2, t0.Add(time.Second), map[string]any{"city": "Medan", "deleted_at": t0}))
		d.insert("members", member(3, t0.Add(2*time.Second), map[string]any{"city": "Padang"}))
		d.insert("members", member(4, t0.Add(3*time.Second), map[string]any{"city": "Test"}))
		s := d.stream("members")
		if got := ids(readAll(t, s, 10, false)); !reflect.DeepEqual(got, []string{uid(1), uid(3)}) {
			t.Errorf("live read = %v, want [%s %s]", got, uid(1), uid(3))
		}
		p, err := s.Read(context.Background(), connectors.ReadRequest{After: connectors.Position{UpdatedAt: t0.Add(time.Second), ID: uid(2)}, IncludeDeleted: true, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(p.Records); !reflect.DeepEqual(got, []string{uid(3)}) {
			t.Errorf("read after %s = %v, want [%s]", uid(2), got, uid(3))
		}
	})
}

// TestNonRecordErrorIsNotARecordError: an error that is not about the
// record's data (here the table renamed behind the connector's back) fails
// the record as transient, not as a RecordError that the engine would
// store as refused data.
func TestNonRecordErrorIsNotARecordError(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		d := setup(t, b, membersDDL, map[string]any{"members": membersStream()})
		d.insert("members", member(1, t0, nil))
		s := d.stream("members")
		d.exec(`ALTER TABLE members RENAME TO members_old`)
		res, err := s.Write(context.Background(), []connectors.Change{{Op: connectors.OpUpdate, ID: uid(1), Fields: map[string]any{"full_name": "x"}}})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Err == nil || connectors.IsRecordError(res[0].Err) {
			t.Errorf("write to a renamed table: err = %v, want a plain (transient) error", res[0].Err)
		}
	})
}

// TestCapabilities: client ids for uuid and text keys only; soft deletes
// per stream with deletedAt, and per connection only when every stream has
// one.
func TestCapabilities(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		d := setup(t, b, membersDDL+`;
CREATE TABLE acara (nomor @SERIAL PRIMARY KEY, judul text, diperbarui @TS NOT NULL)`, map[string]any{
			"members": membersStream(),
			"events":  map[string]any{"table": "acara", "key": "nomor", "updatedAt": "diperbarui"},
		})
		caps := func(x any) connectors.Capabilities {
			t.Helper()
			dsc, ok := x.(connectors.Describer)
			if !ok {
				t.Fatalf("%T is not a connectors.Describer", x)
			}
			return dsc.Capabilities()
		}
		if c := caps(d.stream("members")); !c.ClientIDs || !c.SoftDelete {
			t.Errorf("members: %+v, want client ids and soft deletes", c)
		}
		if c := caps(d.stream("events")); c.ClientIDs || c.SoftDelete {
			t.Errorf("events (serial key, no deletedAt): %+v, want neither", c)
		}
		if c := caps(d.conn); !c.ClientIDs || c.SoftDelete {
			t.Errorf("connection with one stream without deletedAt: %+v, want client ids and no soft deletes", c)
		}
		d2 := setup(t, b, membersDDL, map[string]any{"members": membersStream()})
		if c := caps(d2.conn); !c.SoftDelete {
			t.Errorf("connection whose every stream has deletedAt: %+v, want soft deletes", c)
		}
	})
}

// TestPostgresDataExceptionIsARecordError: PostgreSQL's class 22 (a value
// too long, out of range) refuses the record alone, like class 23.
func TestPostgresDataExceptionIsARecordError(t *testing.T) {
	d := setup(t, backends[1], `CREATE TABLE kode (id text PRIMARY KEY, singkat varchar(3), n smallint, updated_at timestamptz NOT NULL)`,
		map[string]any{"kode": map[string]any{"table": "kode"}})
	res, err := d.stream("kode").Write(context.Background(), []connectors.Change{
		{Op: connectors.OpCreate, ID: "a", Fields: map[string]any{"singkat": "abc"}},
		{Op: connectors.OpCreate, ID: "b", Fields: map[string]any{"singkat": "abcd"}},
		{Op: connectors.OpCreate, ID: "c", Fields: map[string]any{"n": 100000}},
		{Op: connectors.OpCreate, ID: "d", Fields: map[string]any{"singkat": "xyz"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if bad := i == 1 || i == 2; bad != connectors.IsRecordError(r.Err) {
			t.Errorf("result %d: err = %v, want RecordError %v", i, r.Err, bad)
		}
	}
	if got := sortedIDs(readAll(t, d.stream("kode"), 10, true)); !reflect.DeepEqual(got, []string{"a", "d"}) {
		t.Errorf("stored %v, want a and d", got)
	}
}

// openPostgres creates a fresh database, runs prep on it, then opens a
// postgres connection to it (url gets suffix appended).
func openPostgres(t *testing.T, prep []string, suffix string, streams map[string]any) (connectors.Connection, func(string, ...any)) {
	t.Helper()
	url := pgtest.URL(t)
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := c.Exec(context.Background(), q, args...); err != nil {
			t.Fatalf("postgres: %v\n%s", err, q)
		}
	}
	for _, q := range prep {
		exec(q)
	}
	t.Setenv("TEST_KELOMPOK_URL", url+suffix)
	conn, err := connectors.Default.Open(context.Background(), "postgres", connectors.OpenParams{
		Name: "kelompok", Config: map[string]any{"url": map[string]any{"env": "TEST_KELOMPOK_URL"}, "streams": streams}, Secrets: secrets.Env{},
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn, exec
}

// TestPostgresLocalTimestampStampedInUTC: a timestamp-without-time-zone
// updated-at column is stamped with the UTC time even when the session's
// time zone is not UTC.
func TestPostgresLocalTimestampStampedInUTC(t *testing.T) {
	conn, exec := openPostgres(t, []string{
		`DO $$BEGIN EXECUTE format('ALTER DATABASE %I SET timezone TO %L', current_database(), 'Asia/Jakarta'); END$$`,
		`CREATE TABLE things (id integer PRIMARY KEY, name text, local_ts timestamp NOT NULL)`,
	}, "", map[string]any{"things": map[string]any{"table": "things", "updatedAt": "local_ts"}})
	exec(`INSERT INTO things VALUES (1, 'a', '2024-05-01 10:00:00')`)
	s, err := conn.Stream(context.Background(), "things")
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Write(context.Background(), []connectors.Change{
		{Op: connectors.OpUpdate, ID: "1", Fields: map[string]any{"name": "b"}},
		{Op: connectors.OpCreate, Fields: map[string]any{"id": 2, "name": "c"}},
	})
	mustOK(t, res, err)
	now := time.Now().UTC()
	for _, r := range res {
		if ts := r.Record.UpdatedAt; ts.Before(now.Add(-time.Minute)) || ts.After(now.Add(time.Minute)) {
			t.Errorf("%s: local_ts = %v with the session in Asia/Jakarta, want about %v (UTC)", r.ID, ts, now)
		}
	}
}

// TestPostgresBinaryDecoding: the binary fast path keeps signs (negative
// smallint, integer and bigint keys and values), dates and timestamps before
// 2000 and 1970 with their microseconds, and refuses infinite timestamps
// instead of inventing a time.
func TestPostgresBinaryDecoding(t *testing.T) {
	d := setup(t, backends[1], `
CREATE TABLE angka (id integer PRIMARY KEY, s smallint, big bigint, lahir date, ts timestamptz NOT NULL, f real)`,
		map[string]any{"angka": map[string]any{"table": "angka", "updatedAt": "ts"}})
	d.exec(`INSERT INTO angka VALUES (-5, -7, -3000000000, '1985-03-10', '1969-07-20 20:17:40.123456+00', -0.25)`)
	d.exec(`INSERT INTO angka VALUES (6, 32767, 1, '1999-12-31', '1999-12-31 23:59:59.999999+00', 1)`)
	s := d.stream("angka")
	recs, err := s.Get(context.Background(), []string{"-5", "6"})
	if err != nil || len(recs) != 2 {
		t.Fatalf("get: %v, %d records", err, len(recs))
	}
	byID := map[string]connectors.Record{}
	for _, r := range recs {
		byID[r.ID] = r
	}
	r := byID["-5"]
	checkField(t, r, "id", int64(-5))
	checkField(t, r, "s", int64(-7))
	checkField(t, r, "big", int64(-3000000000))
	checkField(t, r, "lahir", time.Date(1985, 3, 10, 0, 0, 0, 0, time.UTC))
	checkField(t, r, "ts", time.Date(1969, 7, 20, 20, 17, 40, 123456000, time.UTC))
	checkField(t, r, "f", -0.25)
	if !r.UpdatedAt.Equal(time.Date(1969, 7, 20, 20, 17, 40, 123456000, time.UTC)) {
		t.Errorf("UpdatedAt = %v", r.UpdatedAt)
	}
	r = byID["6"]
	checkField(t, r, "s", int64(32767))
	checkField(t, r, "lahir", time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC))
	checkField(t, r, "ts", time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC))

	d.exec(`INSERT INTO angka VALUES (7, 0, 0, '2024-05-01', 'infinity', 0)`)
	if _, err := s.Get(context.Background(), []string{"7"}); err == nil || !strings.Contains(err.Error(), "infinite") {
		t.Errorf("reading an infinite timestamp: err = %v, want one saying infinite timestamps are not supported", err)
	}
}

// TestPostgresExecMode: behind PgBouncer the docs say to add
// default_query_exec_mode=exec; results then come in text format, and
// every column type still reads as on the binary path.
func TestPostgresExecMode(t *testing.T) {
	ddl := strings.NewReplacer("@UUID", "uuid", "@TS", "timestamptz", "@TEXTS", "text[]").Replace(membersDDL)
	conn, exec := openPostgres(t, []string{ddl}, "&default_query_exec_mode=exec", map[string]any{"members": membersStream()})
	exec(`INSERT INTO members (id, organization_id, full_name, sdg_tags, created_at, updated_at)
		VALUES ($1, $2, 'Dewi', ARRAY['SDG 4', NULL], $3, $3)`, uid(1), uid(2), t0.Add(123456*time.Microsecond))
	s, err := conn.Stream(context.Background(), "members")
	if err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO members (id, full_name, created_at, updated_at) VALUES ($1, 'Budi', $2, $2)`, uid(3), t0.Add(time.Hour))
	recs := readAll(t, s, 1, false) // the second page reads after a cursor
	if got := ids(recs); !reflect.DeepEqual(got, []string{uid(1), uid(3)}) {
		t.Fatalf("read %v, want [%s %s]", got, uid(1), uid(3))
	}
	r := recs[0]
	if r.ID != uid(1) || !r.UpdatedAt.Equal(t0.Add(123456*time.Microsecond)) {
		t.Errorf("record %s at %v, want %s at %v", r.ID, r.UpdatedAt, uid(1), t0.Add(123456*time.Microsecond))
	}
	checkField(t, r, "organization_id", uid(2))
	checkField(t, r, "sdg_tags", []any{"SDG 4", nil})
	res, err := s.Write(context.Background(), []connectors.Change{{Op: connectors.OpUpdate, ID: uid(1), Fields: map[string]any{"sdg_tags": []any{"a"}}}})
	mustOK(t, res, err)
	checkField(t, *res[0].Record, "sdg_tags", []any{"a"})
	got, err := s.Find(context.Background(), "organization_id", []string{uid(2)})
	if err != nil || len(got) != 1 {
		t.Errorf("Find by a uuid column in exec mode: %v, %d records", err, len(got))
	}
}

// TestUpdatedAtMustHoldTimes: an updatedAt column of a number type is
// refused when the stream opens, saying what to name instead, rather than
// every read failing (SQLite reads a number as a Julian day) or comparing
// a number with the cursor's time (PostgreSQL).
func TestUpdatedAtMustHoldTimes(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		d := setup(t, b, `CREATE TABLE things (id @UUID PRIMARY KEY, name TEXT, changed BIGINT NOT NULL, updated_at @TS NOT NULL)`,
			map[string]any{
				"things":  map[string]any{"table": "things", "key": "id", "updatedAt": "changed"},
				"things2": map[string]any{"table": "things", "key": "id", "updatedAt": "updated_at"},
			})
		_, err := d.conn.Stream(context.Background(), "things")
		if err == nil || !strings.Contains(err.Error(), `updatedAt column "changed"`) || !strings.Contains(err.Error(), "not a time") {
			t.Fatalf("open with a number updatedAt: %v", err)
		}
		d.stream("things2") // a time column opens
	})
}
