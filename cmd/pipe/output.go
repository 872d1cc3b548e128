package main

// Output helpers the commands share: --output text|json, --format
// text|github, tables and JSON.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/engine/state/storeopen"
)

// outputFlag adds --output (text or json) to cmd.
func outputFlag(cmd *cobra.Command, out *string) {
	cmd.Flags().StringVarP(out, "output", "o", "text", "output format: text (for reading) or json (for scripts)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
}

func checkOutput(out string) error {
	if out != "text" && out != "json" {
		return usageError(fmt.Errorf("--output %q: want text or json", out))
	}
	return nil
}

// formatFlag adds --format (text or github) to cmd, with usage as its help.
func formatFlag(cmd *cobra.Command, format *string, usage string) {
	cmd.Flags().StringVar(format, "format", "text", usage)
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "github"}, cobra.ShellCompDirectiveNoFileComp))
}

func checkFormat(format string) error {
	if format != "text" && format != "github" {
		return usageError(fmt.Errorf("--format %q: want text or github", format))
	}
	return nil
}

// printConfigErrors prints the problems of a configuration that failed to
// load (err holds config.Errors) to stdout in format: file:line:col lines,
// or GitHub Actions annotations. It returns how many, and false when err
// holds no config.Errors.
func printConfigErrors(app *App, err error, format string) (int, bool) {
	var errs config.Errors
	if !errors.As(err, &errs) {
		return 0, false
	}
	if format == "github" {
		fmt.Fprint(app.Stdout, errs.GitHub())
	} else {
		fmt.Fprintln(app.Stdout, errs.Error())
	}
	return len(errs), true
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newTable returns the tabwriter every table is printed with.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// loadConfig loads the configuration for a command that needs a valid one:
// a configuration that does not load is exit status 2, like a wrong command
// line (validate alone answers "invalid" with 1).
func loadConfig(ctx context.Context, app *App) (*config.Config, error) {
	cfg, err := app.Config(ctx)
	if err != nil {
		return nil, Exit(ExitUsage, err)
	}
	return cfg, nil
}

// openStore loads the configuration and opens (and migrates) its state
// store. A configuration error exits with status 2.
func openStore(ctx context.Context, app *App) (*config.Config, state.Store, error) {
	cfg, err := loadConfig(ctx, app)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStateStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}

// openStateStore opens the state store of a loaded configuration
// (storeopen.Open applies its migrations).
func openStateStore(ctx context.Context, cfg *config.Config) (state.Store, error) {
	st, err := storeopen.Open(ctx, cfg.State, cfg.Dir, resolverFor(cfg))
	if err != nil {
		return nil, fmt.Errorf("opening the state store: %w", err)
	}
	return st, nil
}

// listState is the body of the listing state commands (runs, rejects,
// conflicts): it checks --output, opens the store (openHistory: also while
// the configuration has errors elsewhere than in its state section),
// checks the --pipeline
// filter (pipeline, "" for none), lists what (named in the error) and
// prints it as JSON (an empty list, never null) or with text.
func listState[T any](cmd *cobra.Command, app *App, output, what, pipeline string,
	list func(context.Context, state.Store) ([]T, error), text func(io.Writer, []T) error) error {
	if err := checkOutput(output); err != nil {
		return err
	}
	cfg, st, err := openHistory(cmd.Context(), app)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkHistoryPipeline(cmd.Context(), cfg, st, pipeline); err != nil {
		return err
	}
	items, err := list(cmd.Context(), st)
	if err != nil {
		return fmt.Errorf("listing %s: %w", what, err)
	}
	if output == "json" {
		if items == nil {
			items = []T{}
		}
		return writeJSON(app.Stdout, items)
	}
	return text(app.Stdout, items)
}

// parseID reads the numeric id of a run or conflict (what) argument; a
// usage error points at the command that lists them (see).
func parseID(what, arg, see string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return 0, usageError(fmt.Errorf("%s id %q is not a number (see %s)", what, arg, see))
	}
	return id, nil
}
