// Package state defines the state store: runs, the per-record audit trail,
// links (the ledger), cursors, rejects, conflicts, create intents and
// pipeline locks.
//
// Two implementations share this interface and one conformance suite
// (package state/statetest): state/sqlitestore (embedded default, pure Go)
// and state/pgstore (PostgreSQL through pgx, for production and for several
// processes sharing one store).
package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kelompok/pipe/connectors"
)

// ErrLocked is returned by Lock when another holder has the pipeline.
var ErrLocked = errors.New("pipeline is already running")

// LockedError is the error Lock returns while another holder has the
// pipeline; errors.Is(err, ErrLocked) holds for it.
type LockedError struct {
	Pipeline string
	// Holder is the holding owner's name ("" when it could not be read).
	Holder string
	// Until is when the lock lapses unless its holder refreshes it.
	Until time.Time
}

func (e *LockedError) Error() string {
	if e.Holder == "" {
		return fmt.Sprintf("pipeline %q is already running in another process", e.Pipeline)
	}
	return fmt.Sprintf("pipeline %q is already running (its lock is held by %q until %s unless refreshed)",
		e.Pipeline, e.Holder, e.Until.UTC().Format(time.RFC3339))
}

// Unwrap makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Unwrap() error { return ErrLocked }

// ErrNotFound is returned when a run, conflict or reject does not exist.
var ErrNotFound = errors.New("not found")

// ErrAlreadyResolved is returned by ConflictResolve for a conflict that
// already has a decision.
var ErrAlreadyResolved = errors.New("conflict is already resolved")

// ErrLockLost is returned by a lock's release function when the lock had
// lapsed (not refreshed within its ttl) and another holder took it over.
var ErrLockLost = errors.New("pipeline lock was lost to another holder")

// Conflict resolutions (the side whose values win).
const (
	TakeSource = "source"
	TakeSink   = "sink"
	// Superseded is the resolution of a conflict a run closed without
	// applying a manual decision (see Batch.ConflictsSuperseded).
	Superseded = "superseded"
)

// Run statuses.
const (
	RunRunning   = "running"
	RunSucceeded = "succeeded" // every record succeeded
	RunPartial   = "partial"   // finished, some records rejected or failed
	RunFailed    = "failed"    // stopped by an error
)

// Counts are a run's per-action totals.
type Counts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Deleted   int `json:"deleted"`
	Linked    int `json:"linked"`
	Skipped   int `json:"skipped"`
	Conflicts int `json:"conflicts"`
	Rejected  int `json:"rejected"`
	Failed    int `json:"failed"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Created += o.Created
	c.Updated += o.Updated
	c.Deleted += o.Deleted
	c.Linked += o.Linked
	c.Skipped += o.Skipped
	c.Conflicts += o.Conflicts
	c.Rejected += o.Rejected
	c.Failed += o.Failed
}

// Run is one execution of one pipeline.
type Run struct {
	ID       int64  `json:"id"`
	Pipeline string `json:"pipeline"`
	Trigger  string `json:"trigger"` // cli, schedule, webhook, api
	DryRun   bool   `json:"dryRun"`
	// Full and Limit are the run's --full and --limit (0: no limit), so
	// that the run can be told apart and repeated.
	Full       bool       `json:"full"`
	Limit      int        `json:"limit,omitempty"`
	StartedAt  time.Time  `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	Status     string     `json:"status"`
	Counts     Counts     `json:"counts"`
	Error      string     `json:"error,omitempty"`
}

// Audit actions.
const (
	ActionCreate   = "create"
	ActionUpdate   = "update"
	ActionDelete   = "delete"
	ActionLink     = "link"
	ActionSkip     = "skip"
	ActionConflict = "conflict"
	ActionReject   = "reject"
	ActionFail     = "fail"
)

