// Package storeopen opens the state store a configuration names
// (config.State): the embedded SQLite file by default, or PostgreSQL.
// It lives apart from package state so that state does not import its
// implementations.
package storeopen

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/engine/secrets"
	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/engine/state/pgstore"
	"github.com/kelompok/pipe/engine/state/sqlitestore"
)

// DefaultSQLitePath is the state file, relative to the config directory,
// when the config names none.
const DefaultSQLitePath = ".pipe/state.db"

// Open opens the store cfg describes and applies pending migrations.
// Relative SQLite paths are taken from dir (the config directory). A
// PostgreSQL URL is resolved through resolver and never appears in errors.
// The caller closes the store.
func Open(ctx context.Context, cfg config.State, dir string, resolver secrets.Resolver) (state.Store, error) {
	var st state.Store
	switch cfg.Kind {
	case "", "sqlite":
		path := cfg.Path
		if path == "" {
			path = DefaultSQLitePath
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		s, err := sqlitestore.Open(ctx, path)
		if err != nil {
			return nil, err
		}
		st = s
	case "postgres":
		if cfg.URL == nil || cfg.URL.IsZero() {
			return nil, errors.New(`state: kind "postgres" needs url: a secret reference such as {env: "PIPE_STATE_URL"}`)
		}
		if resolver == nil {
			return nil, fmt.Errorf("state: no secret resolver to read the postgres url (%s)", cfg.URL)
		}
		url, err := resolver.Resolve(ctx, *cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("state: resolve postgres url %s: %w", cfg.URL, err)
		}
		if url.IsZero() {
			return nil, fmt.Errorf("state: postgres url %s is empty", cfg.URL)
		}
		s, err := pgstore.Open(ctx, url.Reveal())
		if err != nil {
			return nil, err
		}
		st = s
	default:
		return nil, fmt.Errorf("state: unknown kind %q: use \"sqlite\" or \"postgres\"", cfg.Kind)
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}
