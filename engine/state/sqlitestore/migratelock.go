package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrationLock serializes Migrate across processes and stores sharing one
// SQLite file: goose checks which migrations are applied and then applies
// the rest, and two migrators doing that at once both try to create the
// same tables. The lock is a row in a table of its own (SQLite has no
// advisory locks); a holder that died leaves a row that expires after ttl.
type migrationLock struct {
	ttl  time.Duration
	poll time.Duration
}

const migrationLockTable = "pipe_migration_lock"

// Lock waits until the lock row can be inserted, or an expired one
// replaced.
func (l migrationLock) Lock(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+migrationLockTable+
		` (id INTEGER PRIMARY KEY CHECK (id = 1), expires_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create the migration lock table: %w", err)
	}
	for {
		now := time.Now()
		res, err := db.ExecContext(ctx, `INSERT INTO `+migrationLockTable+` (id, expires_at) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at WHERE `+migrationLockTable+`.expires_at < ?`,
			now.Add(l.ttl).UnixMilli(), now.UnixMilli())
		if err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for another process's migrations: %w", ctx.Err())
		case <-time.After(l.poll):
		}
	}
}

// Unlock removes the lock row.
func (l migrationLock) Unlock(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `DELETE FROM `+migrationLockTable+` WHERE id = 1`); err != nil {
		return fmt.Errorf("release the migration lock: %w", err)
	}
	return nil
}
