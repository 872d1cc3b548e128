// Package config is the typed form of a pipe configuration directory: the
// user's pipelines/*.cue unified with the embedded schemas (package schemas),
// validated, with every expression compiled.
//
// Load reads a directory; every problem it finds is reported together, each
// with its file:line:col, and no partial config is returned.
package config

import (
	"encoding/json"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/kelompok/pipe/engine/secrets"
)

// Pos is a position in a config file. Line and Column are 1-based.
type Pos struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

// Config is a whole configuration directory.
type Config struct {
	// Dir is the absolute path of the directory that was loaded.
	Dir         string                 `json:"dir"`
	State       State                  `json:"state"`
	Server      Server                 `json:"server"`
	Connections map[string]*Connection `json:"connections"`
	Pipelines   map[string]*Pipeline   `json:"pipelines"`
}

// State says where runs, links, cursors and the audit trail are kept.
type State struct {
	// Kind is "sqlite" (default) or "postgres".
	Kind string `json:"kind"`
	// Path is the SQLite file, relative paths taken from the config
	// directory. Defaults to ".pipe/state.db".
	Path string `json:"path,omitempty"`
	// URL is the PostgreSQL connection string, as a secret reference.
	URL *secrets.Ref `json:"url,omitempty"`
}

// Server configures `pipe serve`.
type Server struct {
	// Addr is the listen address. Defaults to "127.0.0.1:8484".
	Addr string `json:"addr"`
	// AdminToken guards the admin API.
	AdminToken *secrets.Ref `json:"adminToken,omitempty"`
}

// Connection is a configured instance of a connector.
type Connection struct {
	Name string `json:"name"`
	// Kind is the connector kind: twenty, postgres, sqlite, file, exec, memory.
	Kind string `json:"kind"`
	// Params is the connection's whole config object as JSON-like data, for
	// the connector to decode, schema defaults applied. Integers are int64,
	// other numbers float64, lists []any, structs map[string]any. Secret
	// fields are present as references (map with one of vault/env/file),
	// never values.
	Params map[string]any `json:"params"`
	// Streams are the streams the config declares for this connection, with
	// the type of each field, used to type-check expressions. For Twenty
	// connections they come from the built-in catalog plus declared custom
	// fields.
	Streams map[string]*Stream `json:"streams"`
	Pos     Pos                `json:"-"`
}

// Stream is one object or table, as far as the config knows it.
type Stream struct {
	Name string `json:"name"`
	// Fields maps field names to types: "string", "number", "int",
	// "bool", "time", "list", "object", or a nested object for composites.
	// It is the typed environment expressions over this stream compile
	// against.
	Fields map[string]any `json:"fields"`
}

// StreamRef is "connection.stream".
type StreamRef struct {
	Connection string `json:"connection"`
	Stream     string `json:"stream"`
}

// String returns "connection.stream".
func (r StreamRef) String() string { return r.Connection + "." + r.Stream }

// Direction of a pipeline.
const (
	Push = "push" // source -> sink
	Pull = "pull" // sink -> source
	Both = "both"
)

// Sides of a pipeline.
const (
	SideSource = "source"
	SideSink   = "sink"
)

// Pipeline links two streams.
type Pipeline struct {
	Name      string    `json:"name"`
	Source    StreamRef `json:"source"`
	Sink      StreamRef `json:"sink"`
	Direction string    `json:"direction"`
	DependsOn []string  `json:"dependsOn,omitempty"`
	// Match are the identity rules used to pair records that have no link
	// yet, tried in order; the first rule that yields exactly one candidate
	// wins, more than one candidate is an ambiguity (reported, not guessed).
	// Only live records are candidates: a deleted one is never matched.
	Match []MatchRule `json:"match"`
	// Push maps a source record to sink fields (nil unless the direction
	// is push or both); Pull maps a sink record to source fields.
	Push *Mapping `json:"push,omitempty"`
	Pull *Mapping `json:"pull,omitempty"`
	// Filter keeps only the records for which the expression is true, per
	// side ("" keeps all).
	Filter   Filter   `json:"filter"`
	Conflict Conflict `json:"conflict"`
	Delete   Delete   `json:"delete"`
	Trigger  Trigger  `json:"trigger"`
	// LookBack is how far before each side's cursor a run starts reading
	// again (0: from the cursor), for changes stamped earlier than changes
	// already read (transactions that commit late, writers' clocks).
	LookBack time.Duration `json:"lookBack"`
	// BatchSize is the number of records planned and applied together.
	BatchSize int `json:"batchSize"`
	// Concurrency is the number of workers mapping records.
	Concurrency int `json:"concurrency"`
	// Sensitive lists fields (of either side) that are never mapped out,
	// logged, audited or shown.
	Sensitive []string `json:"sensitive,omitempty"`
	// Unresolved says what to do when ref() finds no link: "wait" (skip the
	// record, retry next run) or "reject".
	Unresolved string `json:"unresolved"`
	Tests      []Test `json:"tests,omitempty"`
	Pos        Pos    `json:"-"`
}

