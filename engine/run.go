package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/sourcegraph/conc/iter"
	"github.com/sourcegraph/conc/panics"
	"github.com/sourcegraph/conc/stream"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/mapping"
	"github.com/kelompok/pipe/engine/state"
)

// Defaults for pipelines that leave them unset.
const (
	DefaultBatchSize   = 500
	DefaultConcurrency = 2
)

// idNamespace is the UUIDv5 namespace of the deterministic create ids.
var idNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/kelompok/pipe/create-id"))

// CreateID is the deterministic id of the record a pipeline creates on side
// for the record key of the other side: UUIDv5 of pipeline + "\x00" + key
// for a create on the sink (the source key), and of pipeline + "\x00pull\x00"
// + key for a create on the source (the sink key). A rerun after a crash
// proposes the same id, so the created record is found and linked.
func CreateID(pipeline, side, key string) string {
	name := pipeline + "\x00" + key
	if side == config.SideSource {
		name = pipeline + "\x00pull\x00" + key
	}
	return uuid.NewSHA1(idNamespace, []byte(name)).String()
}

func sideIdx(side string) int {
	if side == config.SideSink {
		return 1
	}
	return 0
}

func sideName(i int) string {
	if i == 1 {
		return config.SideSink
	}
	return config.SideSource
}

func otherSide(side string) string {
	if side == config.SideSink {
		return config.SideSource
	}
	return config.SideSink
}

// dirOf is the audit direction of a write to side.
func dirOf(side string) string {
	if side == config.SideSink {
		return config.Push
	}
	return config.Pull
}

// worker holds the evaluators one mapping worker uses.
type worker struct {
	fwd, back Mapper
	filters   [2]Filter
}

// runner is one run of one pipeline.
type runner struct {
	e      *Engine
	ctx    context.Context // the run's context, for lookups made while deciding
	p      *config.Pipeline
	params RunParams
	store  state.Store
	runID  int64
	now    func() time.Time

	streams [2]connectors.Stream
	// from is the side mapped into the compared field space (the source
	// for push and both, the sink for pull); to is the other side.
	from, to string
	paths    []string // compared paths: the targets of the from->to mapping
	backPath []string
	workers  chan *worker
	nworkers int
	filtered [2]bool // the side has a filter

	sensitive  map[string]bool
	owner      map[string]string       // conflict.owner by compared path
	rejects    map[string]state.Reject // open rejects by side+"\x00"+key
	refs       refCache                // what explains unresolved refs
	linkCount  int
	counts     state.Counts
	plan       []Decision
	keepPlan   bool
	decided    int
	readLeft   int // records left under --limit (-1: no limit)
	deletes    []*item
	guardError string
	heldDel    int             // deletes stopped by the guard
	held       map[string]bool // source keys of pairs held as conflicts in this run
	// open holds the pipeline's open conflicts as the run found them, by
	// source key (read-only once the run reads changes).
	open map[string]int64
	// openConflicts holds those conflicts whole (read-only, like open).
	openConflicts map[string]state.Conflict
	// closed holds the open conflicts closed in this run, by source key.
	closed map[string]int64
	// seen holds the pairs (by source key) a reading of this both-way run
	// decided (the retry of rejects included); counted those whose
	// decision was counted (not dropped as already decided).
	seen    map[string]bool
	counted map[string]bool
	// unsettled holds the pairs decided in this run whose decision is not
	// committed: refused or failed (both-way runs), or a delete waiting for
	// the end-of-run guard. By source key, to the readKey of the reading
	// that decided it (its reject is kept under that key). Later readings
	// of such a pair in the run are dropped.
	unsettled map[string]string
	retrying  bool // processing rejects and resolved conflicts
	// retried holds the version (UpdatedAt) of each record the retry of
	// rejects and conflicts decided in this run, by side+"\x00"+key: the
	// read of changes that follows skips the same version instead of
	// deciding, counting and auditing it again.
	retried map[string]time.Time
	// behind says the run reads a side from before its stored cursor (a
	// --full run, or the look-back window); stored holds that cursor, which
	// the run then moves only past where it stood.
	behind [2]bool
	stored [2]connectors.Position
	// anyUnlinked says the pipeline may have state.Unlinked records: none
	// when the run started and none recorded since means no lookups.
	anyUnlinked atomic.Bool
	// recovered holds the pairs (by source key) that intents recovery
	// linked in this run: counted there, their reading is counted only
	// when it finds something to write.
	recovered map[string]bool
	// rewind says the stored cursor was in the future (left there by an
	// older version): the run writes it back, whatever it reads.
	rewind [2]bool

	// Keys processed by the latest batches, to tell which prefetched links
	// are stale (see prefetch).
	touchMu      sync.Mutex
	touchSeq     int // batches processed so far
	committedSeq int // batches processed and committed
	touched      []touchedBatch
	pending      *pendingCommit // the latest batch's commit (see commitAsync)
	pendingFor   int            // its batch number
}

