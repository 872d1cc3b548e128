package main

// `pipe runs`, `pipe runs show ID`: the run history and one run's audit.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

func init() { register(newRunsCmd) }

func newRunsCmd(app *App) *cobra.Command {
	var (
		pipeline, output string
		limit            int
	)
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List recent runs, or show one run's audit trail",
		Long: `Lists the most recent runs, newest first: pipeline, trigger, start, duration,
status and counts. 'pipe runs show ID' prints one run's audit trail.

Like rejects and conflicts, runs reads only the state store: while the
configuration has errors outside its state section, it still shows the
history, with the errors as a warning on stderr.`,
		Example: `  pipe runs
  pipe runs --pipeline members --limit 10
  pipe runs show 42`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return usageError(fmt.Errorf("--limit %d: want 1 or more", limit))
			}
			return listState(cmd, app, output, "runs", pipeline,
				func(ctx context.Context, st state.Store) ([]state.Run, error) {
					return st.RunList(ctx, state.RunListParams{Pipeline: pipeline, Limit: limit})
				},
				func(w io.Writer, runs []state.Run) error {
					if len(runs) == 0 {
						if pipeline != "" {
							fmt.Fprintf(w, "no runs of pipeline %q yet\n", pipeline)
						} else {
							fmt.Fprintln(w, "no runs yet: 'pipe run --all --dry-run' plans a first one")
						}
						return nil
					}
					tw := newTable(w)
					fmt.Fprintln(tw, "ID\tPIPELINE\tTRIGGER\tSTARTED\tDURATION\tSTATUS\tCREATED\tUPDATED\tDELETED\tLINKED\tSKIPPED\tCONFLICTS\tREJECTED\tFAILED")
					for _, r := range runs {
						status := r.Status + runModes(r)
						dur := "-"
						if took, ok := runTook(r); ok {
							dur = took.String()
						}
						c := r.Counts
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", r.ID, r.Pipeline, r.Trigger,
							r.StartedAt.Local().Format("2006-01-02 15:04:05"), dur, status,
							c.Created, c.Updated, c.Deleted, c.Linked, c.Skipped, c.Conflicts, c.Rejected, c.Failed)
					}
					return tw.Flush()
				})
		},
	}
	cmd.Flags().StringVar(&pipeline, "pipeline", "", "only the runs of this pipeline")
	cmd.Flags().IntVar(&limit, "limit", 50, "show at most N runs, newest first")
	outputFlag(cmd, &output)
	cmd.AddCommand(newRunsShowCmd(app))
	return cmd
}

func newRunsShowCmd(app *App) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one run and its audit trail (every record decision, with field diffs)",
		Long: `Prints one run (pipeline, trigger, status, duration, counts, error) and its
audit trail: every record decision with its reason and field diff. Unchanged
records are counted, not audited, and a dry run's decisions are not kept
(pipe run --dry-run -v prints them). ID is the first column of 'pipe runs'.`,
		Example: `  pipe runs show 42
  pipe runs show 42 --output json`,
		Args: oneArg("run ID", "pipe runs show 12", "list runs with pipe runs"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			id, err := parseID("run", args[0], "pipe runs")
			if err != nil {
				return err
			}
			_, st, err := openHistory(cmd.Context(), app)
			if err != nil {
				return err
			}
			defer st.Close()
			run, err := st.RunGet(cmd.Context(), id)
			if errors.Is(err, state.ErrNotFound) {
				return fmt.Errorf("no run %d (see pipe runs)", id)
			}
			if err != nil {
				return fmt.Errorf("reading run %d: %w", id, err)
			}
			audit, err := st.AuditList(cmd.Context(), id)
			if err != nil {
				return fmt.Errorf("reading the audit of run %d: %w", id, err)
			}
			if output == "json" {
				if audit == nil {
					audit = []state.AuditEntry{}
				}
				return writeJSON(app.Stdout, struct {
					Run   state.Run          `json:"run"`
					Audit []state.AuditEntry `json:"audit"`
				}{run, audit})
			}
			w := app.Stdout
			fmt.Fprintf(w, "run %d  pipeline %s  trigger %s  status %s%s", run.ID, run.Pipeline, run.Trigger, run.Status, runModes(run))
			fmt.Fprintf(w, "\nstarted %s", run.StartedAt.Local().Format(time.RFC3339))
			if took, ok := runTook(run); ok {
				fmt.Fprintf(w, "  took %s", took)
				if engine.Abandoned(run) {
					fmt.Fprint(w, " (until its last audited decision)")
				}
			}
			c := run.Counts
			fmt.Fprintf(w, "\ncreated %d  updated %d  deleted %d  linked %d  skipped %d  conflicts %d  rejected %d  failed %d\n",
				c.Created, c.Updated, c.Deleted, c.Linked, c.Skipped, c.Conflicts, c.Rejected, c.Failed)
			if run.Error != "" {
				fmt.Fprintf(w, "error: %s\n", run.Error)
			}
			if len(audit) == 0 {
				if run.DryRun {
					// A dry run writes nothing, its decisions included.
					fmt.Fprintf(w, "\na dry run's decisions are printed, not audited: 'pipe run %s%s -v' plans it anew and prints them\n",
						run.Pipeline, runFlags(run))
				} else {
					fmt.Fprintln(w, "\nno record decisions were audited (unchanged records are counted, not audited)")
				}
				return nil
			}
			fmt.Fprintln(w)
			for _, a := range audit {
				dir := ""
				if a.Direction != "" {
					dir = " (" + a.Direction + ")"
				}
				fmt.Fprintf(w, "  %-8s source %s, sink %s%s: %s\n", a.Action, orDash(a.SourceKey), orDash(a.SinkKey), dir, a.Reason)
				printDiff(w, a.Diff)
			}
			return nil
		},
	}
	outputFlag(cmd, &output)
	return cmd
}

// runTook is how long run r took, from its start to its recorded end; ok
// is false when it has no meaningful end: it is still running, or it was
// abandoned (its process stopped) before a decision was audited, so its
// recorded end is its start.
func runTook(r state.Run) (took time.Duration, ok bool) {
	if r.FinishedAt == nil || engine.Abandoned(r) && !r.FinishedAt.After(r.StartedAt) {
		return 0, false
	}
	return r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond), true
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// runFlags returns the pipe run flags a run was made with, each with a
// leading space: " --dry-run --full --limit 250".
func runFlags(r state.Run) string {
	var b strings.Builder
	if r.DryRun {
		b.WriteString(" --dry-run")
	}
	if r.Full {
		b.WriteString(" --full")
	}
	if r.Limit > 0 {
		fmt.Fprintf(&b, " --limit %d", r.Limit)
	}
	return b.String()
}

// runModes describes a run's flags after its status: " (dry run, full,
// limit 250)", or "" for a plain run.
func runModes(r state.Run) string {
	var modes []string
	if r.DryRun {
		modes = append(modes, "dry run")
	}
	if r.Full {
		modes = append(modes, "full")
	}
	if r.Limit > 0 {
		modes = append(modes, fmt.Sprintf("limit %d", r.Limit))
	}
	if len(modes) == 0 {
		return ""
	}
	return " (" + strings.Join(modes, ", ") + ")"
}