// MatchRule pairs a source field with a sink field, compared after the
// named normalizer ("" compares as is).
type MatchRule struct {
	Source    string `json:"source"`
	Sink      string `json:"sink"`
	Normalize string `json:"normalize,omitempty"`
}

// Mapping is the field mapping of one direction.
type Mapping struct {
	// Fields in declaration order, by target path.
	Fields []FieldMapping `json:"fields"`
}

// FieldMapping computes one target field.
type FieldMapping struct {
	// Target is the dotted path of the field written on the other side.
	Target string `json:"target"`
	// Expr is the expr-lang expression over the record being mapped.
	Expr string `json:"expr"`
	// When, if set, is a boolean expression; when false the field is left
	// out of the mapped record.
	When string `json:"when,omitempty"`
	// Program and WhenProgram are Expr and When compiled at load time.
	Program     *vm.Program `json:"-"`
	WhenProgram *vm.Program `json:"-"`
	Pos         Pos         `json:"-"`
}

// Filter holds a boolean expression per side.
type Filter struct {
	Source        string      `json:"source,omitempty"`
	Sink          string      `json:"sink,omitempty"`
	SourceProgram *vm.Program `json:"-"`
	SinkProgram   *vm.Program `json:"-"`
}

// Conflict policies.
const (
	ConflictSourceOfTruth = "source_of_truth"
	ConflictNewest        = "newest"
	ConflictMerge         = "merge"
	ConflictManual        = "manual"
)

// Conflict says who wins when both sides changed a field since the last sync.
type Conflict struct {
	// Policy is one of the Conflict* constants.
	Policy string `json:"policy"`
	// Side wins under source_of_truth: "source" or "sink".
	Side string `json:"side,omitempty"`
	// Fallback is the policy for fields changed on both sides under merge:
	// "source", "sink", "newest" or "manual" ("" is "manual", as in the
	// schema).
	Fallback string `json:"fallback,omitempty"`
	// Owner maps a field path (of the compared side, see docs) to the side
	// that always wins it: "source" or "sink". A composite field's path
	// stands for all its parts.
	Owner map[string]string `json:"owner,omitempty"`
}

// Delete policies.
const (
	DeleteIgnore    = "ignore"
	DeleteSoft      = "soft"
	DeletePropagate = "propagate"
)

// Delete says what a delete on one side does to the other.
type Delete struct {
	Policy string `json:"policy"`
	// MaxCount stops a run's deletes when it would delete more records
	// than this (0: no count limit).
	MaxCount int `json:"maxCount"`
	// MaxFraction stops a run's deletes when they exceed this fraction of
	// the linked records (0: no fraction limit).
	MaxFraction float64 `json:"maxFraction"`
}

// Trigger says when a pipeline runs besides on demand.
type Trigger struct {
	// Schedule is the polling interval (0: no schedule).
	Schedule time.Duration `json:"schedule,omitempty"`
	// Webhook is true when webhook events for the sink start a run.
	Webhook bool `json:"webhook,omitempty"`
}

// MarshalJSON writes LookBack as a duration string ("1m0s", "0s"), as
// the configuration gives it.
func (p Pipeline) MarshalJSON() ([]byte, error) {
	type plain Pipeline // without this method
	return json.Marshal(struct {
		plain
		LookBack string `json:"lookBack"`
	}{plain(p), p.LookBack.String()})
}

// MarshalJSON writes Schedule as a duration string ("15m0s").
func (t Trigger) MarshalJSON() ([]byte, error) {
	var v struct {
		Schedule string `json:"schedule,omitempty"`
		Webhook  bool   `json:"webhook,omitempty"`
	}
	if t.Schedule > 0 {
		v.Schedule = t.Schedule.String()
	}
	v.Webhook = t.Webhook
	return json.Marshal(v)
}

// Test is a config unit test declared next to a pipeline.
type Test struct {
	Name string `json:"name"`
	// Direction is "push" (Input is a source record) or "pull".
	Direction string         `json:"direction"`
	Input     map[string]any `json:"input"`
	// Expect is the expected mapped output (compared on the keys given);
	// Reject, if set, is a substring of the expected rejection reason.
	Expect map[string]any `json:"expect,omitempty"`
	Reject string         `json:"reject,omitempty"`
	Pos    Pos            `json:"-"`
}