func (e *Engine) runPipeline(ctx context.Context, name string, params RunParams) Result {
	start := e.cfg.Now()
	p := e.cfg.Config.Pipelines[name]
	res := Result{Pipeline: name, DryRun: params.DryRun}
	finish := func(err error) Result {
		res.Duration = e.cfg.Now().Sub(start)
		if err != nil {
			res.Status = state.RunFailed
			res.Error = err.Error()
		}
		return res
	}
	release, err := e.cfg.Store.Lock(ctx, name, e.cfg.Owner, e.cfg.LockTTL)
	var locked *state.LockedError
	if errors.As(err, &locked) && deadLocalHolder(locked.Holder) {
		// Killed while it held the lock: no need to wait for it to lapse.
		if ok, berr := e.cfg.Store.LockBreak(ctx, name, locked.Holder); berr == nil && ok {
			e.log.Warn("took over the lock of a run whose process no longer exists", "pipeline", name, "holder", locked.Holder)
			release, err = e.cfg.Store.Lock(ctx, name, e.cfg.Owner, e.cfg.LockTTL)
		}
	}
	if err != nil {
		if errors.As(err, &locked) {
			return finish(fmt.Errorf("%w; try again when it has finished", err))
		}
		if errors.Is(err, state.ErrLocked) {
			return finish(fmt.Errorf("pipeline %q is already running elsewhere (lock held); try again when it has finished: %w", name, err))
		}
		return finish(fmt.Errorf("taking the lock of pipeline %q: %w", name, err))
	}
	defer func() { _ = release(context.WithoutCancel(ctx)) }()
	if err := e.closeAbandoned(ctx, name); err != nil {
		return finish(err)
	}

	run := state.Run{Pipeline: name, Trigger: params.Trigger, DryRun: params.DryRun, Full: params.Full, Limit: params.Limit,
		StartedAt: start.UTC(), Status: state.RunRunning}
	runID, err := e.cfg.Store.RunCreate(ctx, run)
	if err != nil {
		return finish(fmt.Errorf("recording the run of %q in the state store: %w", name, err))
	}
	res.RunID = runID
	run.ID = runID

	r := &runner{e: e, p: p, params: params, store: e.cfg.Store, runID: runID, now: e.cfg.Now,
		keepPlan: params.DryRun || params.KeepPlan, readLeft: -1}
	if params.Limit > 0 {
		r.readLeft = params.Limit
	}
	runErr := r.run(ctx)

	res.Counts = r.counts
	res.Plan = r.plan
	res.DeletesHeld = r.heldDel
	switch {
	case runErr != nil:
		res.Status = state.RunFailed
		res.Error = runErr.Error()
	case r.counts.Rejected > 0 || r.counts.Failed > 0 || r.guardError != "":
		res.Status = state.RunPartial
		res.Error = r.guardError
	default:
		res.Status = state.RunSucceeded
	}
	res.Duration = e.cfg.Now().Sub(start)
	end := e.cfg.Now().UTC()
	run.FinishedAt = &end
	run.Status = res.Status
	run.Counts = res.Counts
	run.Error = res.Error
	if err := e.cfg.Store.RunFinish(context.WithoutCancel(ctx), run); err != nil && runErr == nil {
		res.Status = state.RunFailed
		res.Error = fmt.Sprintf("recording the end of run %d: %v", runID, err)
	}
	if params.Progress != nil {
		params.Progress(Progress{Pipeline: name, Records: r.decided, Counts: r.counts, Done: true})
	}
	e.log.Info("run finished", "pipeline", name, "run", runID, "status", res.Status, "dryRun", params.DryRun,
		"created", r.counts.Created, "updated", r.counts.Updated, "deleted", r.counts.Deleted, "linked", r.counts.Linked,
		"skipped", r.counts.Skipped, "conflicts", r.counts.Conflicts, "rejected", r.counts.Rejected, "failed", r.counts.Failed,
		"duration", res.Duration)
	return res
}

