package engine

import (
	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/state"
)

// Decision is one entry of a plan: what the engine does (or, in a dry run,
// would do) with one record pair, and why.
type Decision struct {
	// Action is one of the state.Action* constants: create, update, delete,
	// link, skip, conflict, reject, fail.
	Action string `json:"action"`
	// Direction is "push" for a write to the sink, "pull" for a write to the
	// source, "" when nothing is written.
	Direction string `json:"direction,omitempty"`
	SourceKey string `json:"sourceKey,omitempty"`
	SinkKey   string `json:"sinkKey,omitempty"`
	// Diff lists the fields written, with the old and new values; sensitive
	// fields never appear.
	Diff   []state.FieldChange `json:"diff,omitempty"`
	Reason string              `json:"reason"`
}

// Mapper evaluates one direction's mapping on a record: the result holds
// the mapped values as nested maps by target path. A returned error rejects
// that record (its text is the reason). A Mapper is used by one worker at a
// time.
type Mapper interface {
	Map(rec connectors.Record) (map[string]any, error)
}

// Filter tells whether a record takes part in a pipeline.
type Filter interface {
	Keep(rec connectors.Record) (bool, error)
}

// MapperFactory builds evaluators for a pipeline: a Mapper for a direction's
// mapping, a Filter for a side's filter expression (nil when the pipeline
// has none), and the normalizer an identity rule names (nil for "": values
// compare as they are). The engine asks for one Mapper and Filter set per
// worker.
type MapperFactory interface {
	Mapper(p *config.Pipeline, m *config.Mapping) (Mapper, error)
	Filter(p *config.Pipeline, side string) (Filter, error)
	Normalizer(name string) (func(string) (string, error), error)
}
