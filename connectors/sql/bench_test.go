package sql_test

import (
	"context"
	"encoding/binary"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/secrets"
	"github.com/kelompok/pipe/internal/pgtest"
)

// EnvBenchRows sets the number of member rows BenchmarkReadMembers loads
// (default 20000, so that `go test -bench .` stays quick). The figure in
// docs/performance.md is for 1,000,000:
//
//	PIPE_BENCH_ROWS=1000000 go test -run '^$' -bench BenchmarkReadMembers -benchtime 3x ./connectors/sql/
const EnvBenchRows = "PIPE_BENCH_ROWS"

// BenchmarkReadMembers reads every row of a reference members table from
// PostgreSQL through the connector (keyset pages of 5000, records built with
// typed fields), and, for comparison, the same rows with COPY ... TO STDOUT
// (text format, discarded): the rate PostgreSQL itself can hand rows out.
func BenchmarkReadMembers(b *testing.B) {
	rows := 20000
	if s := os.Getenv(EnvBenchRows); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive row count", EnvBenchRows, s)
		}
		rows = n
	}
	ctx := context.Background()
	url := pgtest.URL(b)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	start := time.Now()
	for _, q := range []string{
		`CREATE TABLE members (
			id uuid PRIMARY KEY, organization_id uuid, full_name text NOT NULL, email text, phone text,
			position text, province text, city text, sdg_tags text[], national_id text,
			created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(), deleted_at timestamptz)`,
		`INSERT INTO members (id, organization_id, full_name, email, phone, position, province, city, sdg_tags, national_id, created_at, updated_at)
		 SELECT gen_random_uuid(), CASE WHEN i % 7 = 0 THEN NULL ELSE gen_random_uuid() END,
			'Anggota Nomor ' || i, ' Anggota' || i || '@Example.COM ', '0812-3456-' || lpad((i % 10000)::text, 4, '0'),
			(ARRAY['Ketua','Wakil Ketua','Sekretaris','Bendahara','Anggota','Ketum'])[1 + i % 6],
			'Jawa Barat', 'Kota Bandung', ARRAY['SDG 4','Pendidikan Berkualitas'], lpad(i::text, 16, '3'),
			timestamptz '2024-01-01 00:00:00+00' + (i % 50000) * interval '1 second',
			timestamptz '2024-01-01 00:00:00+00' + (i % 50000) * interval '1 second'
		 FROM generate_series(1, $1) AS i`,
		`CREATE INDEX members_updated_at_id ON members (updated_at, id)`,
		`ANALYZE members`,
	} {
		if _, err := conn.Exec(ctx, q, argsFor(q, rows)...); err != nil {
			b.Fatalf("load: %v", err)
		}
	}
	b.Logf("loaded %d rows in %v", rows, time.Since(start).Round(time.Millisecond))

	b.Run("copy", func(b *testing.B) {
		for b.Loop() {
			tag, err := conn.PgConn().CopyTo(ctx, io.Discard, "COPY members TO STDOUT")
			if err != nil {
				b.Fatal(err)
			}
			if tag.RowsAffected() != int64(rows) {
				b.Fatalf("copied %d rows, want %d", tag.RowsAffected(), rows)
			}
		}
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})

	// The connector's own query with pgx, rows discarded undecoded: what the
	// keyset scan costs the server, without the connector's decoding.
	b.Run("keyset-raw", func(b *testing.B) {
		const q = `SELECT * FROM members WHERE deleted_at IS NULL AND (updated_at, id) > ($1, $2)
			ORDER BY updated_at, id LIMIT 5001`
		for b.Loop() {
			n := 0
			after, afterID := time.Time{}, "00000000-0000-0000-0000-000000000000"
			for {
				rs, err := conn.Query(ctx, q, after, afterID)
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for rs.Next() {
					got++
					if got <= 5000 {
						raw := rs.RawValues()
						// updated_at is column 12, id column 1 (binary).
						after = pgEpoch(raw[11])
						afterID = uuidText(raw[0])
					}
				}
				if rs.Err() != nil {
					b.Fatal(rs.Err())
				}
				n += min(got, 5000)
				if got <= 5000 {
					break
				}
			}
			if n != rows {
				b.Fatalf("read %d rows, want %d", n, rows)
			}
		}
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})

	b.Run("connector", func(b *testing.B) {
		b.Setenv("PIPE_BENCH_DATABASE_URL", url)
		c, err := connectors.Default.Open(ctx, "postgres", connectors.OpenParams{Name: "kelompok", Secrets: secrets.Env{}, Config: map[string]any{
			"url":     map[string]any{"env": "PIPE_BENCH_DATABASE_URL"},
			"streams": map[string]any{"members": map[string]any{"table": "members", "deletedAt": "deleted_at"}}, // every column, as COPY
		}})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		s, err := c.Stream(ctx, "members")
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			n := 0
			var after connectors.Position
			for {
				p, err := s.Read(ctx, connectors.ReadRequest{After: after, Limit: 5000})
				if err != nil {
					b.Fatal(err)
				}
				n += len(p.Records)
				if len(p.Records) > 0 {
					after = connectors.PositionOf(p.Records[len(p.Records)-1])
				}
				if !p.More {
					break
				}
			}
			if n != rows {
				b.Fatalf("read %d rows, want %d", n, rows)
			}
		}
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

func pgEpoch(raw []byte) time.Time {
	us := int64(binary.BigEndian.Uint64(raw))
	return time.Unix(946684800+us/1e6, (us%1e6)*1e3).UTC()
}

func uuidText(raw []byte) string { return uuid.UUID(raw).String() }

func argsFor(q string, rows int) []any {
	if len(q) > 6 && q[:6] == "INSERT" {
		return []any{rows}
	}
	return nil
}
