package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kelompok/pipe/config"
)

func init() { register(newValidateCmd) }

func newValidateCmd(app *App) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration directory (no network, database or secret needed)",
		Long: `validate loads the configuration directory, checks it against the schemas and
the semantic rules (references, dependencies, expressions, field paths,
durations, secret references) and prints every problem as file:line:col.
Exit status: 0 valid, 1 invalid, 2 usage error. --format github prints
GitHub Actions annotations, for a one-line CI gate.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "github" {
				return usageError(fmt.Errorf("--format %q: want text or github", format))
			}
			cfg, err := app.Config(cmd.Context())
			var errs config.Errors
			switch {
			case errors.As(err, &errs):
				if format == "github" {
					fmt.Fprint(app.Stdout, errs.GitHub())
				} else {
					fmt.Fprintln(app.Stdout, errs.Error())
				}
				fmt.Fprintf(app.Stderr, "%s: %d problem(s)\n", app.ConfigDir(), len(errs))
				return Exit(ExitFailure, nil)
			case err != nil:
				return err
			}
			fmt.Fprintf(app.Stdout, "%s: valid (%d connections, %d pipelines)\n", app.ConfigDir(), len(cfg.Connections), len(cfg.Pipelines))
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text (file:line:col: message) or github (Actions annotations)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "github"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