// Abandoned reports whether r is a run that never finished (its process
// stopped) and that a later run closed as failed.
func Abandoned(r state.Run) bool {
	return r.Status == state.RunFailed && r.Error == abandonedRunError
}

// abandonedRunError is the error recorded on a run that never finished.
const abandonedRunError = "abandoned: the process running it stopped before it finished (killed or crashed); " +
	"its committed batches stand, and the next run carried on from them"

// closeAbandoned marks the pipeline's runs still recorded as running as
// failed. With the pipeline's lock held no other run of it is alive, so
// such a run's process died before it could record its end.
func (e *Engine) closeAbandoned(ctx context.Context, pipeline string) error {
	runs, err := e.cfg.Store.RunList(ctx, state.RunListParams{Pipeline: pipeline, Limit: 20})
	if err != nil {
		return fmt.Errorf("listing the runs of %q: %w", pipeline, err)
	}
	for _, run := range runs {
		if run.Status != state.RunRunning || run.FinishedAt != nil {
			continue
		}
		// Its counts and end, as far as its audit trail tells (it holds
		// the committed batches' decisions; unchanged records are not
		// audited, so they are not counted).
		audit, err := e.cfg.Store.AuditList(ctx, run.ID)
		if err != nil {
			return fmt.Errorf("reading the audit of abandoned run %d of %q: %w", run.ID, pipeline, err)
		}
		end := run.StartedAt
		var counts state.Counts
		for _, a := range audit {
			countAction(&counts, a.Action)
			if a.At.After(end) {
				end = a.At
			}
		}
		run.Counts = counts
		run.FinishedAt, run.Status, run.Error = &end, state.RunFailed, abandonedRunError
		if err := e.cfg.Store.RunFinish(ctx, run); err != nil {
			return fmt.Errorf("closing abandoned run %d of %q: %w", run.ID, pipeline, err)
		}
		e.log.Warn("an earlier run never finished; recorded as failed", "pipeline", pipeline, "run", run.ID)
	}
	return nil
}

func (r *runner) batchSize() int {
	if r.p.BatchSize > 0 {
		return r.p.BatchSize
	}
	return DefaultBatchSize
}

// openStream opens a stream through its connection (opened once per
// engine), a connector panic becoming an error.
func (e *Engine) openStream(ctx context.Context, ref config.StreamRef) (connectors.Stream, error) {
	conn, err := e.connection(ctx, ref.Connection)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	var st connectors.Stream
	if rec := panics.Try(func() { st, err = conn.Stream(ctx, ref.Stream) }); rec != nil {
		return nil, fmt.Errorf("opening stream %s: connector panicked: %w", ref, rec.AsError())
	}
	if err != nil {
		return nil, fmt.Errorf("opening stream %s: %w", ref, err)
	}
	return st, nil
}

