package quickstart

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the embedded Kelompok database

	"github.com/kelompok/pipe/config"
	_ "github.com/kelompok/pipe/connectors/all" // every shipped connector
	"github.com/kelompok/pipe/connectors/twenty/emulator"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/secrets"
	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/engine/state/storeopen"
)

// DemoOptions configure RunDemo.
type DemoOptions struct {
	// Dir is where the demo writes its configuration, its SQLite Kelompok
	// database and its state store. It must be empty or absent. Empty
	// means a temporary directory, removed when the demo ends.
	Dir string
	// Out receives the demo's report. Defaults to io.Discard.
	Out io.Writer
	// Sizes of the sample data. Defaults to DefaultSizes.
	Sizes Sizes
	// Preexisting is the number of members who already exist as people in
	// Twenty (same e-mail address, typed differently), to show linking
	// without duplicates. Defaults to 25; negative means none.
	Preexisting int
	// Logger receives the engine's and connectors' logs. Defaults to
	// discarding them.
	Logger *slog.Logger
	// Command is how the report tells the reader to run pipe: "pipe"
	// (the default), or "go run ./cmd/pipe" when the demo itself ran that
	// way and no pipe binary may be on the PATH.
	Command string
}

// DemoReport is what RunDemo did, for tests and callers that want more
// than the printed report.
type DemoReport struct {
	// Dir is the directory used; Kept is false when it was a temporary
	// directory that has been removed.
	Dir  string
	Kept bool
	// Plan, Apply and Rerun are the results of the dry run, the real run
	// and the second real run, one per pipeline, sorted by name.
	Plan, Apply, Rerun []engine.Result
	// Preexisting is the number of people the demo put into Twenty before
	// the first run; PreexistingLinked how many of them the run linked to
	// their member (instead of creating a duplicate).
	Preexisting, PreexistingLinked int
}

// Writes totals the records a set of results wrote to either system.
func Writes(results []engine.Result) int {
	n := 0
	for _, r := range results {
		n += r.Counts.Created + r.Counts.Updated + r.Counts.Deleted
	}
	return n
}

// demoAPIKey is the API key of the in-process Twenty emulator. It guards
// nothing but a local test server that lives as long as the demo.
const demoAPIKey = "pipe-demo-local-key"

