package main

// `pipe twenty emulator`: an offline Twenty CRM REST API for trying and
// testing pipelines (connectors/twenty/emulator).
//
// It also owns the `pipe twenty` group command: other files add
// `pipe twenty X` subcommands with registerTwentySubcommand in their init
// instead of registering a second `twenty` command.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kelompok/pipe/connectors/twenty/emulator"
)

func init() {
	register(newTwentyGroupCmd)
	registerTwentySubcommand(newTwentyEmulatorCmd)
}

// twentySubcommands are the constructors of `pipe twenty ...` subcommands.
var twentySubcommands []func(*App) *cobra.Command

// registerTwentySubcommand adds a `pipe twenty` subcommand; call it from an
// init function.
func registerTwentySubcommand(newCmd func(*App) *cobra.Command) {
	twentySubcommands = append(twentySubcommands, newCmd)
}

// newTwentyGroupCmd builds `pipe twenty`, which only groups subcommands.
func newTwentyGroupCmd(app *App) *cobra.Command {
	subs := make([]*cobra.Command, 0, len(twentySubcommands))
	for _, newCmd := range twentySubcommands {
		subs = append(subs, newCmd(app))
	}
	return groupCmd("twenty", "Twenty CRM tools: a local emulator and workspace helpers", subs...)
}

// parseRate reads "100/1s" (tokens per window).
func parseRate(flag, s string) (int, time.Duration, error) {
	n, w, ok := strings.Cut(s, "/")
	tokens, err := strconv.Atoi(n)
	if !ok || err != nil || tokens <= 0 {
		return 0, 0, fmt.Errorf("--%s %q: want TOKENS/WINDOW like 100/1s", flag, s)
	}
	window, err := time.ParseDuration(w)
	if err != nil || window <= 0 {
		return 0, 0, fmt.Errorf("--%s %q: the window %q is not a positive duration like 1s or 60s", flag, s, w)
	}
	return tokens, window, nil
}

func newTwentyEmulatorCmd(app *App) *cobra.Command {
	var (
		addr, seed, workspace string
		keys                  []string
		short, long           string
		noRateLimit, safeMode bool
		batchLimit            int
	)
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Serve an offline imitation of Twenty's REST API",
		Long: `Serve an in-memory imitation of Twenty CRM's REST API (records, filters,
cursors, batches, upserts, metadata, webhooks, rate limits), to try and test
pipelines without a Twenty workspace. Data lives in memory and is lost on exit.

Authentication compares bearer tokens with --api-key (repeatable); with no
--api-key, any bearer token is accepted. Real Twenty API keys are HS256 JWTs;
the emulator does not verify them.`,
		Example: `  pipe twenty emulator --addr 127.0.0.1:3000 --api-key dev-key \
      --seed connectors/twenty/emulator/testdata/seed.json
  curl -H 'Authorization: Bearer dev-key' 'http://127.0.0.1:3000/rest/people?limit=5'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := emulator.Config{
				APIKeys:          keys,
				WorkspaceID:      workspace,
				BatchLimit:       batchLimit,
				OutboundSafeMode: safeMode,
				Logger:           app.Logger,
			}
			cfg.RateLimit.Disabled = noRateLimit
			var err error
			if cfg.RateLimit.ShortLimit, cfg.RateLimit.ShortWindow, err = parseRate("rate-short", short); err != nil {
				return usageError(err)
			}
			if cfg.RateLimit.LongLimit, cfg.RateLimit.LongWindow, err = parseRate("rate-long", long); err != nil {
				return usageError(err)
			}
			srv := emulator.New(cfg)
			if seed != "" {
				if err := srv.LoadSeedFile(seed); err != nil {
					return err
				}
			}
			url, err := srv.StartAt(addr)
			if err != nil {
				return err
			}
			defer srv.Close()
			auth := count(len(keys), "API key") + " accepted"
			if len(keys) == 0 {
				auth = "any bearer token accepted"
			}
			fmt.Fprintf(app.Stdout, "Twenty emulator listening on %s (%s); Ctrl-C to stop\n", url, auth)
			<-cmd.Context().Done()
			fmt.Fprintln(app.Stdout, "Twenty emulator stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:3000", "address to listen on (host:port)")
	f.StringVar(&seed, "seed", "", `JSON file of records to load, by plural name: {"companies": [...], "people": [...]}`)
	f.StringArrayVar(&keys, "api-key", nil, "bearer token to accept (repeatable); none: accept any token")
	f.StringVar(&workspace, "workspace-id", "", "workspace id put in webhook bodies (default "+emulator.DefaultWorkspaceID+")")
	f.StringVar(&short, "rate-short", "100/1s", "short rate-limit bucket, TOKENS/WINDOW")
	f.StringVar(&long, "rate-long", "100/60s", "long rate-limit bucket, TOKENS/WINDOW")
	f.BoolVar(&noRateLimit, "no-rate-limit", false, "turn rate limiting off")
	f.IntVar(&batchLimit, "batch-limit", 200, "largest POST /rest/batch body accepted")
	f.BoolVar(&safeMode, "outbound-safe-mode", false, "refuse webhook delivery to private and loopback addresses, like Twenty's default")
	_ = cmd.MarkFlagFilename("seed", "json")
	return cmd
}