// FieldChange is one field of a diff. Values never include sensitive fields.
type FieldChange struct {
	Field string `json:"field"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
}

// AuditEntry is one record decision of a run.
type AuditEntry struct {
	RunID     int64         `json:"runId"`
	Seq       int64         `json:"seq"` // order within the run, set by the store
	At        time.Time     `json:"at"`
	SourceKey string        `json:"sourceKey,omitempty"`
	SinkKey   string        `json:"sinkKey,omitempty"`
	Direction string        `json:"direction,omitempty"` // push or pull
	Action    string        `json:"action"`
	Diff      []FieldChange `json:"diff,omitempty"`
	Reason    string        `json:"reason,omitempty"`
}

// Link pairs one source record with one sink record and remembers what was
// last synced between them.
type Link struct {
	Pipeline  string `json:"pipeline"`
	SourceKey string `json:"sourceKey"`
	SinkKey   string `json:"sinkKey"`
	// Base is the last synced snapshot of the compared fields (JSON object).
	Base map[string]any `json:"base"`
	// SourceHash and SinkHash are content hashes of what each side held
	// after the last sync: a change whose hash equals them is our own echo.
	SourceHash string    `json:"sourceHash"`
	SinkHash   string    `json:"sinkHash"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// Intent is a create about to be written with a deterministic id. It is
// stored before the write and removed when its link is committed, so a
// crash in between leaves the evidence a rerun needs.
type Intent struct {
	Pipeline  string    `json:"pipeline"`
	Side      string    `json:"side"` // side written to: source or sink
	Key       string    `json:"key"`  // key of the record that caused the create
	TargetID  string    `json:"targetId"`
	CreatedAt time.Time `json:"createdAt"`
}

// Unlinked is a live record whose partner was deleted while the pipeline
// left it alone (delete policy ignore, or a side the pipeline does not
// write): the link was removed and nothing was written. The engine does not
// create a partner for the record again until its content changes (Hash),
// so reading it again (a --full run, the cursor's look-back window) does not
// undo the delete.
type Unlinked struct {
	Pipeline string `json:"pipeline"`
	Side     string `json:"side"` // side of the live record: source or sink
	Key      string `json:"key"`
	// PartnerKey is the key the deleted partner had on the other side.
	PartnerKey string `json:"partnerKey"`
	// UpdatedAt is the live record's updatedAt when the link was removed,
	// kept exactly (as cursor positions are).
	UpdatedAt time.Time `json:"updatedAt"`
	// Hash is a hash of what the pipeline compares of the record then
	// (set by the engine): the record has changed when that differs,
	// whatever its updatedAt says.
	Hash string `json:"hash"`
	// At is when the link was removed (set by the store when zero).
	At time.Time `json:"at"`
}

// Reject is a record refused by mapping or by the other side, retried on
// later runs until it succeeds.
type Reject struct {
	ID        int64     `json:"id"`
	Pipeline  string    `json:"pipeline"`
	Side      string    `json:"side"` // side the record was read from
	Key       string    `json:"key"`
	Reason    string    `json:"reason"`
	Retries   int       `json:"retries"`
	FirstAt   time.Time `json:"firstAt"`
	LastAt    time.Time `json:"lastAt"`
	LastRunID int64     `json:"lastRunId"`
}

// Conflict is a linked pair held for a manual decision.
type Conflict struct {
	ID        int64          `json:"id"`
	Pipeline  string         `json:"pipeline"`
	SourceKey string         `json:"sourceKey"`
	SinkKey   string         `json:"sinkKey"`
	Fields    []string       `json:"fields"`
	Source    map[string]any `json:"source"` // compared values from the source
	Sink      map[string]any `json:"sink"`   // compared values from the sink
	CreatedAt time.Time      `json:"createdAt"`
	// Resolution is "" while open, then "source" or "sink" (a manual
	// decision), or "superseded" (closed by a run, see
	// Batch.ConflictsSuperseded).
	Resolution string     `json:"resolution,omitempty"`
	ResolvedAt *time.Time `json:"resolvedAt,omitempty"`
	// AppliedAt is set when a run has applied the resolution (see
	// Batch.ConflictsApplied). A resolved conflict with no AppliedAt is
	// waiting for the pipeline's next run.
	AppliedAt *time.Time `json:"appliedAt,omitempty"`
}

// Batch is everything one applied batch changes in the store, committed in
// one transaction.
type Batch struct {
	Pipeline string
	RunID    int64
	// Links to insert or replace (by pipeline+source key).
	Links []Link
	// Unlink removes links by source key (after a delete went through).
	Unlink []string
	// Unlinked records live records left alone when their partner was
	// deleted (insert, or replace the one with the same pipeline, side and
	// key); UnlinkedCleared removes them by (side, key) once such a record
	// changed and is synced again. UnlinkedCleared is processed first.
	Unlinked        []Unlinked
	UnlinkedCleared []Unlinked
	Audit           []AuditEntry
	// Cursors to move, by side; absent sides keep theirs.
	Cursors map[string]connectors.Position
	// IntentsDone removes intents by (side, key).
	IntentsDone []Intent
	// Rejects to record (insert, or bump Retries on an existing one with the
	// same pipeline, side and key); RejectsCleared removes them by
	// (side, key) after the record succeeded.
	Rejects        []Reject
	RejectsCleared []Reject
	// Conflicts to open (one open conflict per source key at most: opening
	// one for a source key that has an open conflict replaces its fields
	// and values).
	Conflicts []Conflict
	// ConflictsApplied marks resolved conflicts, by ID, as applied.
	ConflictsApplied []int64
	// ConflictsSuperseded closes conflicts, by ID, that a run decided
	// without applying a manual decision: an open one whose pair the sides
	// settled (they came to agree), or a resolved one that had gone stale
	// (the pair changed after the values it was decided on). Their
	// Resolution becomes Superseded and AppliedAt is set (ResolvedAt too,
	// when unset). Conflicts already applied (or superseded), and unknown
	// IDs, are left alone. They are processed after Conflicts.
	ConflictsSuperseded []int64
}

// DefaultRunLimit is the number of runs RunList returns when
// RunListParams.Limit is 0.
const DefaultRunLimit = 50

// RunListParams filters RunList.
type RunListParams struct {
	Pipeline string // "" for all
	Limit    int    // 0 for DefaultRunLimit
}

// Store keeps pipe's durable state. Implementations are safe for concurrent
// use.
//
// Times are stored with microsecond precision and returned in UTC, except
// cursor positions, which are kept exactly. JSON-like values (Link.Base,
// FieldChange values, Conflict values) come back as encoding/json decodes
// them: numbers as float64, objects as map[string]any.
type Store interface {
	// Migrate applies pending migrations. Idempotent.
	Migrate(ctx context.Context) error
	Close() error

	// Lock takes the pipeline's run lock for owner, failing with ErrLocked
	// (wrapped, naming the holder) while another live holder has it, even
	// one with the same owner name. The store refreshes a held lock in the
	// background every ttl/3; a lock whose holder has not refreshed it
	// within ttl (a crashed process) is taken over. The returned function
	// releases it (ErrLockLost if it had been taken over); Close stops the
	// refreshing without releasing, as a crash would.
	Lock(ctx context.Context, pipeline, owner string, ttl time.Duration) (release func(context.Context) error, err error)
	// LockBreak removes the pipeline's lock if holder holds it, for a
	// caller that knows the holder is dead (a process of this host that no
	// longer exists) and so need not wait for the lock to lapse. It reports
	// whether a lock was removed.
	LockBreak(ctx context.Context, pipeline, holder string) (bool, error)

	RunCreate(ctx context.Context, run Run) (int64, error)
	// RunFinish sets the run's end time, status, counts and error.
	RunFinish(ctx context.Context, run Run) error
	RunGet(ctx context.Context, id int64) (Run, error)
	RunList(ctx context.Context, params RunListParams) ([]Run, error)
	// AuditList returns a run's audit entries in Seq order.
	AuditList(ctx context.Context, runID int64) ([]AuditEntry, error)

	// LinksBySource and LinksBySink return the links of the given keys,
	// keyed by the key asked for.
	LinksBySource(ctx context.Context, pipeline string, keys []string) (map[string]Link, error)
	LinksBySink(ctx context.Context, pipeline string, keys []string) (map[string]Link, error)
	// Unlinked returns the pipeline's Unlinked records of side with the
	// given keys, keyed by key.
	Unlinked(ctx context.Context, pipeline, side string, keys []string) (map[string]Unlinked, error)
	// UnlinkedAny reports whether the pipeline has any Unlinked record (a
	// run with none skips the lookups).
	UnlinkedAny(ctx context.Context, pipeline string) (bool, error)
	// LinkCount counts a pipeline's links (for the delete guard).
	LinkCount(ctx context.Context, pipeline string) (int, error)
	// LinkScan calls fn for every link of the pipeline, in source key order.
	LinkScan(ctx context.Context, pipeline string, fn func(Link) error) error

	// Cursor returns the pipeline's position on side (zero if none).
	Cursor(ctx context.Context, pipeline, side string) (connectors.Position, error)
	// CursorReset forgets the pipeline's cursors (a --full run).
	CursorReset(ctx context.Context, pipeline string) error

	// IntentsAdd records creates before they are written.
	IntentsAdd(ctx context.Context, intents []Intent) error
	// Intents lists the pipeline's pending intents.
	Intents(ctx context.Context, pipeline string) ([]Intent, error)

	// Commit applies a batch atomically.
	Commit(ctx context.Context, b Batch) error

	// Rejects lists open rejects ("" pipeline for all).
	Rejects(ctx context.Context, pipeline string) ([]Reject, error)
	// Conflicts lists conflicts; open only unless all is set.
	Conflicts(ctx context.Context, pipeline string, all bool) ([]Conflict, error)
	ConflictGet(ctx context.Context, id int64) (Conflict, error)
	// ConflictResolve records the decision (TakeSource or TakeSink); the
	// next run of the pipeline applies it. ErrNotFound for an unknown id,
	// ErrAlreadyResolved for a decided one.
	ConflictResolve(ctx context.Context, id int64, take string) error
}
