package main

// `pipe demo`: the quickstart end to end on this machine, with nothing to
// install (examples/quickstart).

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kelompok/pipe/examples/quickstart"
)

func init() { register(newDemoCmd) }

func newDemoCmd(app *App) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Sync sample Kelompok data into a local Twenty emulator: plan, apply, rerun",
		Long: `Runs the quickstart with no server to install: creates an SQLite Kelompok
with messy sample data (organizations, members, events), starts a Twenty
emulator on 127.0.0.1 with some people already in it, loads the shipped
pipelines, shows the dry-run plan, applies it, and runs again to show that
nothing changes.

By default everything happens in a temporary directory that is removed at
the end; with --dir the directory (config, kelompok.db, .pipe/state.db) is
kept, and 'pipe runs', 'pipe runs show ID' and 'pipe rejects' with
--config DIR look at it.`,
		Example: `  pipe demo
  pipe demo --dir ./pipe-demo && pipe runs --config ./pipe-demo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, _ := os.Executable()
			_, err := quickstart.RunDemo(cmd.Context(), quickstart.DemoOptions{
				Dir:     dir,
				Out:     app.Stdout,
				Logger:  slog.New(warnOnly{app.Logger.Handler()}),
				Command: invocation(exe),
			})
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "keep the demo in this new or empty directory instead of a temporary one")
	return cmd
}

// invocation is how to run pipe again, for the demo's hints: "go run
// ./cmd/pipe" when this binary is one go run built (no pipe may be on the
// PATH), else "pipe".
func invocation(exe string) string {
	if strings.Contains(filepath.ToSlash(exe), "/go-build") {
		return "go run ./cmd/pipe"
	}
	return "pipe"
}

// warnOnly passes on warnings and errors only: the demo prints its own
// report, and the runs' info lines would repeat it.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnOnly) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnOnly{h.Handler.WithAttrs(attrs)}
}

func (h warnOnly) WithGroup(name string) slog.Handler { return warnOnly{h.Handler.WithGroup(name)} }