// setup opens the streams, picks the roles and builds the workers.
func (r *runner) setup(ctx context.Context) error {
	for i, ref := range []config.StreamRef{r.p.Source, r.p.Sink} {
		st, err := r.e.openStream(ctx, ref)
		if err != nil {
			return fmt.Errorf("pipeline %q, %s: %w", r.p.Name, sideName(i), err)
		}
		r.streams[i] = st
	}
	var fwd, back *config.Mapping
	switch r.p.Direction {
	case config.Push, "":
		r.from, r.to, fwd = config.SideSource, config.SideSink, r.p.Push
	case config.Pull:
		r.from, r.to, fwd = config.SideSink, config.SideSource, r.p.Pull
	case config.Both:
		r.from, r.to, fwd, back = config.SideSource, config.SideSink, r.p.Push, r.p.Pull
		if back == nil {
			return fmt.Errorf("pipeline %q syncs both ways but has no pull mapping", r.p.Name)
		}
	default:
		return fmt.Errorf("pipeline %q: unknown direction %q (want push, pull or both)", r.p.Name, r.p.Direction)
	}
	if fwd == nil {
		return fmt.Errorf("pipeline %q: direction %s needs a %s mapping", r.p.Name, r.p.Direction, dirOf(r.to))
	}
	r.sensitive = map[string]bool{}
	for _, s := range r.p.Sensitive {
		r.sensitive[s] = true
	}
	for _, f := range fwd.Fields {
		if !r.isSensitive(f.Target) {
			r.paths = append(r.paths, f.Target)
		}
	}
	if back != nil {
		for _, f := range back.Fields {
			if !r.isSensitive(f.Target) {
				r.backPath = append(r.backPath, f.Target)
			}
		}
	}
	// Ownership by compared path: a key names the path or a parent of it
	// ("address" owns address.addressStreet1, address.addressCity, ...);
	// the longest key wins.
	r.owner = map[string]string{}
	for _, path := range r.paths {
		best := -1
		for k, side := range r.p.Conflict.Owner {
			if (path == k || strings.HasPrefix(path, k+".")) && len(k) > best {
				r.owner[path], best = side, len(k)
			}
		}
	}
	r.nworkers = r.p.Concurrency
	if r.nworkers <= 0 {
		r.nworkers = DefaultConcurrency
	}
	r.workers = make(chan *worker, r.nworkers)
	for range r.nworkers {
		w := &worker{}
		var err error
		if w.fwd, err = r.e.cfg.Mappers.Mapper(r.p, fwd); err != nil {
			return fmt.Errorf("pipeline %q: preparing the %s mapping: %w", r.p.Name, dirOf(r.to), err)
		}
		if back != nil {
			if w.back, err = r.e.cfg.Mappers.Mapper(r.p, back); err != nil {
				return fmt.Errorf("pipeline %q: preparing the pull mapping: %w", r.p.Name, err)
			}
		}
		for i := range 2 {
			if w.filters[i], err = r.e.cfg.Mappers.Filter(r.p, sideName(i)); err != nil {
				return fmt.Errorf("pipeline %q: preparing the %s filter: %w", r.p.Name, sideName(i), err)
			}
			r.filtered[i] = w.filters[i] != nil
		}
		r.workers <- w
	}
	return nil
}

// isSensitive reports whether a field path names a sensitive field (the
// field itself or a composite it belongs to).
func (r *runner) isSensitive(path string) bool {
	if len(r.sensitive) == 0 {
		return false
	}
	if r.sensitive[path] {
		return true
	}
	for i := range path {
		if path[i] == '.' && r.sensitive[path[:i]] {
			return true
		}
	}
	return false
}

// readSides are the sides this pipeline reads changes from.
func (r *runner) readSides() []string {
	switch r.p.Direction {
	case config.Pull:
		return []string{config.SideSink}
	case config.Both:
		return []string{config.SideSource, config.SideSink}
	}
	return []string{config.SideSource}
}

func (r *runner) run(ctx context.Context) error {
	r.ctx = ctx
	// No commit outlives the run, whatever stopped it.
	defer func() { _ = r.settle() }()
	if err := r.setup(ctx); err != nil {
		return err
	}
	var err error
	if r.linkCount, err = r.store.LinkCount(ctx, r.p.Name); err != nil {
		return fmt.Errorf("counting the links of %q: %w", r.p.Name, err)
	}
	open, err := r.store.Rejects(ctx, r.p.Name)
	if err != nil {
		return fmt.Errorf("listing the rejects of %q: %w", r.p.Name, err)
	}
	r.rejects = map[string]state.Reject{}
	r.retried = map[string]time.Time{}
	anyUnlinked, err := r.store.UnlinkedAny(ctx, r.p.Name)
	if err != nil {
		return fmt.Errorf("looking up records of %q left unlinked: %w", r.p.Name, err)
	}
	r.anyUnlinked.Store(anyUnlinked)
	for _, rj := range open {
		r.rejects[rj.Side+"\x00"+rj.Key] = rj
	}
	if !r.params.DryRun {
		if err := r.recoverIntents(ctx); err != nil {
			return err
		}
	}
	if err := r.retry(ctx, open); err != nil {
		return err
	}
	for _, side := range r.readSides() {
		if err := r.readChanges(ctx, side); err != nil {
			return err
		}
	}
	return r.finishDeletes(ctx)
}

