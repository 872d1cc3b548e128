// Package lease holds what both state stores do to keep a pipeline lock:
// a token unique to each acquisition and the background refresh of the
// locks a store holds.
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

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
