// Package memory is an in-process connector, registered as kind "memory".
//
// It keeps streams of records in memory and behaves like a well-mannered
// remote system: reads are ordered by (UpdatedAt, ID) with keyset paging,
// Get and Find include soft-deleted records, creates honour the client's
// proposed id, and deletes can be soft (OpDelete) or hard (OpDestroy).
//
// It exists for the engine's own tests and benchmarks, not for production
// data: nothing is persisted. Two hooks make it useful there:
//
//   - Options.Now is the clock that stamps UpdatedAt on every write, so tests
//     can control ordering and "newest wins" decisions.
//   - Options.OnWrite is called before each single write. Returning a
//     *connectors.RecordError refuses that record only; returning any other
//     error aborts the whole Write call after the writes already applied,
//     which is how tests simulate a crash after the k-th write.
//
// A configuration opens a named shared instance (Shared), so a test can seed
// data into the same connection that a config of kind "memory" will open:
//
//	connections: crm: {kind: "memory", instance: "crm"} // instance defaults to the connection name
package memory

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/kelompok/pipe/connectors"
)

// Kind is the connector kind this package registers.
const Kind = "memory"

func init() { connectors.Register(Kind, Open) }

// Options configure a Connection.
type Options struct {
	// Now stamps UpdatedAt on writes. Defaults to time.Now in UTC.
	Now func() time.Time
	// OnWrite, if set, is called before each write with the connection-wide
	// write number n (1-based), the stream name and the change. A
	// *connectors.RecordError refuses that record; any other error makes the
	// Write call return that error after the writes before it were applied.
	OnWrite func(n int, stream string, c connectors.Change) error
	// ServerIDs makes creates ignore the proposed id and assign a random
	// one, like a system without client ids.
	ServerIDs bool
}

// Connection is a set of named in-memory streams. It is safe for concurrent
// use.
type Connection struct {
	mu      sync.Mutex
	opts    Options
	streams map[string]*Stream
	writes  int
}

var _ connectors.Connection = (*Connection)(nil)
var _ connectors.Describer = (*Connection)(nil)

// New returns an empty connection.
func New(opts Options) *Connection {
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC() }
	}
	return &Connection{opts: opts, streams: map[string]*Stream{}}
}

var (
	sharedMu sync.Mutex
	shared   = map[string]*Connection{}
)

// Shared returns the process-wide connection named name, creating it empty
// on first use. Open hands out these instances.
func Shared(name string) *Connection {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	c, ok := shared[name]
	if !ok {
		c = New(Options{})
		shared[name] = c
	}
	return c
}

// SetShared installs c as the shared instance named name (replacing any),
// so that a config's connection of kind "memory" opens it.
func SetShared(name string, c *Connection) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	shared[name] = c
}

// Open is the connectors.Factory of kind "memory". The config key
// "instance" names the shared instance (default: the connection's name).
func Open(_ context.Context, params connectors.OpenParams) (connectors.Connection, error) {
	name := params.Name
	if v, ok := params.Config["instance"]; ok {
		s, ok := v.(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("memory connection %q: instance must be a non-empty string, got %v", params.Name, v)
		}
		name = s
	}
	return Shared(name), nil
}

// Capabilities implements connectors.Describer.
func (c *Connection) Capabilities() connectors.Capabilities {
	return connectors.Capabilities{ClientIDs: !c.opts.ServerIDs, SoftDelete: true}
}

// SetOptions replaces the connection's options (clock and hooks).
func (c *Connection) SetOptions(opts Options) {
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC() }
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opts = opts
}

// Writes returns how many writes the connection has applied or attempted.
func (c *Connection) Writes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// Stream implements connectors.Connection; streams are created on first use.
func (c *Connection) Stream(_ context.Context, name string) (connectors.Stream, error) {
	return c.stream(name), nil
}

// S returns the named stream, creating it on first use.
func (c *Connection) S(name string) *Stream { return c.stream(name) }

func (c *Connection) stream(name string) *Stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.streams[name]
	if !ok {
		s = &Stream{conn: c, name: name, sorted: true, recs: map[string]*connectors.Record{}, index: map[string]map[string]map[string]struct{}{}}
		c.streams[name] = s
	}
	return s
}

// Close implements connectors.Connection. The data stays available.
func (c *Connection) Close() error { return nil }

