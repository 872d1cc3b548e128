// Package connectors defines what a connector is and keeps the registry of
// connectors by kind ("twenty", "postgres", "sqlite", "file", "exec", "memory").
//
// The engine only ever talks to the interfaces in this package; it never
// imports a connector package. A connector package registers itself in its
// init function, like a database/sql driver:
//
//	func init() { connectors.Register("twenty", Open) }
//
// and a program links the connectors it wants with blank imports (see package
// connectors/all).
package connectors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/kelompok/pipe/engine/secrets"
)

// Record is one row or object of a stream.
//
// Fields holds JSON-like values: string, float64, int64, bool, nil,
// time.Time, []any and map[string]any. Composite values (Twenty's
// name.firstName) stay nested; mappings address them by dotted path.
// A NULL is a present key with a nil value, distinct from an absent key and
// from an empty string.
type Record struct {
	// ID is the record's key on its own side (a UUID for Twenty, the key
	// column's value, as text, for SQL).
	ID string
	// UpdatedAt is when the record last changed on its side. Reads are
	// ordered by (UpdatedAt, ID).
	UpdatedAt time.Time
	// Deleted is true for a soft-deleted record (deletedAt set).
	Deleted bool
	// Fields are the record's values by field name.
	Fields map[string]any
}

// Position is a place in a stream's change order: every record whose
// (UpdatedAt, ID) sorts after it. The zero Position is the beginning.
type Position struct {
	UpdatedAt time.Time `json:"updatedAt"`
	ID        string    `json:"id"`
}

// IsZero reports whether p is the beginning of the stream.
func (p Position) IsZero() bool { return p.UpdatedAt.IsZero() && p.ID == "" }

// Before reports whether p sorts strictly before q.
func (p Position) Before(q Position) bool {
	if !p.UpdatedAt.Equal(q.UpdatedAt) {
		return p.UpdatedAt.Before(q.UpdatedAt)
	}
	return p.ID < q.ID
}

// PositionOf returns the position of r in its stream's change order.
func PositionOf(r Record) Position { return Position{UpdatedAt: r.UpdatedAt, ID: r.ID} }

// ReadRequest asks a stream for one page of changes.
type ReadRequest struct {
	// After is the exclusive lower bound: only records whose (UpdatedAt, ID)
	// sorts after it are returned. The zero value reads from the start.
	After Position
	// Limit is the page size wanted; a stream may return fewer.
	Limit int
	// IncludeDeleted asks for soft-deleted records too (with Deleted set).
	IncludeDeleted bool
}

// Page is one page of changes, in (UpdatedAt, ID) order.
type Page struct {
	Records []Record
	// More is true when another page may follow the last record.
	More bool
}

// Op is what a Change does.
type Op string

// The operations a stream applies.
const (
	OpCreate  Op = "create"
	OpUpdate  Op = "update"
	OpDelete  Op = "delete"  // soft delete where the stream supports it
	OpDestroy Op = "destroy" // hard delete
	OpRestore Op = "restore" // undo a soft delete, then apply Fields if any
)

// Change is one write to a stream.
type Change struct {
	Op Op
	// ID is the record's key. For OpCreate it is the deterministic id the
	// engine proposes; a stream that cannot honour client ids returns the key
	// it assigned in Result.ID.
	ID string
	// Fields are the values to write: every mapped field for a create, only
	// the changed ones for an update. Nested maps for composite fields.
	Fields map[string]any
}

// Result is the outcome of one Change, in the same order as the changes.
type Result struct {
	// ID is the key of the written record (for creates, the one assigned).
	ID string
	// Record is the record as stored after the write, when the stream
	// returns it (Twenty does); nil otherwise.
	Record *Record
	// Err is nil on success. A *RecordError means this record was refused
	// and the others are unaffected; any other error is transient (the
	// engine may retry the record on a later run).
	Err error
}