// RunDemo runs the quickstart end to end with no server to install: it
// creates an SQLite Kelompok from the sample data, starts the Twenty
// emulator on 127.0.0.1 with some pre-existing people, writes the
// configuration (the shipped pipelines and the quickstart connections),
// prints the dry-run plan, applies it, runs again to show that nothing
// changes, and prints where to look next.
//
// Rejected records (an invalid e-mail address in the sample data) are shown
// with their reason and are not an error. The error is non-nil when a step
// fails, or when the second run writes anything.
func RunDemo(ctx context.Context, opts DemoOptions) (*DemoReport, error) {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	if opts.Sizes == (Sizes{}) {
		opts.Sizes = DefaultSizes
	}
	if opts.Preexisting == 0 {
		opts.Preexisting = 25
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	start := time.Now()

	rep := &DemoReport{}
	dir, kept, cleanup, err := demoDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	rep.Dir, rep.Kept = dir, kept

	// 1. Kelompok: an SQLite file with the reference schema and sample data.
	now := time.Now().UTC().Truncate(time.Second)
	data := Generate(opts.Sizes, now)
	dbPath := filepath.Join(dir, "kelompok.db")
	if err := createSQLiteKelompok(ctx, dbPath, data); err != nil {
		return rep, err
	}
	fmt.Fprintf(out, "Kelompok  %s (SQLite): %d organizations, %d members, %d events of messy sample data\n",
		dbPath, len(data.Organizations), len(data.Members), len(data.Events))

	// 2. Twenty: the emulator, in process, on 127.0.0.1.
	twenty := emulator.New(emulator.Config{APIKeys: []string{demoAPIKey}, RateLimit: emulator.RateLimit{Disabled: true}})
	defer twenty.Close()
	twentyURL, err := twenty.StartAt("127.0.0.1:0")
	if err != nil {
		return rep, err
	}
	var preIDs []string
	if opts.Preexisting > 0 {
		if preIDs, err = SeedTwentyPeople(twenty, data, opts.Preexisting, now.AddDate(0, -1, 0)); err != nil {
			return rep, err
		}
		rep.Preexisting = len(preIDs)
	}
	fmt.Fprintf(out, "Twenty    %s (in-process emulator): %d people already there, whose e-mails match members\n", twentyURL, rep.Preexisting)

	// 3. The configuration: shipped pipelines + quickstart connections.
	keyFile := filepath.Join(dir, "twenty-api-key")
	if err := os.WriteFile(keyFile, []byte(demoAPIKey+"\n"), 0o600); err != nil {
		return rep, fmt.Errorf("demo: writing the emulator's API key file: %w", err)
	}
	if err := WriteConfig(dir, ConfigParams{KelompokSQLite: dbPath, TwentyURL: twentyURL}); err != nil {
		return rep, err
	}
	cfg, err := config.Load(ctx, dir)
	if err != nil {
		return rep, fmt.Errorf("demo: loading the quickstart configuration from %s: %w", dir, err)
	}
	resolver := secrets.NewChain(cfg.Dir, nil)
	if err := PrepareTwenty(ctx, cfg, resolver); err != nil {
		return rep, err
	}
	store, err := storeopen.Open(ctx, cfg.State, cfg.Dir, resolver)
	if err != nil {
		return rep, fmt.Errorf("demo: opening the state store: %w", err)
	}
	defer store.Close()
	eng, err := engine.New(engine.Config{Config: cfg, Store: store, Secrets: resolver, Logger: logger})
	if err != nil {
		return rep, err
	}
	defer eng.Close()
	fmt.Fprintf(out, "Config    %s: pipelines %s\n", dir, strings.Join(pipelineNames(cfg), ", "))

	// 4. Dry run: the plan.
	fmt.Fprintf(out, "\n== 1. Dry run: what `pipe run --all` would do (nothing is written)\n")
	if rep.Plan, err = eng.Run(ctx, engine.RunParams{All: true, DryRun: true}); err != nil {
		return rep, fmt.Errorf("demo: dry run: %w", err)
	}
	printResults(out, rep.Plan)
	printSamples(out, rep.Plan)

	// 5. Apply.
	fmt.Fprintf(out, "\n== 2. Apply: `pipe run --all`\n")
	if rep.Apply, err = eng.Run(ctx, engine.RunParams{All: true, KeepPlan: true}); err != nil {
		return rep, fmt.Errorf("demo: run: %w", err)
	}
	printResults(out, rep.Apply)
	printRejects(out, rep.Apply)
	fmt.Fprintf(out, "Twenty now holds %d companies, %d people, %d opportunities.\n",
		len(twenty.Records("companies")), len(twenty.Records("people")), len(twenty.Records("opportunities")))
	if len(preIDs) > 0 {
		links, err := store.LinksBySink(ctx, "members", preIDs)
		if err != nil {
			return rep, fmt.Errorf("demo: reading the members links: %w", err)
		}
		rep.PreexistingLinked = len(links)
		fmt.Fprintf(out, "Of the %d people already in Twenty, %d were linked to their member by e-mail, not duplicated.\n", len(preIDs), len(links))
	}

	// 6. Rerun: nothing changes.
	fmt.Fprintf(out, "\n== 3. Run again: nothing changed, so nothing is written\n")
	if rep.Rerun, err = eng.Run(ctx, engine.RunParams{All: true}); err != nil {
		return rep, fmt.Errorf("demo: second run: %w", err)
	}
	printResults(out, rep.Rerun)
	if failed := failedRuns(rep.Apply, rep.Rerun); failed != "" {
		return rep, fmt.Errorf("demo: %s", failed)
	}
	if n := Writes(rep.Rerun); n != 0 {
		return rep, fmt.Errorf("demo: the second run wrote %d records although nothing changed: this is a bug, please report it with the output above", n)
	}
	fmt.Fprintf(out, "0 writes: the ledger of links knows every record is in sync.\n")

	printNext(out, rep, time.Since(start), opts.Command)
	return rep, nil
}

// demoDir returns the directory to use: dir (created, and refused unless
// empty) or a new temporary one that cleanup removes.
func demoDir(dir string) (abs string, kept bool, cleanup func(), err error) {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "pipe-demo-")
		if err != nil {
			return "", false, nil, fmt.Errorf("demo: creating a temporary directory: %w", err)
		}
		return tmp, false, func() { os.RemoveAll(tmp) }, nil
	}
	abs, err = filepath.Abs(dir)
	if err != nil {
		return "", false, nil, fmt.Errorf("demo: --dir %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", false, nil, fmt.Errorf("demo: creating --dir %s: %w", dir, err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return "", false, nil, fmt.Errorf("demo: reading --dir %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return "", false, nil, fmt.Errorf("demo: --dir %s is not empty: the demo starts from scratch, so give it a new or empty directory", dir)
	}
	return abs, true, func() {}, nil
}

func createSQLiteKelompok(ctx context.Context, path string, data Data) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return fmt.Errorf("demo: opening %s: %w", path, err)
	}
	defer db.Close()
	if err := CreateSchema(ctx, db, SQLite); err != nil {
		return err
	}
	if err := Seed(ctx, db, SQLite, data); err != nil {
		return err
	}
	return db.Close()
}

