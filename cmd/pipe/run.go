package main

// `pipe run`: run pipelines once (or plan them with --dry-run).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

func init() { register(newRunCmd) }

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

func newRunCmd(app *App) *cobra.Command {
	var (
		all, dryRun, full, verbose bool
		limit                      int
		output                     string
	)
	cmd := &cobra.Command{
		Use:   "run [PIPELINE...]",
		Short: "Run pipelines once (or plan them with --dry-run)",
		Long: `Runs the named pipelines (or all with --all) once: reads the changes since
the last run on each side the pipeline syncs from (and, again, those of the
pipeline's lookBack window before that), pairs records through the
links, matches new ones by the identity rules, applies the conflict and
delete policies, and writes the result in batches. Pipelines run in
dependsOn order; independent ones run at the same time.

With --dry-run nothing is written to either system and no link or cursor
moves: the plan is printed instead (counts per action; every decision with
its field diff and reason with -v or --output json).

The summary has one line per pipeline, in the order they ran: a pipeline
after the ones it depends on, independent ones by name.

--output json prints a JSON array with one object per pipeline, in that
order, with the keys:
  pipeline     the pipeline's name
  runId        its run in 'pipe runs' (left out when no run was recorded:
               skipped, or failed before it started)
  dryRun       true for --dry-run, else false
  status       succeeded, partial, failed or skipped
  counts       created, updated, deleted, linked, skipped, conflicts,
               rejected, failed
  duration     in nanoseconds
  error        why it failed, was partial or skipped (left out when none)
  deletesHeld  deletes the mass-delete guard held (left out when none)
  plan         every decision, each with action, direction, sourceKey,
               sinkKey and diff (these four left out when empty) and
               reason; left out when there was no decision
Logs go to stderr, so stdout stays JSON.

Exit status: 0 when every pipeline succeeded; 1 when a pipeline failed, was
skipped (a dependency did not succeed) or ended partial (some records were
rejected or failed: see pipe rejects); 2 for a wrong command line or a
configuration error (invalid config, unknown pipeline, dependency cycle).`,
		Example: `  pipe run members --dry-run -v
  pipe run --all
  pipe run organizations members --full --limit 1000 --output json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if all == (len(args) > 0) {
				return usageError(errors.New("name one or more pipelines, or use --all (not both)"))
			}
			if limit < 0 {
				return usageError(fmt.Errorf("--limit %d: want 0 (no limit) or more", limit))
			}
			ctx := cmd.Context()
			cfg, err := loadConfig(ctx, app)
			if err != nil {
				return err
			}
			if err := checkPipelines(cfg, args); err != nil {
				return err
			}
			st, err := openStateStore(ctx, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			eng, err := engine.New(engine.Config{Config: cfg, Store: st, Secrets: resolverFor(cfg), Logger: app.Logger})
			if err != nil {
				return err
			}
			defer eng.Close()
			params := engine.RunParams{Pipelines: args, All: all, DryRun: dryRun, Full: full, Limit: limit,
				Trigger: "cli", KeepPlan: verbose || output == "json"}
			bar := newBar(app.Stderr, output)
			if bar != nil {
				params.Progress = bar.progress
			}
			results, err := eng.Run(ctx, params)
			if bar != nil {
				bar.finish()
			}
			var cerr *engine.ConfigError
			if errors.As(err, &cerr) {
				return Exit(ExitUsage, err)
			}
			if err != nil {
				return err
			}
			if output == "json" {
				if err := writeJSON(app.Stdout, results); err != nil {
					return err
				}
			} else {
				printResults(app.Stdout, results, dryRun, verbose)
			}
			for _, r := range results {
				if r.Status != state.RunSucceeded {
					return Exit(ExitFailure, nil)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "run every configured pipeline")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "plan only: write nothing to either system, move no link or cursor")
	cmd.Flags().BoolVar(&full, "full", false, "ignore the cursors and reconcile every record")
	cmd.Flags().IntVar(&limit, "limit", 0, "read at most N new records per pipeline (0: no limit); the records of its lookBack window are read again whatever N")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print every record's decision with its field diff and reason")
	outputFlag(cmd, &output)
	return cmd
}

// bar is the progress bar shown on a terminal while pipelines run.
type bar struct {
	mu   sync.Mutex
	pb   *progressbar.ProgressBar
	seen map[string]int
}

func newBar(w io.Writer, output string) *bar {
	if output != "text" || !isTerminal(w) {
		return nil
	}
	pb := progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("syncing"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("records"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	return &bar{pb: pb, seen: map[string]int{}}
}

func (b *bar) progress(p engine.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seen[p.Pipeline] = p.Records
	total := 0
	for _, n := range b.seen {
		total += n
	}
	b.pb.Describe(fmt.Sprintf("syncing (%s)", p.Pipeline))
	_ = b.pb.Set(total)
}

func (b *bar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.pb.Finish()
}

// printResults prints one summary line per pipeline, and with verbose every
// decision.
func printResults(w io.Writer, results []engine.Result, dryRun, verbose bool) {
	tw := newTable(w)
	for _, r := range results {
		c := r.Counts
		status := r.Status
		if dryRun {
			// the status the run would end with, marked as `pipe runs` marks it
			status += " (dry run)"
		}
		fmt.Fprintf(tw, "%s\t%s\tcreated %d\tupdated %d\tdeleted %d\tlinked %d\tskipped %d\tconflicts %d\trejected %d\tfailed %d\t%s\n",
			r.Pipeline, status, c.Created, c.Updated, c.Deleted, c.Linked, c.Skipped, c.Conflicts, c.Rejected, c.Failed,
			r.Duration.Round(time.Millisecond))
	}
	tw.Flush()
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Pipeline, r.Error)
		}
	}
	if !verbose {
		return
	}
	for _, r := range results {
		if len(r.Plan) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", r.Pipeline)
		printDecisions(w, r.Plan)
	}
}

func printDecisions(w io.Writer, ds []engine.Decision) {
	for _, d := range ds {
		keys := []string{}
		if d.SourceKey != "" {
			keys = append(keys, "source "+d.SourceKey)
		}
		if d.SinkKey != "" {
			keys = append(keys, "sink "+d.SinkKey)
		}
		dir := ""
		if d.Direction != "" {
			dir = " (" + d.Direction + ")"
		}
		fmt.Fprintf(w, "  %-8s %s%s: %s\n", d.Action, strings.Join(keys, ", "), dir, d.Reason)
		printDiff(w, d.Diff)
	}
}

func printDiff(w io.Writer, diff []state.FieldChange) {
	sort.SliceStable(diff, func(i, j int) bool { return diff[i].Field < diff[j].Field })
	for _, c := range diff {
		fmt.Fprintf(w, "      %s: %s -> %s\n", c.Field, show(c.Old), show(c.New))
	}
}

// show prints a field value compactly.
func show(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
