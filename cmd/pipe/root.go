package main

// The root command, and how the other commands plug into it.
//
// Adding a subcommand: write it in its own file (run.go, test.go,
// twenty.go, ...) and register a constructor in that file's init:
//
//	func init() { register(newRunCmd) }
//
//	func newRunCmd(app *App) *cobra.Command {
//		return &cobra.Command{
//			Use:   "run [PIPELINE...]",
//			Short: "Run pipelines once",
//			RunE: func(cmd *cobra.Command, args []string) error {
//				cfg, err := loadConfig(cmd.Context(), app) // loaded once from --config
//				if err != nil {
//					return err // config.Errors are printed as file:line:col lines, exit 2
//				}
//				app.Logger.Info("running", "pipelines", len(cfg.Pipelines))
//				fmt.Fprintln(app.Stdout, "done")
//				return nil
//			},
//		}
//	}
//
// The App gives every command the loaded configuration (App.Config), the
// logger built from --log-level and --log-format (App.Logger), and the
// output streams (App.Stdout, App.Stderr: write there, not to os.Stdout, so
// tests can capture them). Keep commands thin: parse flags, call a package,
// print.
//
// Exit status: 0 success, 1 failure (a failed or partial run, a failed
// test, validate's "invalid"), 2 usage error (unknown command or flag, wrong
// arguments, unknown pipeline) or a configuration that does not load
// (loadConfig). Return Exit(code, err) to choose another status; any other
// error from RunE exits 1, and errors cobra raises before a command runs
// exit 2.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/lmittmann/tint"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/kelompok/pipe/config"
)

// Exit statuses.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// ExitError is an error that carries the process exit status.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Exit wraps err with an exit status. A nil err with a non-zero code exits
// silently with that code (the command printed what it had to say).
func Exit(code int, err error) error { return &ExitError{Code: code, Err: err} }

// usageError marks err as a usage error (exit status 2).
func usageError(err error) error { return Exit(ExitUsage, err) }

// App is what every command shares.
type App struct {
	// Stdout and Stderr are the command's output streams.
	Stdout, Stderr io.Writer
	// Logger is the process logger, built from --log-level and --log-format
	// before any command runs.
	Logger *slog.Logger

	configDir string
	logLevel  string
	logFormat string

	once   sync.Once
	cfg    *config.Config
	cfgErr error
}

// ConfigDir is the configuration directory: --config, else $PIPE_CONFIG,
// else ./pipelines.
func (a *App) ConfigDir() string {
	if a.configDir != "" {
		return a.configDir
	}
	if d := os.Getenv(config.EnvDir); d != "" {
		return d
	}
	return config.DefaultDir
}

// Config loads the configuration directory once and returns it; later
// calls return the same result.
func (a *App) Config(ctx context.Context) (*config.Config, error) {
	a.once.Do(func() {
		a.cfg, a.cfgErr = config.Load(ctx, a.ConfigDir())
	})
	return a.cfg, a.cfgErr
}

// commands are the registered subcommand constructors.
var commands []func(*App) *cobra.Command

// register adds a subcommand; call it from an init function.
func register(newCmd func(*App) *cobra.Command) { commands = append(commands, newCmd) }

// groupCmd builds a command that only groups subcommands: run without one,
// it prints its help.
func groupCmd(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(subs...)
	return cmd
}

