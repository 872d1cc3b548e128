package twenty

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// DefaultCoolDown is how long a connection that found Twenty down fails its
// calls at once before one call may try the server again.
const DefaultCoolDown = 30 * time.Second

// DownError is returned by every call of a connection that found Twenty
// down: one call's retries ran out on network errors (refused, reset,
// timeout) or on 502/503/504 from a proxy in front of Twenty. Until a
// probe after the cool-down gets an answer, calls fail with it at once
// instead of each spending a retry budget of its own.
type DownError struct {
	Connection string
	// Since is when the first call gave up.
	Since time.Time
	// Cause is that call's error ("gave up after 8 attempts: ...").
	Cause error
}

// Error names the connection, since when Twenty is down and the first
// cause.
func (e *DownError) Error() string {
	return fmt.Sprintf("connection %q: Twenty stopped answering at %s and the connection fails its calls until it answers again: %v",
		e.Connection, e.Since.Format(time.RFC3339), e.Cause)
}

// Unwrap returns the first cause.
func (e *DownError) Unwrap() error { return e.Cause }

// unreachableStatus reports the answers that mean Twenty itself is not
// there: a proxy or load balancer in front of it answering for it. A 500
// is Twenty's own answer to this request (the server is up), so it does
// not count.
func unreachableStatus(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// breaker is a connection's circuit breaker. It is closed (calls go) until
// a call gives up on an unreachable server; then it is open: calls fail at
// once with the DownError, and calls waiting between retries are woken to
// fail too. After the cool-down one call (the probe) sends a single
// request: an answer of any kind closes the breaker, another unreachable
// failure keeps it open for another cool-down.
type breaker struct {
	name     string
	coolDown time.Duration
	now      func() time.Time

	mu      sync.Mutex
	down    *DownError    // nil while closed
	retryAt time.Time     // when the next probe may go
	probing bool          // a probe is in flight
	tripped chan struct{} // closed when the breaker opens
}

func newBreaker(name string, coolDown time.Duration) *breaker {
	return &breaker{name: name, coolDown: coolDown, now: time.Now, tripped: make(chan struct{})}
}

// allow is asked before each request. It returns the DownError while the
// breaker is open, and probe true when this request is the probe (the
// caller must then report its outcome with answered, trip or release).
func (b *breaker) allow() (probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down == nil {
		return false, nil
	}
	if b.probing || b.now().Before(b.retryAt) {
		return false, b.down
	}
	b.probing = true
	return true, nil
}

// open returns a channel closed when the breaker opens, for calls waiting
// between retries, and the current DownError if it is open already.
func (b *breaker) open() (<-chan struct{}, *DownError) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tripped, b.down
}

// answered records that the server answered (any HTTP status but
// 502/503/504): the breaker closes. It reports whether it was open.
func (b *breaker) answered() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	if b.down == nil {
		return false
	}
	b.down = nil
	b.tripped = make(chan struct{})
	return true
}

// trip opens the breaker after a call gave up on an unreachable server
// (or a probe failed), and returns the error every call gets while it is
// open. An open breaker keeps its first time and cause; the cool-down
// starts again.
func (b *breaker) trip(cause error) (*DownError, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	now := b.now()
	b.retryAt = now.Add(b.coolDown)
	if b.down != nil {
		return b.down, false
	}
	b.down = &DownError{Connection: b.name, Since: now, Cause: cause}
	close(b.tripped)
	return b.down, true
}

// release gives the probe back without an outcome (its context ended
// before it got an answer): the next call may probe.
func (b *breaker) release() {
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}
