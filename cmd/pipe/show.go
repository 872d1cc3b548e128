package main

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/kelompok/pipe/config"
)

func init() { register(newShowCmd) }

func newShowCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show PIPELINE",
		Short: "Print a pipeline's resolved configuration as JSON (secrets as references)",
		Long: `Prints the pipeline as the configuration resolves it (defaults filled in),
with its source and sink connections (name, kind, parameters). Secrets
appear as their references ({env: ...}, {file: ...}, {vault: ...}), never as
values.`,
		Example: `  pipe show members
  pipe show members | jq .pipeline.push`,
		Args: oneArg("pipeline name", "pipe show members", "list the pipelines with pipe list"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			cfg, err := app.Config(cmd.Context())
			if err != nil {
				return nil, cobra.ShellCompDirectiveError
			}
			return cfg.PipelineNames(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd.Context(), app)
			if err != nil {
				return err
			}
			p, ok := cfg.Pipelines[args[0]]
			if !ok {
				return unknownPipeline(args[0], cfg)
			}
			out := struct {
				Pipeline any `json:"pipeline"`
				Source   any `json:"sourceConnection"`
				Sink     any `json:"sinkConnection"`
			}{p, connectionView(cfg.Connections[p.Source.Connection]), connectionView(cfg.Connections[p.Sink.Connection])}
			enc := json.NewEncoder(app.Stdout)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			return enc.Encode(out)
		},
	}
}

// connectionView is a connection without its stream catalog: name, kind
// and parameters (secrets appear as references; the config never holds
// their values).
func connectionView(c *config.Connection) any {
	if c == nil {
		return nil
	}
	return struct {
		Name   string         `json:"name"`
		Kind   string         `json:"kind"`
		Params map[string]any `json:"params"`
	}{c.Name, c.Kind, c.Params}
}