// SeedTwentyPeople stores up to n people in the emulator, one per member
// with a valid-looking e-mail address (every third member from the start),
// as a Twenty user typed them long ago (created and updated at): the
// address trimmed and lower-cased, the name split in two, nothing else. It
// returns the ids of the people.
func SeedTwentyPeople(twenty *emulator.Server, data Data, n int, at time.Time) ([]string, error) {
	var ids []string
	var people []map[string]any
	stamp := at.UTC().Format(time.RFC3339Nano)
	for i := 0; i < len(data.Members) && len(ids) < n; i += 3 {
		m := data.Members[i]
		if m.Email == nil || !strings.Contains(*m.Email, "@") {
			continue
		}
		first, last, _ := strings.Cut(strings.TrimSpace(m.FullName), " ")
		id := uuid.NewSHA1(namespace, []byte("twenty-person/"+m.ID)).String()
		people = append(people, map[string]any{
			"id":        id,
			"name":      map[string]any{"firstName": first, "lastName": last},
			"emails":    map[string]any{"primaryEmail": strings.ToLower(strings.TrimSpace(*m.Email))},
			"createdAt": stamp,
			"updatedAt": stamp,
		})
		ids = append(ids, id)
	}
	if err := twenty.Seed(map[string][]map[string]any{"people": people}); err != nil {
		return nil, fmt.Errorf("demo: seeding Twenty people: %w", err)
	}
	return ids, nil
}

func pipelineNames(cfg *config.Config) []string {
	names := make([]string, 0, len(cfg.Pipelines))
	for n := range cfg.Pipelines {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func printResults(out io.Writer, results []engine.Result) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pipeline\tstatus\tcreated\tupdated\tdeleted\tlinked\tskipped\tconflicts\trejected\tfailed\tduration\t")
	for _, r := range results {
		c := r.Counts
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", r.Pipeline, r.Status,
			c.Created, c.Updated, c.Deleted, c.Linked, c.Skipped, c.Conflicts, c.Rejected, c.Failed, r.Duration.Round(time.Millisecond))
	}
	tw.Flush()
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(out, "  %s: %s\n", r.Pipeline, r.Error)
		}
	}
}

// sampleOrder is the order sample decisions are shown in: writes first.
var sampleOrder = []string{state.ActionCreate, state.ActionLink, state.ActionUpdate, state.ActionDelete,
	state.ActionConflict, state.ActionReject, state.ActionFail, state.ActionSkip}

// printSamples shows a few decisions of each kind per pipeline.
func printSamples(out io.Writer, results []engine.Result) {
	const perAction = 2
	fmt.Fprintf(out, "\nSample decisions (all of them with `pipe run --all --dry-run -v`):\n")
	for _, r := range results {
		for _, action := range sampleOrder {
			shown := 0
			for _, d := range r.Plan {
				if d.Action != action || shown == perAction {
					continue
				}
				shown++
				fmt.Fprintf(out, "  %-13s %-8s %s", r.Pipeline, d.Action, describeKeys(d))
				if d.Reason != "" {
					fmt.Fprintf(out, ": %s", d.Reason)
				}
				fmt.Fprintln(out)
				for i, f := range d.Diff {
					if i == 4 {
						fmt.Fprintf(out, "      ... %s\n", moreFields(len(d.Diff)-i))
						break
					}
					fmt.Fprintf(out, "      %s: %s\n", f.Field, showValue(f.New))
				}
			}
		}
	}
	fmt.Fprintf(out, "A dry run writes nothing, so members and events whose organization has no\ncompany yet wait (skip) here; the real run below syncs organizations first.\n")
}

