package emulator

import (
	"fmt"
	"math/rand"
	"sort"
	"sync"
	"time"
)

// bucket is a token bucket refilled continuously: capacity tokens per
// window, like Twenty's throttler.
type bucket struct {
	capacity float64
	window   time.Duration
	tokens   float64
	last     time.Time
}

func newBucket(capacity int, window time.Duration, now time.Time) *bucket {
	return &bucket{capacity: float64(capacity), window: window, tokens: float64(capacity), last: now}
}

func (b *bucket) refill(now time.Time) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(b.capacity, b.tokens+b.capacity*float64(el)/float64(b.window))
		b.last = now
	}
}

func (b *bucket) message() string {
	return fmt.Sprintf("Limit reached (%d tokens per %d ms)", int(b.capacity), b.window.Milliseconds())
}

func rateLimited(msg string) *apiError {
	return &apiError{Status: 429, Error: "TooManyRequestsException", Code: "LIMIT_REACHED", Messages: []string{msg}}
}

// takeToken spends one token from both buckets, or reports which is empty.
func (s *Server) takeToken() *apiError {
	if s.cfg.RateLimit.Disabled {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Clock()
	s.short.refill(now)
	s.long.refill(now)
	if s.short.tokens < 1 {
		return rateLimited(s.short.message())
	}
	if s.long.tokens < 1 {
		return rateLimited(s.long.message())
	}
	s.short.tokens--
	s.long.tokens--
	return nil
}

// FaultKind is one kind of injected failure.
type FaultKind string

// The injectable faults.
const (
	// FaultNone lets the request through.
	FaultNone FaultKind = ""
	// FaultError answers 500 without applying the request.
	FaultError FaultKind = "error"
	// FaultErrorAfterApply applies the request (a write is stored and its
	// webhooks fire) and then answers 500: the client cannot tell.
	FaultErrorAfterApply FaultKind = "error_after_apply"
	// FaultRateLimit answers 429 like the real limiter, without applying.
	FaultRateLimit FaultKind = "rate_limit"
	// FaultDrop closes the connection without an answer, without applying.
	FaultDrop FaultKind = "drop"
	// FaultDropAfterApply applies the request, then closes the connection
	// without an answer.
	FaultDropAfterApply FaultKind = "drop_after_apply"
)

// RequestClass selects which requests a scripted fault counts.
type RequestClass string

// Request classes for ScriptedFault.On.
const (
	// AnyRequest counts every authenticated request.
	AnyRequest RequestClass = ""
	// Writes counts POST, PATCH, PUT and DELETE requests.
	Writes RequestClass = "write"
	// Reads counts GET requests.
	Reads RequestClass = "read"
)

// ScriptedFault fails one exact request: the Nth (1-based) authenticated
// request of class On (and of Route, when set) since the faults were set.
type ScriptedFault struct {
	On RequestClass
	// Route, when set, restricts counting to one route key as reported by
	// Stats, e.g. "POST /rest/batch/people".
	Route string
	Nth   int
	Kind  FaultKind
}

// Faults injects failures into authenticated requests, for tests. Random
// faults are drawn from a generator seeded with Seed, one draw per
// request, so a sequential client sees the same faults on every run.
// Scripted faults take precedence over random ones.
type Faults struct {
	Seed int64
	// Probabilities (0..1) per request; their sum must stay at most 1.
	ErrorRate           float64
	ErrorAfterApplyRate float64 // applies to writes; a read gets FaultError
	RateLimitRate       float64
	DropRate            float64
	// Latency is added to every request before it is handled.
	Latency time.Duration
	// Script lists exact faults ("fail the 3rd write").
	Script []ScriptedFault
}

type faultState struct {
	mu     sync.Mutex
	cfg    Faults
	rng    *rand.Rand
	counts map[string]int // class or route -> requests seen
	fired  map[FaultKind]int
}

func newFaultState(f Faults) *faultState {
	return &faultState{cfg: f, rng: rand.New(rand.NewSource(f.Seed)), counts: map[string]int{}, fired: map[FaultKind]int{}}
}

// SetFaults replaces the fault configuration at run time and resets the
// scripted-fault counters and the random generator.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = newFaultState(f)
}

