package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kelompok/pipe/config"
)

func init() { register(newListCmd) }

func newListCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the pipelines: source -> sink, direction, trigger",
		Example: `  pipe list
  pipe list --config ./pipelines`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd.Context(), app)
			if err != nil {
				return err
			}
			w := newTable(app.Stdout)
			fmt.Fprintln(w, "PIPELINE\tSOURCE\t\tSINK\tDIRECTION\tTRIGGER\tDEPENDS ON")
			for _, name := range cfg.PipelineNames() {
				p := cfg.Pipelines[name]
				deps := strings.Join(p.DependsOn, ",")
				if deps == "" {
					deps = "-"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, p.Source, arrow(p.Direction), p.Sink, p.Direction, triggerText(p.Trigger), deps)
			}
			return w.Flush()
		},
	}
}

func arrow(direction string) string {
	switch direction {
	case config.Pull:
		return "<-"
	case config.Both:
		return "<->"
	}
	return "->"
}

func triggerText(t config.Trigger) string {
	var parts []string
	if t.Schedule > 0 {
		parts = append(parts, "every "+t.Schedule.String())
	}
	if t.Webhook {
		parts = append(parts, "webhook")
	}
	if len(parts) == 0 {
		return "manual"
	}
	return strings.Join(parts, ", ")
}
