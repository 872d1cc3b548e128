package main

// One wording for a pipeline name that names no pipeline, whichever
// command is given it: an argument of run, show or test, or the --pipeline
// filter of runs, rejects and conflicts.

import (
	"context"
	"fmt"
	"strings"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/engine/state"
)

// unknownPipelineError is a name that names no pipeline. Its message lists
// the names there are, so Main adds no "--help" hint to it.
type unknownPipelineError struct{ msg string }

func (e *unknownPipelineError) Error() string { return e.msg }

// unknownPipeline is the usage error (exit 2) for a name cfg has no
// pipeline of, worded as the engine words it for `pipe run NAME`
// (engine.RunParams.Pipelines): unknown pipeline "x": the configured ones
// are a, b, c.
func unknownPipeline(name string, cfg *config.Config) error {
	return usageError(&unknownPipelineError{fmt.Sprintf("unknown pipeline %q: %s", name, configuredPipelines(cfg))})
}

// configuredPipelines lists cfg's pipelines for an unknown-pipeline error.
func configuredPipelines(cfg *config.Config) string {
	names := cfg.PipelineNames()
	if len(names) == 0 {
		return "the configuration has no pipelines"
	}
	return "the configured ones are " + strings.Join(names, ", ")
}

// checkPipelines answers unknownPipeline for the first of names that is
// not a pipeline of cfg.
func checkPipelines(cfg *config.Config, names []string) error {
	for _, n := range names {
		if _, ok := cfg.Pipelines[n]; !ok {
			return unknownPipeline(n, cfg)
		}
	}
	return nil
}

// checkHistoryPipeline checks the --pipeline filter of a history command
// (runs, rejects, conflicts): a pipeline of the configuration, or one the
// state store has runs of (a pipeline since removed or renamed, whose
// history is still there). Anything else is an unknownPipelineError. cfg
// is nil when the configuration did not load (openHistory): then the
// store alone can tell.
func checkHistoryPipeline(ctx context.Context, cfg *config.Config, st state.Store, name string) error {
	if name == "" {
		return nil
	}
	if cfg != nil {
		if _, ok := cfg.Pipelines[name]; ok {
			return nil
		}
	}
	runs, err := st.RunList(ctx, state.RunListParams{Pipeline: name, Limit: 1})
	if err != nil {
		return fmt.Errorf("listing the runs of %q: %w", name, err)
	}
	if len(runs) > 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown pipeline %q: the state store has no runs of it, and the configuration, which has errors, cannot say which pipelines there are", name)
	if cfg != nil {
		msg = fmt.Sprintf("unknown pipeline %q: %s, and the state store has no runs of it", name, configuredPipelines(cfg))
	}
	return usageError(&unknownPipelineError{msg})
}