// decide picks the fault for one request.
func (fs *faultState) decide(isWrite bool, route string) FaultKind {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.counts[string(AnyRequest)]++
	class := Reads
	if isWrite {
		class = Writes
	}
	fs.counts[string(class)]++
	fs.counts["route:"+route]++
	for _, sf := range fs.cfg.Script {
		key := string(sf.On)
		if sf.Route != "" {
			if sf.Route != route || (sf.On != AnyRequest && sf.On != class) {
				continue
			}
			key = "route:" + route
		} else if sf.On != AnyRequest && sf.On != class {
			continue
		}
		if fs.counts[key] == sf.Nth {
			fs.fired[sf.Kind]++
			return sf.Kind
		}
	}
	c := fs.cfg
	if c.ErrorRate+c.ErrorAfterApplyRate+c.RateLimitRate+c.DropRate <= 0 {
		return FaultNone
	}
	x := fs.rng.Float64()
	kind := FaultNone
	switch {
	case x < c.ErrorRate:
		kind = FaultError
	case x < c.ErrorRate+c.ErrorAfterApplyRate:
		kind = FaultErrorAfterApply
		if !isWrite {
			kind = FaultError
		}
	case x < c.ErrorRate+c.ErrorAfterApplyRate+c.RateLimitRate:
		kind = FaultRateLimit
	case x < c.ErrorRate+c.ErrorAfterApplyRate+c.RateLimitRate+c.DropRate:
		kind = FaultDrop
	}
	if kind != FaultNone {
		fs.fired[kind]++
	}
	return kind
}

// Stats counts the requests a Server answered.
type Stats struct {
	// Total is the number of requests received.
	Total int
	// ByRoute counts requests by route key: method and path with the
	// object's plural name and "{id}", e.g. "POST /rest/batch/people",
	// "PATCH /rest/people/{id}", "GET /rest/people".
	ByRoute map[string]int
	// ByStatus counts responses by HTTP status; 0 is a dropped connection.
	ByStatus map[int]int
	// ByRouteStatus counts by route key and status: "GET /rest/people 200".
	ByRouteStatus map[string]int
	// Faults counts the injected faults by kind.
	Faults map[FaultKind]int
	// Webhooks is the number of webhook deliveries attempted.
	Webhooks int
}

type statsState struct {
	total         int
	byRoute       map[string]int
	byStatus      map[int]int
	byRouteStatus map[string]int
}

func newStatsState() statsState {
	return statsState{byRoute: map[string]int{}, byStatus: map[int]int{}, byRouteStatus: map[string]int{}}
}

func (s *Server) count(route string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.total++
	s.stats.byRoute[route]++
	s.stats.byStatus[status]++
	s.stats.byRouteStatus[fmt.Sprintf("%s %d", route, status)]++
}

// Stats returns a copy of the request counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := Stats{Total: s.stats.total, ByRoute: map[string]int{}, ByStatus: map[int]int{},
		ByRouteStatus: map[string]int{}, Faults: map[FaultKind]int{}}
	for k, v := range s.stats.byRoute {
		st.ByRoute[k] = v
	}
	for k, v := range s.stats.byStatus {
		st.ByStatus[k] = v
	}
	for k, v := range s.stats.byRouteStatus {
		st.ByRouteStatus[k] = v
	}
	fs := s.faults
	s.mu.Unlock()
	fs.mu.Lock()
	for k, v := range fs.fired {
		st.Faults[k] = v
	}
	fs.mu.Unlock()
	s.delivMu.Lock()
	st.Webhooks = len(s.delivered)
	s.delivMu.Unlock()
	return st
}

// ResetStats zeroes the request counters.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = newStatsState()
}

// Routes returns the route keys seen, sorted (handy in test failures).
func (st Stats) Routes() []string {
	out := make([]string, 0, len(st.ByRoute))
	for k := range st.ByRoute {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