// readChanges reads one side's changes since its cursor, batch by batch.
func (r *runner) readChanges(ctx context.Context, side string) error {
	var after connectors.Position
	stored, err := r.store.Cursor(ctx, r.p.Name, side)
	if err != nil {
		return fmt.Errorf("reading the %s cursor of %q: %w", side, r.p.Name, err)
	}
	si := sideIdx(side)
	// Reading starts at the cursor, but lookBack before it: records
	// stamped up to lookBack before the cursor are read again, for changes
	// stamped earlier than ones already read (a transaction that committed
	// after a later one was read, a writer whose clock is behind). A record
	// stamped in the future is read again by every run until its time has
	// come, as the cursor stops at now (see apply); a cursor left in the
	// future by an older version is read as if it stood now. The records
	// read again that a previous run synced come out unchanged and are not
	// counted (see apply); the cursor only moves past where it stood.
	now := r.now().UTC()
	reread := false
	if !r.params.Full {
		if stored.UpdatedAt.After(now) {
			// Taken as now, and written back to the present (rewind).
			stored, reread = connectors.Position{UpdatedAt: now}, true
			r.rewind[si] = true
		}
		after = stored
		if r.p.LookBack > 0 && !after.UpdatedAt.IsZero() {
			after, reread = connectors.Position{UpdatedAt: after.UpdatedAt.Add(-r.p.LookBack)}, true
		}
	}
	r.stored[si] = stored
	r.behind[si] = r.params.Full || reread
	st := r.streams[sideIdx(side)]
	// Transform in parallel, apply in order: while one batch is paired,
	// decided and applied (stream callbacks, in read order, one at a time),
	// the next pages are read and mapped. Pairing, identity matching and
	// ref resolution stay in the ordered part, so they see every earlier
	// batch's writes.
	var (
		mu      sync.Mutex
		failure error
		blocked bool
	)
	failed := func() error {
		mu.Lock()
		defer mu.Unlock()
		return failure
	}
	s := stream.New().WithMaxGoroutines(2)
	var readErr error
	for r.readLeft != 0 && failed() == nil {
		limit := r.batchSize()
		// Pages of the look-back window (records at or before the stored
		// cursor) are full pages whatever --limit says: the limit counts
		// new records, and is applied to the page below.
		if inWindow := reread && !stored.Before(after); r.readLeft > 0 && r.readLeft < limit && !inWindow {
			limit = r.readLeft
		}
		var page connectors.Page
		var err error
		if rec := panics.Try(func() {
			page, err = st.Read(ctx, connectors.ReadRequest{After: after, Limit: limit, IncludeDeleted: true})
		}); rec != nil {
			err = fmt.Errorf("connector panicked: %w", rec.AsError())
		}
		if err != nil {
			readErr = fmt.Errorf("reading changes of %s (%s side of %q) after %s/%s: %w",
				r.ref(side), side, r.p.Name, after.UpdatedAt.Format(time.RFC3339Nano), after.ID, err)
			break
		}
		if len(page.Records) > limit {
			page.Records = page.Records[:limit]
		}
		if len(page.Records) == 0 {
			break
		}
		items := make([]*item, 0, len(page.Records))
		fresh := 0 // records past the stored cursor
		for i := range page.Records {
			rec := page.Records[i]
			it := &item{origin: side, key: rec.ID, pos: connectors.PositionOf(rec), cursor: true}
			it.recs[si] = &rec
			it.reread = reread && !stored.Before(it.pos) || it.pos.UpdatedAt.After(now)
			if !it.reread {
				if fresh == r.readLeft {
					// --limit reached: the rest is left to the next run
					// (the cursor stops before it).
					break
				}
				fresh++
			}
			items = append(items, it)
		}
		if r.readLeft > 0 {
			// --limit counts new records only: the look-back window is
			// read again whatever the limit, or a limited run would read
			// the same window over and over.
			r.readLeft -= fresh
		}
		if len(items) == 0 {
			break
		}
		after = items[len(items)-1].pos
		items = r.dropRetried(items, side)
		if len(items) == 0 {
			if !page.More {
				break
			}
			continue
		}
		s.Go(func() stream.Callback {
			if side == r.from {
				r.mapAll(items) // the read records are the ones mapped
			}
			pre := r.prefetch(ctx, items, side)
			return func() {
				if failed() != nil {
					return
				}
				var err error
				if blocked, err = r.process(ctx, items, side, blocked, pre); err != nil {
					mu.Lock()
					failure = err
					mu.Unlock()
				}
			}
		})
		if !page.More {
			break
		}
	}
	s.Wait()
	if err := failed(); err != nil {
		return err
	}
	if err := r.settle(); err != nil {
		return err
	}
	if r.rewind[si] && readErr == nil && !r.params.DryRun {
		// Nothing read moved the cursor an older version left in the
		// future: it is written back to now.
		if err := r.store.Commit(ctx, state.Batch{Pipeline: r.p.Name, RunID: r.runID,
			Cursors: map[string]connectors.Position{side: r.stored[si]}}); err != nil {
			return fmt.Errorf("moving the %s cursor of %q back from the future: %w", side, r.p.Name, err)
		}
		r.rewind[si] = false
	}
	return readErr
}