// Stream is one in-memory stream.
type Stream struct {
	conn *Connection
	name string

	mu     sync.Mutex
	recs   map[string]*connectors.Record
	order  []*connectors.Record // sorted by (UpdatedAt, ID) when sorted is true
	sorted bool
	// index maps a dotted field path to value -> ids, built on the first
	// Find of that field and kept up to date on writes.
	index map[string]map[string]map[string]struct{}
}

var _ connectors.Stream = (*Stream)(nil)

// Put stores records as they are (replacing same ids), without calling the
// write hook or the clock. A zero UpdatedAt is set from the clock.
func (s *Stream) Put(recs ...connectors.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		r = Clone(r)
		if r.UpdatedAt.IsZero() {
			r.UpdatedAt = s.conn.now()
		}
		if r.Fields == nil {
			r.Fields = map[string]any{}
		}
		s.store(&r)
	}
}

// All returns a copy of every record (soft-deleted included), by id.
func (s *Stream) All() map[string]connectors.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]connectors.Record, len(s.recs))
	for id, r := range s.recs {
		out[id] = Clone(*r)
	}
	return out
}

// Len returns the number of stored records, soft-deleted included.
func (s *Stream) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}

func (c *Connection) now() time.Time {
	c.mu.Lock()
	now := c.opts.Now
	c.mu.Unlock()
	return now()
}

// store puts r (owned by the stream) in place, keeping order and indexes.
// The caller holds s.mu.
func (s *Stream) store(r *connectors.Record) {
	if old, ok := s.recs[r.ID]; ok {
		s.unindex(old)
		s.sorted = false
	}
	s.recs[r.ID] = r
	if s.sorted {
		if n := len(s.order); n == 0 || connectors.PositionOf(*s.order[n-1]).Before(connectors.PositionOf(*r)) {
			s.order = append(s.order, r)
		} else {
			s.sorted = false
		}
	}
	s.addIndex(r)
}

func (s *Stream) remove(id string) {
	if old, ok := s.recs[id]; ok {
		s.unindex(old)
		delete(s.recs, id)
		s.sorted = false
	}
}

func (s *Stream) sortOrder() {
	if s.sorted {
		return
	}
	s.order = s.order[:0]
	for _, r := range s.recs {
		s.order = append(s.order, r)
	}
	sort.Slice(s.order, func(i, j int) bool {
		return connectors.PositionOf(*s.order[i]).Before(connectors.PositionOf(*s.order[j]))
	})
	s.sorted = true
}

// Read implements connectors.Stream.
func (s *Stream) Read(ctx context.Context, req connectors.ReadRequest) (connectors.Page, error) {
	if err := ctx.Err(); err != nil {
		return connectors.Page{}, err
	}
	limit := req.Limit
	if limit <= 0 {
		limit = 100
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sortOrder()
	i := sort.Search(len(s.order), func(i int) bool {
		return req.After.Before(connectors.PositionOf(*s.order[i]))
	})
	var page connectors.Page
	for ; i < len(s.order); i++ {
		r := s.order[i]
		if r.Deleted && !req.IncludeDeleted {
			continue
		}
		if len(page.Records) == limit {
			page.More = true
			break
		}
		page.Records = append(page.Records, Clone(*r))
	}
	return page, nil
}

// Get implements connectors.Stream.
func (s *Stream) Get(ctx context.Context, ids []string) ([]connectors.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]connectors.Record, 0, len(ids))
	for _, id := range ids {
		if r, ok := s.recs[id]; ok {
			out = append(out, Clone(*r))
		}
	}
	return out, nil
}

// Find implements connectors.Stream: exact comparison of the value at the
// dotted path field, in its text form, with each of values.
func (s *Stream) Find(ctx context.Context, field string, values []string) ([]connectors.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, ok := s.index[field]
	if !ok {
		idx = map[string]map[string]struct{}{}
		s.index[field] = idx
		for _, r := range s.recs {
			if v, ok := textAt(r.Fields, field); ok {
				addTo(idx, v, r.ID)
			}
		}
	}
	seen := map[string]bool{}
	var out []connectors.Record
	for _, v := range values {
		ids := make([]string, 0, len(idx[v]))
		for id := range idx[v] {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				out = append(out, Clone(*s.recs[id]))
			}
		}
	}
	return out, nil
}

