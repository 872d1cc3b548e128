package main

// `pipe twenty fields ensure`: create the custom fields an install wants
// in its Twenty workspace (connectors/twenty).

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/connectors/twenty"
	"github.com/kelompok/pipe/engine/secrets"
)

func init() { registerTwentySubcommand(newTwentyFieldsCmd) }

func newTwentyFieldsCmd(app *App) *cobra.Command {
	return groupCmd("fields", "Manage custom fields of a Twenty workspace", newTwentyFieldsEnsureCmd(app))
}

func newTwentyFieldsEnsureCmd(app *App) *cobra.Command {
	var object, name, label string
	cmd := &cobra.Command{
		Use:   "ensure CONNECTION",
		Short: "Create the connection's customFields, or one unique text field (kelompokId), where missing",
		Long: `Create a custom field in the Twenty workspace of CONNECTION through the
metadata API, unless it already exists. With --object and --name, the field
is a nullable, unique TEXT field (for Kelompok's id: --name kelompokId).
Without them, every field declared in the connection's customFields is
ensured with its declared type.

The command reads the workspace's metadata first, so running it again
changes nothing. The API key needs permission to change the data model.`,
		Example: `  pipe twenty fields ensure twenty --object people --name kelompokId --label "Kelompok ID"
  pipe twenty fields ensure twenty   # every customFields entry of the connection`,
		Args: oneArg("connection name", "pipe twenty fields ensure twenty", "give the name of a connection of kind twenty in the configuration"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (object == "") != (name == "") {
				return usageError(errors.New("--object and --name go together (or give neither to ensure the declared customFields)"))
			}
			cfg, err := loadConfig(cmd.Context(), app)
			if err != nil {
				return err
			}
			cc, ok := cfg.Connections[args[0]]
			if !ok {
				return usageError(fmt.Errorf("no connection %q in %s", args[0], cfg.Dir))
			}
			if cc.Kind != "twenty" {
				return usageError(fmt.Errorf("connection %q is of kind %q, not twenty", cc.Name, cc.Kind))
			}
			conn, err := twenty.OpenConn(connectors.OpenParams{
				Name: cc.Name, Config: cc.Params, Secrets: resolverFor(cfg), Logger: app.Logger.With("connection", cc.Name),
			})
			if err != nil {
				return fmt.Errorf("connection %q: %w", cc.Name, err)
			}
			defer conn.Close()

			var want []twenty.CustomField
			if object != "" {
				want = []twenty.CustomField{{Object: object, Name: name, Label: label, Type: "TEXT", Unique: true}}
			} else {
				want = conn.Params().CustomFields
				if len(want) == 0 {
					return usageError(fmt.Errorf("connection %q declares no customFields; give --object and --name", cc.Name))
				}
			}
			for _, cf := range want {
				created, err := conn.EnsureCustomField(cmd.Context(), cf)
				if err != nil {
					return err
				}
				state := "already exists"
				if created {
					state = "created"
				}
				fmt.Fprintf(app.Stdout, "%s.%s (%s): %s\n", cf.Object, cf.Name, cf.Type, state)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&object, "object", "", "object plural name, e.g. people")
	f.StringVar(&name, "name", "", "field name in camelCase, e.g. kelompokId")
	f.StringVar(&label, "label", "", "label shown in Twenty (default: from the name)")
	return cmd
}

// resolverFor returns the secret resolver for a configuration: environment
// and file providers (files relative to the config directory) and Vault
// from VAULT_ADDR/VAULT_TOKEN, contacted only if a reference uses it.
func resolverFor(cfg *config.Config) secrets.Resolver {
	var vault secrets.Resolver
	if v, err := secrets.NewVault(secrets.VaultConfig{}); err == nil {
		vault = v
	}
	return secrets.NewChain(cfg.Dir, vault)
}
