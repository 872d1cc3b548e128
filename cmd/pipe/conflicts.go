package main

// `pipe conflicts`, `pipe conflicts resolve ID --take source|sink`: pairs
// held by the manual conflict policy.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/kelompok/pipe/engine/state"
)

func init() { register(newConflictsCmd) }

func newConflictsCmd(app *App) *cobra.Command {
	var (
		pipeline, output string
		all              bool
	)
	cmd := &cobra.Command{
		Use:   "conflicts",
		Short: "List record pairs held for a manual decision",
		Long: `Lists the pairs the manual conflict policy holds: both sides changed the
same fields since the last sync. Decide with 'pipe conflicts resolve ID
--take source|sink'; the pipeline's next run applies the decision. While
the configuration has errors outside its state section, they are still
listed, with the errors as a warning on stderr.`,
		Example: `  pipe conflicts
  pipe conflicts resolve 7 --take sink`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listState(cmd, app, output, "conflicts", pipeline,
				func(ctx context.Context, st state.Store) ([]state.Conflict, error) {
					return st.Conflicts(ctx, pipeline, all)
				},
				func(w io.Writer, cs []state.Conflict) error {
					if len(cs) == 0 {
						what := "no open conflicts"
						if all {
							what = "no conflicts"
						}
						if pipeline != "" {
							what += fmt.Sprintf(" in pipeline %q", pipeline)
						}
						fmt.Fprintln(w, what)
						return nil
					}
					for _, c := range cs {
						status := "open"
						switch {
						case c.Resolution == state.Superseded:
							status = "superseded: closed by a run without applying a decision"
						case c.AppliedAt != nil:
							status = "applied: " + c.Resolution + " won"
						case c.Resolution != "":
							status = "resolved: " + c.Resolution + " wins on the next run"
						}
						fmt.Fprintf(w, "conflict %d  pipeline %s  source %s  sink %s  (%s)\n", c.ID, c.Pipeline, c.SourceKey, c.SinkKey, status)
						tw := newTable(w)
						fmt.Fprintln(tw, "  FIELD\tSOURCE\tSINK")
						fields := append([]string(nil), c.Fields...)
						sort.Strings(fields)
						for _, f := range fields {
							fmt.Fprintf(tw, "  %s\t%s\t%s\n", f, show(c.Source[f]), show(c.Sink[f]))
						}
						tw.Flush()
					}
					return nil
				})
		},
	}
	cmd.Flags().StringVar(&pipeline, "pipeline", "", "only the conflicts of this pipeline")
	cmd.Flags().BoolVar(&all, "all", false, "include resolved conflicts")
	outputFlag(cmd, &output)
	cmd.AddCommand(newConflictsResolveCmd(app))
	return cmd
}

func newConflictsResolveCmd(app *App) *cobra.Command {
	var take string
	cmd := &cobra.Command{
		Use:   "resolve ID --take source|sink",
		Short: "Decide a held conflict; the pipeline's next run applies it",
		Long: `Records the decision for conflict ID (the number 'pipe conflicts' prints):
with --take source the source's values win, with --take sink the sink's.
Nothing is written to either system until the pipeline's next run, which
applies the decision. --take is required.`,
		Example: `  pipe conflicts resolve 7 --take sink
  pipe run members   # applies it`,
		Args: oneArg("conflict ID", "pipe conflicts resolve 7 --take sink", "list the open conflicts with pipe conflicts"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("conflict", args[0], "pipe conflicts")
			if err != nil {
				return err
			}
			if take != state.TakeSource && take != state.TakeSink {
				return usageError(fmt.Errorf("--take %q: want source or sink", take))
			}
			_, st, err := openStore(cmd.Context(), app)
			if err != nil {
				return err
			}
			defer st.Close()
			c, err := st.ConflictGet(cmd.Context(), id)
			if errors.Is(err, state.ErrNotFound) {
				return fmt.Errorf("no conflict %d (see pipe conflicts)", id)
			}
			if err != nil {
				return fmt.Errorf("reading conflict %d: %w", id, err)
			}
			err = st.ConflictResolve(cmd.Context(), id, take)
			if errors.Is(err, state.ErrAlreadyResolved) {
				return fmt.Errorf("conflict %d is already resolved (%s wins)", id, c.Resolution)
			}
			if err != nil {
				return fmt.Errorf("resolving conflict %d: %w", id, err)
			}
			fmt.Fprintf(app.Stdout, "conflict %d resolved: the %s's values win; run 'pipe run %s' to apply it\n", id, take, c.Pipeline)
			return nil
		},
	}
	cmd.Flags().StringVar(&take, "take", "", "the side whose values win: source or sink")
	_ = cmd.MarkFlagRequired("take")
	_ = cmd.RegisterFlagCompletionFunc("take", cobra.FixedCompletions([]string{"source", "sink"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
