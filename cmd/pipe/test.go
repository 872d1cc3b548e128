package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kelompok/pipe/engine/mapping"
)

func init() { register(newTestCmd) }

func newTestCmd(app *App) *cobra.Command {
	var format string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "test [PIPELINE...]",
		Short: "Run the config tests declared next to the pipelines",
		Long: `test runs the tests declared in the pipelines' tests: blocks (all pipelines,
or the ones named): each maps its input record through the pipeline's push
or pull mapping, with the functions and filters a run uses, and compares the
result with the expected fields or the expected rejection reason. Nothing is
read from or written to any system.
Exit status: 0 all tests pass, 1 a test failed, 2 the configuration is
invalid or the command line is wrong. --format github prints GitHub Actions
annotations for failures.`,
		Example: `  pipe test
  pipe test members -v
  pipe test --format github`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			cfg, err := app.Config(cmd.Context())
			if n, ok := printConfigErrors(app, err, format); ok {
				fmt.Fprintf(app.Stderr, "%s: %s in the configuration; no test ran\n", app.ConfigDir(), count(n, "problem"))
				return Exit(ExitUsage, nil)
			}
			if err != nil {
				return Exit(ExitUsage, err)
			}
			if err := checkPipelines(cfg, args); err != nil {
				return err
			}
			results, err := mapping.RunTests(cfg, args)
			if err != nil {
				return usageError(err)
			}
			failed := 0
			for _, r := range results {
				if !r.Passed() {
					failed++
				}
				printTestResult(app, r, format, verbose)
			}
			fmt.Fprintf(app.Stderr, "%s: %d passed, %d failed\n", count(len(results), "test"), len(results)-failed, failed)
			if failed > 0 {
				return Exit(ExitFailure, nil)
			}
			return nil
		},
	}
	formatFlag(cmd, &format, "output format: text (ok/FAIL lines) or github (GitHub Actions annotations for failures)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "also print the mapped output of passing tests")
	return cmd
}

func printTestResult(app *App, r mapping.TestResult, format string, verbose bool) {
	where := r.Pos.File
	if r.Pos.Line > 0 {
		where = fmt.Sprintf("%s:%d:%d", r.Pos.File, r.Pos.Line, r.Pos.Column)
	}
	if format == "github" {
		if r.Passed() {
			return
		}
		fmt.Fprintf(app.Stdout, "::error file=%s,line=%d,col=%d,title=pipe test %s::%s\n",
			testGHProperty(r.Pos.File), r.Pos.Line, r.Pos.Column, testGHProperty(r.Pipeline+": "+r.Name),
			testGHData(strings.Join(r.Failures, "\n")))
		return
	}
	if r.Passed() {
		fmt.Fprintf(app.Stdout, "ok    %s: %s\n", r.Pipeline, r.Name)
		for _, w := range r.Warnings {
			fmt.Fprintf(app.Stdout, "      warning: %s\n", w)
		}
		if verbose && r.Output != nil {
			for _, line := range outputLines(r.Output) {
				fmt.Fprintf(app.Stdout, "      %s\n", line)
			}
		}
		return
	}
	fmt.Fprintf(app.Stdout, "FAIL  %s: %s (%s)\n", r.Pipeline, r.Name, where)
	for _, f := range r.Failures {
		fmt.Fprintf(app.Stdout, "      %s\n", f)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(app.Stdout, "      warning: %s\n", w)
	}
}

// outputLines renders a mapped record as sorted "path = value" lines.
func outputLines(out map[string]any) []string {
	flat := mapping.Flatten(out)
	lines := make([]string, 0, len(flat))
	for k, v := range flat {
		lines = append(lines, fmt.Sprintf("%s = %s", k, testJSON(v)))
	}
	sort.Strings(lines)
	return lines
}

// testJSON renders a mapped value as JSON.
func testJSON(v any) string {
	b, err := json.Marshal(mapping.Canonical(v))
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// testGHData escapes a GitHub Actions annotation message.
func testGHData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// testGHProperty escapes a GitHub Actions annotation property.
func testGHProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
