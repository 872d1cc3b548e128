package lease

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestTokenIsRandomHex(t *testing.T) {
	a, b := Token(), Token()
	if len(a) != 32 || a == b {
		t.Fatalf("tokens %q and %q: want two different 32-digit hex strings", a, b)
	}
	for _, r := range a {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			t.Fatalf("token %q is not lowercase hex", a)
		}
	}
}

// refreshes returns a refresh function that counts its calls and signals
// each one on the returned channel.
func refreshes() (func(context.Context) error, *atomic.Int64, chan struct{}) {
	var n atomic.Int64
	called := make(chan struct{}, 100)
	return func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			panic("refresh called without a deadline")
		}
		n.Add(1)
		select {
		case called <- struct{}{}:
		default:
		}
		return context.DeadlineExceeded // an error does not end the loop
	}, &n, called
}

func waitCalls(t *testing.T, called chan struct{}, k int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for range k {
		select {
		case <-called:
		case <-deadline:
			t.Fatalf("refresh was not called %d times within 10s", k)
		}
	}
}

func TestStartRefreshesUntilStopped(t *testing.T) {
	var h Heartbeats
	defer h.Close()
	refresh, n, called := refreshes()
	stop := h.Start(30*time.Millisecond, refresh)
	waitCalls(t, called, 3) // failing refreshes keep the loop going
	stop()                  // returns once the loop has ended
	after := n.Load()
	time.Sleep(50 * time.Millisecond)
	if n.Load() != after {
		t.Fatalf("refresh called %d more times after stop", n.Load()-after)
	}
	stop() // a second stop is harmless
}

func TestCloseStopsEveryLoop(t *testing.T) {
	var h Heartbeats
	r1, n1, c1 := refreshes()
	r2, n2, c2 := refreshes()
	h.Start(time.Millisecond, r1) // below the 10ms floor
	stop2 := h.Start(time.Millisecond, r2)
	waitCalls(t, c1, 1)
	waitCalls(t, c2, 1)
	h.Close() // waits for both loops
	a1, a2 := n1.Load(), n2.Load()
	time.Sleep(50 * time.Millisecond)
	if n1.Load() != a1 || n2.Load() != a2 {
		t.Fatal("a loop kept refreshing after Close")
	}
	stop2() // stopping a loop Close ended does not block

	r3, n3, _ := refreshes()
	stop3 := h.Start(time.Millisecond, r3) // Start after Close starts nothing
	time.Sleep(50 * time.Millisecond)
	if n3.Load() != 0 {
		t.Fatalf("a loop started after Close refreshed %d times", n3.Load())
	}
	stop3()
}
