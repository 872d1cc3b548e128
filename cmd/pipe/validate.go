package main

import (
	"fmt"

	"github.com/spf13/cobra"
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
		Example: `  pipe validate
  pipe validate --config ./pipelines --format github`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			cfg, err := app.Config(cmd.Context())
			if n, ok := printConfigErrors(app, err, format); ok {
				fmt.Fprintf(app.Stderr, "%s: %s\n", app.ConfigDir(), count(n, "problem"))
				return Exit(ExitFailure, nil)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "%s: valid (%s, %s)\n", app.ConfigDir(),
				count(len(cfg.Connections), "connection"), count(len(cfg.Pipelines), "pipeline"))
			return nil
		},
	}
	formatFlag(cmd, &format, "output format: text (file:line:col: message lines) or github (GitHub Actions annotations)")
	return cmd
}

// count says n things: "1 pipeline", "3 pipelines".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