func addTo(idx map[string]map[string]struct{}, v, id string) {
	m, ok := idx[v]
	if !ok {
		m = map[string]struct{}{}
		idx[v] = m
	}
	m[id] = struct{}{}
}

func (s *Stream) addIndex(r *connectors.Record) {
	for field, idx := range s.index {
		if v, ok := textAt(r.Fields, field); ok {
			addTo(idx, v, r.ID)
		}
	}
}

func (s *Stream) unindex(r *connectors.Record) {
	for field, idx := range s.index {
		if v, ok := textAt(r.Fields, field); ok {
			delete(idx[v], r.ID)
			if len(idx[v]) == 0 {
				delete(idx, v)
			}
		}
	}
}

// Write implements connectors.Stream.
func (s *Stream) Write(ctx context.Context, changes []connectors.Change) ([]connectors.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	results := make([]connectors.Result, len(changes))
	for i, c := range changes {
		s.conn.mu.Lock()
		s.conn.writes++
		n := s.conn.writes
		hook := s.conn.opts.OnWrite
		s.conn.mu.Unlock()
		if hook != nil {
			if err := hook(n, s.name, c); err != nil {
				if connectors.IsRecordError(err) {
					results[i] = connectors.Result{ID: c.ID, Err: err}
					continue
				}
				return nil, fmt.Errorf("memory stream %q: write %d: %w", s.name, n, err)
			}
		}
		results[i] = s.apply(c)
	}
	return results, nil
}

func (s *Stream) apply(c connectors.Change) connectors.Result {
	now := s.conn.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	notFound := func() connectors.Result {
		return connectors.Result{ID: c.ID, Err: fmt.Errorf("memory stream %q: %s %s: %w", s.name, c.Op, c.ID, connectors.ErrNotFound)}
	}
	// Results carry no Record (it is optional): the engine does not use
	// it, and a deep copy per write was a fifth of an initial sync's
	// allocations.
	done := func(r *connectors.Record) connectors.Result { return connectors.Result{ID: r.ID} }
	switch c.Op {
	case connectors.OpCreate:
		id := c.ID
		if id == "" || s.conn.opts.ServerIDs {
			id = uuid.NewString()
		}
		if _, dup := s.recs[id]; dup {
			return connectors.Result{ID: id, Err: &connectors.RecordError{Reason: fmt.Sprintf("a record with id %s already exists in %s", id, s.name)}}
		}
		r := &connectors.Record{ID: id, UpdatedAt: now, Fields: cloneMap(c.Fields)}
		if r.Fields == nil {
			r.Fields = map[string]any{}
		}
		s.store(r)
		return done(r)
	case connectors.OpUpdate, connectors.OpDelete, connectors.OpRestore:
		old, ok := s.recs[c.ID]
		if !ok {
			return notFound()
		}
		r := &connectors.Record{ID: old.ID, UpdatedAt: now, Deleted: old.Deleted, Fields: cloneMap(old.Fields)}
		switch c.Op {
		case connectors.OpUpdate:
			mergeInto(r.Fields, c.Fields)
		case connectors.OpDelete:
			r.Deleted = true
		case connectors.OpRestore:
			r.Deleted = false
			mergeInto(r.Fields, c.Fields)
		}
		s.store(r)
		return done(r)
	case connectors.OpDestroy:
		if _, ok := s.recs[c.ID]; !ok {
			return notFound()
		}
		s.remove(c.ID)
		return connectors.Result{ID: c.ID}
	}
	return connectors.Result{ID: c.ID, Err: &connectors.RecordError{Reason: fmt.Sprintf("unknown operation %q", c.Op)}}
}

// mergeInto writes src into dst; nested maps merge (a partial update of a
// composite field keeps its other sub-fields), other values replace.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
		}
		dst[k] = cloneValue(v)
	}
}

// Clone returns a deep copy of r.
func Clone(r connectors.Record) connectors.Record {
	r.Fields = cloneMap(r.Fields)
	return r
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}

// textAt returns the text form of the value at a dotted path, for Find.
func textAt(fields map[string]any, path string) (string, bool) {
	var cur any = fields
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[part]; !ok {
			return "", false
		}
	}
	switch v := cur.(type) {
	case nil:
		return "", false
	case string:
		return v, true
	case int64:
		return strconv.FormatInt(v, 10), true
	case int:
		return strconv.Itoa(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano), true
	}
	return fmt.Sprint(cur), true
}
