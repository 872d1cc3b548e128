// Package storeutil holds what the SQLite and PostgreSQL state stores share:
// encoding of JSON columns and cursor positions, defaults, and the
// background refresh of held pipeline locks.
package storeutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/kelompok/pipe/connectors"
)

// DefaultRunLimit is the number of runs RunList returns when no limit is set.
const DefaultRunLimit = 50

// Now returns the current time in UTC with microsecond precision, the
// precision both stores keep.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Norm returns t in UTC with microsecond precision, or Now() when t is zero.
func Norm(t time.Time) time.Time {
	if t.IsZero() {
		return Now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// JSON encodes v for a JSON column; nil maps and slices become "null".
func JSON(v any) (string, error) {
	buf := jsonBufs.Get().(*[]byte)
	b, err := appendJSON((*buf)[:0], v)
	if err != nil {
		jsonBufs.Put(buf)
		return "", fmt.Errorf("encode %T as JSON for the state store: %w", v, err)
	}
	out := string(b)
	if cap(b) <= 64<<10 { // a rare huge value does not stay pinned
		*buf = b
		jsonBufs.Put(buf)
	}
	return out, nil
}

// jsonBufs holds JSON's scratch buffers: one allocation per encoded value
// (the string) instead of a buffer grown for each.
var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Decode decodes a JSON column into dst ("" and "null" leave it zero).
func Decode(s string, dst any) error {
	if s == "" || s == "null" {
		return nil
	}
	if m, ok := dst.(*map[string]any); ok && *m == nil {
		if flat, ok := decodeFlat(s); ok {
			*m = flat
			return nil
		}
	}
	if err := json.Unmarshal([]byte(s), dst); err != nil {
		return fmt.Errorf("decode JSON column of the state store: %w", err)
	}
	return nil
}

// PositionTime encodes a cursor position's time exactly (RFC 3339 with
// nanoseconds, UTC); the zero time is "".
func PositionTime(p connectors.Position) string {
	if p.UpdatedAt.IsZero() {
		return ""
	}
	return p.UpdatedAt.UTC().Format(time.RFC3339Nano)
}

// ParsePosition decodes a cursor position stored by PositionTime.
func ParsePosition(t, id string) (connectors.Position, error) {
	p := connectors.Position{ID: id}
	if t == "" {
		return p, nil
	}
	ts, err := time.Parse(time.RFC3339Nano, t)
	if err != nil {
		return p, fmt.Errorf("stored cursor time %q: %w", t, err)
	}
	p.UpdatedAt = ts.UTC()
	return p, nil
}

// Token returns a random lock token, unique to one acquisition.
func Token() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Heartbeats runs the refresh loops of held locks and stops them all on
// Close.
type Heartbeats struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
	stops  map[*heartbeat]struct{}
}

type heartbeat struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Start calls refresh every ttl/3 (at least every 10ms) until the returned
// stop function or Close is called. stop waits for the loop to end. A
// refresh error does not end the loop: the lock simply lapses if refreshes
// keep failing.
func (h *Heartbeats) Start(ttl time.Duration, refresh func(ctx context.Context) error) (stop func()) {
	every := ttl / 3
	if every < 10*time.Millisecond {
		every = 10 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	hb := &heartbeat{cancel: cancel, done: make(chan struct{})}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		cancel()
		return func() {}
	}
	if h.stops == nil {
		h.stops = map[*heartbeat]struct{}{}
	}
	h.stops[hb] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		defer close(hb.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				rctx, rcancel := context.WithTimeout(ctx, every)
				_ = refresh(rctx)
				rcancel()
			}
		}
	}()
	return func() {
		h.mu.Lock()
		delete(h.stops, hb)
		h.mu.Unlock()
		hb.cancel()
		<-hb.done
	}
}

// Close stops every loop and waits for them.
func (h *Heartbeats) Close() {
	h.mu.Lock()
	h.closed = true
	for hb := range h.stops {
		hb.cancel()
	}
	h.stops = nil
	h.mu.Unlock()
	h.wg.Wait()
}
