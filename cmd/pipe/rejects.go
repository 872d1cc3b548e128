package main

// `pipe rejects`: records refused by a mapping or by the other side, which
// every run retries.

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kelompok/pipe/engine/state"
)

func init() { register(newRejectsCmd) }

func newRejectsCmd(app *App) *cobra.Command {
	var pipeline, output string
	cmd := &cobra.Command{
		Use:   "rejects",
		Short: "List rejected records and why (each run retries them)",
		Example: `  pipe rejects
  pipe rejects --pipeline members --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			_, st, err := openStore(cmd.Context(), app)
			if err != nil {
				return err
			}
			defer st.Close()
			rejects, err := st.Rejects(cmd.Context(), pipeline)
			if err != nil {
				return fmt.Errorf("listing rejects: %w", err)
			}
			if output == "json" {
				if rejects == nil {
					rejects = []state.Reject{}
				}
				return writeJSON(app.Stdout, rejects)
			}
			if len(rejects) == 0 {
				fmt.Fprintln(app.Stdout, "no rejected records")
				return nil
			}
			tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PIPELINE\tSIDE\tKEY\tRETRIES\tLAST RUN\tREASON")
			for _, r := range rejects {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", r.Pipeline, r.Side, r.Key, r.Retries, r.LastRunID, r.Reason)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&pipeline, "pipeline", "", "only the rejects of this pipeline")
	outputFlag(cmd, &output)
	return cmd
}
