package quickstart

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/kelompok/pipe/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// seedBase is the fixed "now" of the seeded data.
var seedBase = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func openDB(t *testing.T, d Dialect) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	switch d {
	case Postgres:
		db, err = sql.Open("pgx", pgtest.URL(t))
	case SQLite:
		db, err = sql.Open("sqlite", filepath.Join(t.TempDir(), "kelompok.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSeedLoadsEveryRowInBothDialects(t *testing.T) {
	data := Generate(Sizes{Organizations: 12, Members: 450, Events: 30}, seedBase)
	for _, d := range []Dialect{SQLite, Postgres} {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db := openDB(t, d)
			if err := CreateSchema(ctx, db, d); err != nil {
				t.Fatal(err)
			}
			if err := Seed(ctx, db, d, data); err != nil {
				t.Fatal(err)
			}
			for table, want := range map[string]int{"organizations": len(data.Organizations), "members": len(data.Members), "events": len(data.Events)} {
				var got int
				if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("%s: %d rows, want %d", table, got, want)
				}
			}

			// One member read back column by column: NULLs stay NULLs,
			// messy text stays as typed, lists keep their order.
			var withNull, withTags *Member
			for i := range data.Members {
				m := &data.Members[i]
				if withNull == nil && (m.Email == nil || m.Position == nil) {
					withNull = m
				}
				if withTags == nil && len(m.SDGTags) >= 2 {
					withTags = m
				}
			}
			if withNull == nil || withTags == nil {
				t.Fatal("sample data has no member with a NULL column or with two SDG tags")
			}
			for _, m := range []*Member{withNull, withTags} {
				var email, position, nik sql.NullString
				var rawTags, rawUpdated string
				q := "SELECT email, position, national_id, sdg_tags, updated_at FROM members WHERE id = ?1"
				if d == Postgres {
					// Read the list and the time as text in the same shapes
					// as SQLite's, to compare both the same way.
					q = `SELECT email, position, national_id, array_to_json(sdg_tags)::text,
						to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM members WHERE id = $1`
				}
				if err := db.QueryRowContext(ctx, q, m.ID).Scan(&email, &position, &nik, &rawTags, &rawUpdated); err != nil {
					t.Fatal(err)
				}
				var tags []string
				if err := json.Unmarshal([]byte(rawTags), &tags); err != nil {
					t.Fatalf("sdg_tags %q is not a list: %v", rawTags, err)
				}
				updated, err := time.Parse(SQLiteTimeFormat, rawUpdated)
				if err != nil {
					t.Fatalf("updated_at %q: %v", rawUpdated, err)
				}
				if got, want := nullable(email), m.Email; !samePtr(got, want) {
					t.Errorf("member %s email = %v, want %v", m.ID, deref(got), deref(want))
				}
				if got, want := nullable(position), m.Position; !samePtr(got, want) {
					t.Errorf("member %s position = %v, want %v", m.ID, deref(got), deref(want))
				}
				if got, want := nullable(nik), m.NationalID; !samePtr(got, want) {
					t.Errorf("member %s national_id differs", m.ID)
				}
				if !slices.Equal(tags, m.SDGTags) {
					t.Errorf("member %s sdg_tags = %q, want %q", m.ID, tags, m.SDGTags)
				}
				if !updated.Equal(m.UpdatedAt) {
					t.Errorf("member %s updated_at = %v, want %v", m.ID, updated, m.UpdatedAt)
				}
			}

			// Claims: the claimant and date are stored for pending and
			// verified organizations only.
			var claimed, unclaimedWithDate int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM organizations WHERE claimed_by IS NOT NULL").Scan(&claimed); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM organizations WHERE claim_status = 'unclaimed' AND claimed_at IS NOT NULL").Scan(&unclaimedWithDate); err != nil {
				t.Fatal(err)
			}
			if claimed == 0 || unclaimedWithDate != 0 {
				t.Errorf("claims: %d organizations claimed, %d unclaimed with a claim date; want some and none", claimed, unclaimedWithDate)
			}
		})
	}
}

func TestSchemaRejectsUnknownDialect(t *testing.T) {
	if _, err := Schema("mysql"); err == nil {
		t.Fatal("Schema(mysql) succeeded")
	}
	if err := Seed(context.Background(), nil, "mysql", Data{}); err == nil {
		t.Fatal("Seed(mysql) succeeded")
	}
}

func nullable(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

func samePtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// TestSchemaFillsCreatedAt: a record pulled from Twenty into Kelompok
// carries no created_at (it is not mapped); both dialects' schemas fill it,
// so pull creates are not refused.
func TestSchemaFillsCreatedAt(t *testing.T) {
	ctx := context.Background()
	for _, d := range []Dialect{Postgres, SQLite} {
		t.Run(string(d), func(t *testing.T) {
			db := openDB(t, d)
			if err := CreateSchema(ctx, db, d); err != nil {
				t.Fatal(err)
			}
			q := map[Dialect]string{
				Postgres: `INSERT INTO organizations (id, name, updated_at) VALUES ('7b0c3c1e-7f5c-4c8e-9a55-3f1f8a4f0001', 'Koperasi Baru', now());
				          INSERT INTO members (id, full_name, updated_at) VALUES ('7b0c3c1e-7f5c-4c8e-9a55-3f1f8a4f0002', 'Rina', now())`,
				SQLite: `INSERT INTO organizations (id, name, updated_at) VALUES ('7b0c3c1e-7f5c-4c8e-9a55-3f1f8a4f0001', 'Koperasi Baru', '2026-11-26 00:00:00.000');
				          INSERT INTO members (id, full_name, updated_at) VALUES ('7b0c3c1e-7f5c-4c8e-9a55-3f1f8a4f0002', 'Rina', '2026-11-26 00:00:00.000')`,
			}[d]
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("insert without created_at: %v", err)
			}
			var created string
			if err := db.QueryRowContext(ctx, `SELECT CAST(created_at AS text) FROM members`).Scan(&created); err != nil || created == "" {
				t.Fatalf("created_at = %q, %v", created, err)
			}
		})
	}
}