// Stream is one object or table of a connection.
type Stream interface {
	// Read returns one page of records changed after req.After.
	Read(ctx context.Context, req ReadRequest) (Page, error)
	// Get returns the records with the given keys, soft-deleted ones
	// included; missing keys are simply absent from the result.
	Get(ctx context.Context, ids []string) ([]Record, error)
	// Find returns the records whose field (a dotted path) equals one of
	// values, soft-deleted ones included. Used by identity matching.
	Find(ctx context.Context, field string, values []string) ([]Record, error)
	// Write applies changes and reports one Result per change, in order. A
	// returned error means the whole call failed (auth, connection) and no
	// Result can be trusted.
	Write(ctx context.Context, changes []Change) ([]Result, error)
}

// Connection is a configured instance of a connector. It is safe for
// concurrent use by several pipelines.
type Connection interface {
	// Stream opens the named stream. Its configuration, if the connector
	// takes any per stream, came with the connection's config.
	Stream(ctx context.Context, name string) (Stream, error)
	// Close releases the connection's resources.
	Close() error
}

// Capabilities are optional facts a Connection can report through the
// Describer interface.
type Capabilities struct {
	// ClientIDs is true when creates keep the id the engine proposes.
	ClientIDs bool
	// SoftDelete is true when OpDelete keeps the record (deletedAt).
	SoftDelete bool
}

// Describer is implemented by connections that report capabilities.
type Describer interface {
	Capabilities() Capabilities
}

// OpenParams is what a Factory receives.
type OpenParams struct {
	// Name is the connection's name in the config (e.g. "twenty").
	Name string
	// Config is the connection's config as decoded from CUE, JSON-like.
	Config map[string]any
	// Secrets resolves #Secret references in Config.
	Secrets secrets.Resolver
	// Logger is the connection's logger, already carrying its name as the
	// "connection" attribute (connectors do not add it again); never log
	// secret values. Nil means no logging.
	Logger *slog.Logger
	// Dir is the configuration directory; relative paths in Config (an
	// SQLite file, an NDJSON directory, a plugin command) are taken from
	// it. Empty means the current directory.
	Dir string
}

// Path resolves a path from a connection's config: absolute paths are kept,
// relative ones are joined to p.Dir.
func (p OpenParams) Path(name string) string {
	if name == "" || filepath.IsAbs(name) || p.Dir == "" {
		return name
	}
	return filepath.Join(p.Dir, name)
}

// Factory opens a Connection from its config.
type Factory func(ctx context.Context, params OpenParams) (Connection, error)

// RecordError is a refusal of one record by a stream (a 400 for that record,
// a constraint violation). The engine stores it as a reject with its reason
// and goes on with the other records.
type RecordError struct {
	// Reason is the stream's explanation, safe to store and show.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

func (e *RecordError) Error() string { return e.Reason }
func (e *RecordError) Unwrap() error { return e.Err }

// IsRecordError reports whether err refuses one record only.
func IsRecordError(err error) bool {
	var re *RecordError
	return errors.As(err, &re)
}

// ErrNotFound is returned (wrapped) for a write to a record that no longer
// exists on its side.
var ErrNotFound = errors.New("record not found")

// Registry maps connector kinds to factories. The zero value is empty and
// ready to use; tests build their own registries, programs use Default.
type Registry struct {
	mu        sync.RWMutex
	factories map[string]Factory
}

// Default is the registry that connector packages register into from init.
var Default = &Registry{}

// Register adds a connector kind to the Default registry. It panics when the
// kind is already registered, as database/sql.Register does.
func Register(kind string, f Factory) { Default.Register(kind, f) }

// Register adds a connector kind. It panics on a duplicate kind.
func (r *Registry) Register(kind string, f Factory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.factories == nil {
		r.factories = map[string]Factory{}
	}
	if _, dup := r.factories[kind]; dup {
		panic(fmt.Sprintf("connectors: kind %q registered twice", kind))
	}
	r.factories[kind] = f
}

// Open opens a connection of the given kind.
func (r *Registry) Open(ctx context.Context, kind string, params OpenParams) (Connection, error) {
	r.mu.RLock()
	f, ok := r.factories[kind]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("connection %q: unknown connector kind %q (known: %v)", params.Name, kind, r.Kinds())
	}
	c, err := f(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("connection %q (%s): %w", params.Name, kind, err)
	}
	return c, nil
}

// Kinds lists the registered kinds, sorted.
func (r *Registry) Kinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	kinds := make([]string, 0, len(r.factories))
	for k := range r.factories {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}