func describeKeys(d engine.Decision) string {
	switch {
	case d.SourceKey != "" && d.SinkKey != "":
		return "kelompok " + d.SourceKey + " <-> twenty " + d.SinkKey
	case d.SourceKey != "":
		return "kelompok " + d.SourceKey
	default:
		return "twenty " + d.SinkKey
	}
}

// moreFields says how many fields of a diff were left out.
func moreFields(n int) string {
	if n == 1 {
		return "1 more field"
	}
	return fmt.Sprintf("%d more fields", n)
}

// showValue prints a field value as pipe run -v does: JSON, null for nil
// (not Go's <nil> or map[...]), cut to 70 characters.
func showValue(v any) string {
	s := "null"
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			s = fmt.Sprint(v)
		} else {
			s = string(b)
		}
	}
	if r := []rune(s); len(r) > 70 {
		s = string(r[:67]) + "..."
	}
	return s
}

// printRejects lists the records refused, with their reasons.
func printRejects(out io.Writer, results []engine.Result) {
	for _, r := range results {
		for _, d := range r.Plan {
			if d.Action == state.ActionReject {
				fmt.Fprintf(out, "  rejected  %s %s: %s\n", r.Pipeline, describeKeys(d), d.Reason)
			}
		}
	}
	if countAction(results, state.ActionReject) > 0 {
		fmt.Fprintf(out, "Rejected records are kept with their reason (`pipe rejects`), retried on every run, and never stop the others.\n")
	}
}

func countAction(results []engine.Result, action string) int {
	n := 0
	for _, r := range results {
		for _, d := range r.Plan {
			if d.Action == action {
				n++
			}
		}
	}
	return n
}

// failedRuns describes runs that failed or were skipped; "" when none.
func failedRuns(sets ...[]engine.Result) string {
	var msgs []string
	for _, set := range sets {
		for _, r := range set {
			if r.Status == state.RunFailed || r.Status == engine.StatusSkipped {
				msgs = append(msgs, fmt.Sprintf("pipeline %s %s: %s", r.Pipeline, r.Status, r.Error))
			}
		}
	}
	return strings.Join(msgs, "; ")
}

func printNext(out io.Writer, rep *DemoReport, took time.Duration, pipe string) {
	if pipe == "" {
		pipe = "pipe"
	}
	fmt.Fprintf(out, "\nDone in %s.\n\nWhere to look next:\n", took.Round(10*time.Millisecond))
	cfgFlag := "--config " + rep.Dir
	if !rep.Kept {
		cfgFlag = "--config ./pipe-demo"
		fmt.Fprintf(out, "  The demo ran in a temporary directory, now removed. Keep one with\n      %s demo --dir ./pipe-demo\n  and then, with the same --config:\n", pipe)
	}
	fmt.Fprintf(out, "  %s runs %s              every run, with its counts\n", pipe, cfgFlag)
	fmt.Fprintf(out, "  %s runs show ID %s      the audit of one run: each record's decision, field diff and reason\n", pipe, cfgFlag)
	fmt.Fprintf(out, "  %s rejects %s           records refused, with their reasons\n", pipe, cfgFlag)
	fmt.Fprintf(out, "\nFor real (examples/quickstart/README.md): the shipped pipelines/connections.cue reads\n")
	fmt.Fprintf(out, "Kelompok's PostgreSQL from $KELOMPOK_DATABASE_URL and Twenty's API key from $TWENTY_API_KEY;\n")
	fmt.Fprintf(out, "put Twenty's URL in pipelines/local.cue (connections: twenty: url: \"https://crm.example.org\"),\n")
	fmt.Fprintf(out, "then:\n")
	for _, args := range []string{"validate", "twenty fields ensure twenty", "run members --dry-run -v", "run --all"} {
		fmt.Fprintf(out, "  %s %s\n", pipe, args)
	}
}