// newRoot builds the root command with every registered subcommand.
func newRoot(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "pipe",
		Short: "Sync Kelompok and Twenty CRM as declared in CUE files",
		Long: `pipe keeps systems in sync (Kelompok's PostgreSQL and Twenty CRM first) as
declared in CUE files read at run time: connections, pipelines, mappings,
conflict and delete policies. Start with 'pipe demo' (nothing to install),
or 'pipe validate' and 'pipe list' in a configuration directory.

Exit status: 0 success; 1 failure (a run failed or was partial, a test
failed, validate found problems); 2 wrong command line, unknown pipeline, or
a configuration that does not load (every command but validate, which
answers 1 for an invalid configuration).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			logger, err := newLogger(app.Stderr, app.logLevel, app.logFormat)
			if err != nil {
				return usageError(err)
			}
			app.Logger = logger
			return nil
		},
	}
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	root.PersistentFlags().StringVar(&app.configDir, "config", "", "configuration directory (default $"+config.EnvDir+", else ./"+config.DefaultDir+")")
	root.PersistentFlags().StringVar(&app.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&app.logFormat, "log-format", "auto", "log format: auto (text on a terminal, JSON otherwise), text or json")
	_ = root.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions([]string{"debug", "info", "warn", "error"}, cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions([]string{"auto", "text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = root.MarkPersistentFlagDirname("config")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })

	subs := make([]*cobra.Command, 0, len(commands))
	for _, newCmd := range commands {
		subs = append(subs, newCmd(app))
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].Name() < subs[j].Name() })
	for _, c := range subs {
		root.AddCommand(c)
	}
	fixCompletionCmd(root)
	for _, c := range root.Commands() {
		wrapArgs(c)
	}
	return root
}

// oneArg is the Args check of a command that takes exactly one positional
// argument, a noun such as "run ID": a missing or extra argument is
// answered with what is wanted, an example, and where to find the valid
// values (see), e.g. "runs show needs a run ID, e.g. pipe runs show 12;
// list runs with pipe runs".
func oneArg(noun, example, see string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		name := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
		switch {
		case len(args) == 0:
			return fmt.Errorf("%s needs a %s, e.g. %s; %s", name, noun, example, see)
		case len(args) > 1:
			return fmt.Errorf("%s takes one %s, got %d (%s), e.g. %s", name, noun, len(args), strings.Join(args, " "), example)
		}
		return nil
	}
}

// completionShells are the shells cobra's completion command writes
// scripts for (its subcommands).
func completionShells(completion *cobra.Command) []string {
	var shells []string
	for _, c := range completion.Commands() {
		shells = append(shells, c.Name())
	}
	sort.Strings(shells)
	return shells
}

// fixCompletionCmd adds cobra's completion command now (cobra would add
// it when the command line runs) and makes an unknown shell an error that
// names the supported ones: left alone, `pipe completion tcsh` printed the
// help and exited 0.
func fixCompletionCmd(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unsupported shell %q: pipe completion writes scripts for %s, e.g. pipe completion bash",
					args[0], strings.Join(completionShells(cmd), ", "))
			}
			return nil
		}
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
}

// wrapArgs makes argument validation errors usage errors, recursively.
func wrapArgs(c *cobra.Command) {
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				if !cmd.HasSubCommands() && len(a) > 0 && strings.HasPrefix(err.Error(), "unknown command") {
					// cobra.NoArgs on a leaf command: "unknown command" would
					// send the reader looking for a subcommand
					err = fmt.Errorf("%s takes no arguments (got %q)", cmd.CommandPath(), a[0])
				}
				return usageError(err)
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapArgs(sub)
	}
}

// newLogger builds the slog logger for --log-level and --log-format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	switch format {
	case "auto":
		if f, ok := w.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
			format = "text"
		} else {
			format = "json"
		}
	case "text", "json":
	default:
		return nil, fmt.Errorf("--log-format %q: want auto, text or json", format)
	}
	if format == "text" {
		noColor := true
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			noColor = os.Getenv("NO_COLOR") != ""
		}
		return slog.New(tint.NewHandler(w, &tint.Options{Level: lv, NoColor: noColor})), nil
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv})), nil
}

// Main runs the command line and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := &App{Stdout: stdout, Stderr: stderr}
	root := newRoot(app)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	code := ExitFailure
	var exitErr *ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.Code
		err = exitErr.Err
	case app.Logger == nil || isCobraUsage(err):
		// cobra refused the command line before any command ran
		code = ExitUsage
	}
	if err != nil {
		var cfgErrs config.Errors
		isCfg := errors.As(err, &cfgErrs)
		if isCfg {
			fmt.Fprintln(stderr, cfgErrs.Error())
		} else {
			fmt.Fprintf(stderr, "pipe: %v\n", err)
		}
		// the command line was fine when the configuration is what is wrong:
		// its errors already say where and what to do
		// nor when a pipeline name is unknown: the message lists the names
		var unknown *unknownPipelineError
		if code == ExitUsage && cmd != nil && !isCfg && !errors.As(err, &unknown) {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	}
	return code
}

func isCobraUsage(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag") || strings.HasPrefix(msg, "required flag(s)")
}
