package main

// `pipe rejects`: records refused by a mapping or by the other side, which
// every run retries.

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kelompok/pipe/engine/state"
)

func init() { register(newRejectsCmd) }

func newRejectsCmd(app *App) *cobra.Command {
	var pipeline, output string
	cmd := &cobra.Command{
		Use:   "rejects",
		Short: "List rejected records and why (each run retries them)",
		Long: `Lists the open rejects: records refused by a mapping or by the other side,
unresolved refs and deletes held by the mass-delete guard, with the side,
the key, how many times they were retried and the reason. Every run of the
pipeline retries them; a record that then succeeds leaves the list. A reject
of a record read from a side the pipeline no longer reads (a sink record's,
from when it synced both ways) is kept as it is, not retried, until the
pipeline reads that side again. While
the configuration has errors outside its state section, they are still
listed, with the errors as a warning on stderr.`,
		Example: `  pipe rejects
  pipe rejects --pipeline members --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listState(cmd, app, output, "rejects", pipeline,
				func(ctx context.Context, st state.Store) ([]state.Reject, error) {
					return st.Rejects(ctx, pipeline)
				},
				func(w io.Writer, rejects []state.Reject) error {
					if len(rejects) == 0 {
						if pipeline != "" {
							fmt.Fprintf(w, "no rejected records of pipeline %q\n", pipeline)
						} else {
							fmt.Fprintln(w, "no rejected records")
						}
						return nil
					}
					tw := newTable(w)
					fmt.Fprintln(tw, "PIPELINE\tSIDE\tKEY\tRETRIES\tLAST RUN\tREASON")
					for _, r := range rejects {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", r.Pipeline, r.Side, r.Key, r.Retries, r.LastRunID, r.Reason)
					}
					return tw.Flush()
				})
		},
	}
	cmd.Flags().StringVar(&pipeline, "pipeline", "", "only the rejects of this pipeline")
	outputFlag(cmd, &output)
	return cmd
}