func (r *runner) ref(side string) config.StreamRef {
	if side == config.SideSink {
		return r.p.Sink
	}
	return r.p.Source
}

// retry re-reads the records of open rejects (and pending deletes) and the
// pairs of resolved manual conflicts, whatever the cursors say.
func (r *runner) retry(ctx context.Context, open []state.Reject) error {
	var items []*item
	reads := r.readSides()
	for _, rj := range open {
		// A reject of a record read from a side this pipeline no longer
		// reads (a sink record's, from when it synced both ways) is kept
		// for when it does: decided now, it would only be cleared as "not
		// written", and its record, behind the cursor, never read again.
		if !slices.Contains(reads, rj.Side) {
			continue
		}
		items = append(items, &item{origin: rj.Side, key: rj.Key})
	}
	conflicts, err := r.store.Conflicts(ctx, r.p.Name, true)
	if err != nil {
		return fmt.Errorf("listing the conflicts of %q: %w", r.p.Name, err)
	}
	r.open = map[string]int64{}
	r.openConflicts = map[string]state.Conflict{}
	for _, c := range conflicts {
		if c.Resolution == "" {
			r.open[c.SourceKey] = c.ID
			r.openConflicts[c.SourceKey] = c
		}
		// A resolution applies once: the run that applies it marks it.
		if (c.Resolution == state.TakeSource || c.Resolution == state.TakeSink) && c.AppliedAt == nil {
			items = append(items, &item{origin: config.SideSource, key: c.SourceKey, take: c.Resolution, conflictID: c.ID, resolved: &c})
		}
	}
	r.retrying = true
	defer func() { r.retrying = false }()
	for len(items) > 0 {
		n := min(len(items), r.batchSize())
		// Group by origin side for pairing. Each group's records are read
		// just before it is processed: the source group's writes may have
		// changed records of the sink group.
		for _, side := range []string{config.SideSource, config.SideSink} {
			var group []*item
			for _, it := range items[:n] {
				if it.origin == side {
					group = append(group, it)
				}
			}
			if len(group) > 0 {
				if err := r.fetchOrigins(ctx, group); err != nil {
					return err
				}
				if _, err := r.process(ctx, group, side, true, nil); err != nil {
					return err
				}
				for _, it := range group {
					if rec := it.recs[sideIdx(side)]; rec != nil {
						r.retried[side+"\x00"+it.key] = rec.UpdatedAt
					}
				}
			}
		}
		items = items[n:]
	}
	return nil
}

// dropRetried removes from a page's items the records the retry already
// decided in this run, in the same version. The cursor may pass them: they
// are fully processed. (Dropped at the very end of a stream, they leave the
// cursor before them, and the next run reads them again.)
func (r *runner) dropRetried(items []*item, side string) []*item {
	if len(r.retried) == 0 {
		return items
	}
	kept := items[:0]
	for _, it := range items {
		at, ok := r.retried[side+"\x00"+it.key]
		if rec := it.recs[sideIdx(side)]; ok && rec != nil && rec.UpdatedAt.Equal(at) {
			continue
		}
		kept = append(kept, it)
	}
	return kept
}

// fetchOrigins loads the origin records of retried items.
func (r *runner) fetchOrigins(ctx context.Context, items []*item) error {
	for _, side := range []string{config.SideSource, config.SideSink} {
		var keys []string
		for _, it := range items {
			if it.origin == side {
				keys = append(keys, it.key)
			}
		}
		if len(keys) == 0 {
			continue
		}
		recs, err := r.get(ctx, side, keys)
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.origin == side {
				if rec, ok := recs[it.key]; ok {
					it.recs[sideIdx(side)] = rec
				}
			}
		}
	}
	return nil
}

