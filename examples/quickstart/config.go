package quickstart

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/connectors/twenty"
	"github.com/kelompok/pipe/engine/secrets"
	"github.com/kelompok/pipe/pipelines"
)

// ConnectionsCUE is the quickstart's connections file (connections.cue in
// this directory): Kelompok as an SQLite file, Twenty as the emulator.
//
//go:embed connections.cue
var ConnectionsCUE []byte

// ShippedConnections is the name of the shipped connections file in
// package pipelines, which the quickstart replaces with its own.
const ShippedConnections = "connections.cue"

// ConfigParams say where the quickstart's Kelompok and Twenty are.
type ConfigParams struct {
	// KelompokSQLite is the SQLite Kelompok file. Required.
	KelompokSQLite string
	// TwentyURL is the base URL of the Twenty emulator. Required.
	TwentyURL string
}

// WriteConfig writes the quickstart configuration into dir: the shipped
// pipelines (every .cue file of package pipelines but connections.cue), the
// quickstart connections.cue, and local.cue with the SQLite path (made
// absolute) and the Twenty URL. The Twenty API key is read from the file
// twenty-api-key in dir; WriteConfig does not write it.
func WriteConfig(dir string, p ConfigParams) error {
	if p.KelompokSQLite == "" || p.TwentyURL == "" {
		return errors.New("quickstart: WriteConfig needs the SQLite Kelompok path and the Twenty URL")
	}
	dbPath, err := filepath.Abs(p.KelompokSQLite)
	if err != nil {
		return fmt.Errorf("quickstart: %w", err)
	}
	if err := CopyShipped(dir, ShippedConnections); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "connections.cue"), ConnectionsCUE, 0o644); err != nil {
		return fmt.Errorf("quickstart: writing connections.cue: %w", err)
	}
	// The SQLite path is absolute because connection paths are not yet
	// taken from the config directory by every caller.
	local := fmt.Sprintf(`package pipe

// Written by pipe demo: where this run's Kelompok and Twenty are.
connections: kelompok: path: %s
connections: twenty: url: %s
`, cueString(dbPath), cueString(p.TwentyURL))
	if err := os.WriteFile(filepath.Join(dir, "local.cue"), []byte(local), 0o644); err != nil {
		return fmt.Errorf("quickstart: writing local.cue: %w", err)
	}
	return nil
}

// CopyShipped copies the shipped pipeline files (package pipelines) into
// dir, except the named ones.
func CopyShipped(dir string, except ...string) error {
	entries, err := fs.ReadDir(pipelines.Files, ".")
	if err != nil {
		return fmt.Errorf("quickstart: reading the shipped pipelines: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".cue") || contains(except, name) {
			continue
		}
		b, err := fs.ReadFile(pipelines.Files, name)
		if err != nil {
			return fmt.Errorf("quickstart: reading the shipped %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("quickstart: writing %s: %w", name, err)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cueString quotes s as a CUE string literal (a JSON string is one).
func cueString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// PrepareTwenty makes sure every Twenty workspace of cfg has the custom
// fields its connection declares (customFields), creating the missing ones
// through Twenty's metadata API, as an operator does once per workspace.
func PrepareTwenty(ctx context.Context, cfg *config.Config, resolver secrets.Resolver) error {
	for name, c := range cfg.Connections {
		if c.Kind != "twenty" {
			continue
		}
		conn, err := connectors.Default.Open(ctx, c.Kind, connectors.OpenParams{Name: name, Config: c.Params, Secrets: resolver, Dir: cfg.Dir})
		if err != nil {
			return err
		}
		tc, ok := conn.(*twenty.Conn)
		if !ok {
			conn.Close()
			return fmt.Errorf("quickstart: connection %q is a %T, not a Twenty connection", name, conn)
		}
		for _, cf := range tc.Params().CustomFields {
			if _, err := tc.EnsureCustomField(ctx, cf); err != nil {
				conn.Close()
				return fmt.Errorf("quickstart: creating the custom field %s.%s: %w", cf.Object, cf.Name, err)
			}
		}
		if err := conn.Close(); err != nil {
			return err
		}
	}
	return nil
}