// get reads records by key from one side.
func (r *runner) get(ctx context.Context, side string, keys []string) (map[string]*connectors.Record, error) {
	var recs []connectors.Record
	var err error
	if rec := panics.Try(func() { recs, err = r.streams[sideIdx(side)].Get(ctx, keys) }); rec != nil {
		err = fmt.Errorf("connector panicked: %w", rec.AsError())
	}
	if err != nil {
		return nil, fmt.Errorf("reading %d records from %s (%s side of %q): %w", len(keys), r.ref(side), side, r.p.Name, err)
	}
	out := make(map[string]*connectors.Record, len(recs))
	for i := range recs {
		out[recs[i].ID] = &recs[i]
	}
	return out, nil
}

// process pairs, maps, decides and applies one batch of items read from
// side. blocked says the side's cursor may not move any more in this run
// (an earlier record failed); the returned value says so for later batches.
func (r *runner) process(ctx context.Context, items []*item, side string, blocked bool, pre *prefetched) (bool, error) {
	defer r.touch(items)
	if pre == nil {
		if err := r.pair(ctx, items, side); err != nil {
			return blocked, err
		}
	} else if err := r.pairPrefetched(ctx, items, side, pre); err != nil {
		return blocked, err
	}
	r.mapAll(items)
	if err := r.resolveRefs(ctx, items); err != nil {
		return blocked, err
	}
	iter.Iterator[*item]{MaxGoroutines: r.nworkers}.ForEach(items, func(itp **item) {
		w := <-r.workers
		defer func() { r.workers <- w }()
		r.decide(*itp, w)
	})
	blocked, err := r.apply(ctx, items, side, blocked)
	r.decided += len(items)
	if r.params.Progress != nil {
		r.params.Progress(Progress{Pipeline: r.p.Name, Records: r.decided, Counts: r.counts})
	}
	return blocked, err
}

// mapAll filters the records of every item and maps its from-side record,
// in parallel. It runs once more after pairing (the read-ahead maps the
// records read from the from side before they are paired): each side's
// filter sees the record of its side once it is there, whichever side the
// pair was read from, so a pair that a filter excludes is skipped whole.
func (r *runner) mapAll(items []*item) {
	fi := sideIdx(r.from)
	iter.Iterator[*item]{MaxGoroutines: r.nworkers}.ForEach(items, func(itp **item) {
		it := *itp
		if it.reject != "" || it.filtered != "" {
			return
		}
		// Mapped ahead (only when read from the from side, before its
		// partner was known): the origin's record passed its filter, and
		// only the partner found by pairing is left to check.
		oi, ahead := sideIdx(it.origin), it.fromRaw != nil
		if ahead && (!r.filtered[1-oi] || gone(it.recs[1-oi])) {
			return
		}
		w := <-r.workers
		defer func() { r.workers <- w }()
		// The origin's record first: its skip names the origin's filter.
		for _, si := range [2]int{oi, 1 - oi} {
			o, f := it.recs[si], w.filters[si]
			if gone(o) || f == nil || (si == oi && ahead) {
				continue
			}
			keep, err := f.Keep(*o)
			if err != nil {
				it.reject = fmt.Sprintf("%s filter: %v", sideName(si), err)
				return
			}
			if !keep {
				// Mapped ahead, the pair's values are not used (nor
				// their refs resolved).
				it.filtered, it.fromRaw = sideName(si), nil
				return
			}
		}
		if ahead {
			return
		}
		F := it.recs[fi]
		if gone(F) {
			return
		}
		raw, err := w.fwd.Map(*F)
		if err != nil {
			it.reject = fmt.Sprintf("%s mapping: %v", dirOf(r.to), err)
			return
		}
		r.stripSensitive(raw)
		it.fromRaw = raw
	})
}

// flatten reads the compared paths out of nested mapped values.
func (r *runner) flatten(fields map[string]any, paths []string, onlyPresent bool) map[string]any {
	out := make(map[string]any, len(paths))
	for _, p := range paths {
		v, ok := mapping.Get(fields, p)
		if !ok && onlyPresent {
			continue
		}
		out[p] = v
	}
	return out
}

// stripSensitive removes sensitive paths from nested mapped values.
func (r *runner) stripSensitive(m map[string]any) {
	if len(r.sensitive) == 0 {
		return
	}
	for k, v := range m {
		if r.sensitive[k] {
			delete(m, k)
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			for sk := range sub {
				if r.sensitive[k+"."+sk] {
					delete(sub, sk)
				}
			}
		}
	}
}

func (r *runner) linkKeys(l *state.Link) [2]string { return [2]string{l.SourceKey, l.SinkKey} }

func errText(err error) string { return strings.TrimSpace(err.Error()) }
