package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Config configures a Server. The zero value is usable: no API keys (any
// bearer token is accepted), Twenty's default limits, real clock.
type Config struct {
	// APIKeys are the bearer tokens accepted. When empty, any non-empty
	// bearer token is accepted (a missing token is still a 403).
	APIKeys []string
	// ExpiredAPIKeys are tokens answered with 401 "Token has expired.".
	ExpiredAPIKeys []string
	// WorkspaceID is the workspace the emulator serves (in webhook bodies).
	// Default: a fixed UUID.
	WorkspaceID string
	// Clock returns the current time; default time.Now. It stamps
	// createdAt/updatedAt and refills the rate-limit buckets.
	Clock func() time.Time
	// BatchLimit is the largest POST /rest/batch body accepted; default 200
	// (current Twenty; the docs still say 60).
	BatchLimit int
	// MaxAffectedRecords caps PATCH/DELETE /rest/{plural}?filter=...;
	// default 100 (MUTATION_MAXIMUM_AFFECTED_RECORDS).
	MaxAffectedRecords int
	// RateLimit configures the two token buckets.
	RateLimit RateLimit
	// Faults injects failures (for tests); see Faults.
	Faults Faults
	// OutboundSafeMode, when true, refuses webhook delivery to loopback and
	// private addresses like Twenty's OUTBOUND_HTTP_SAFE_MODE_ENABLED (on by
	// default in Twenty, off by default here so tests can use 127.0.0.1).
	OutboundSafeMode bool
	// WebhookTimeout bounds one delivery; default 5 s like Twenty.
	WebhookTimeout time.Duration
	// Logger receives one line per request when set.
	Logger *slog.Logger
}

// RateLimit configures Twenty's two per-workspace token buckets. Each
// request costs one token from both; an empty bucket answers 429.
type RateLimit struct {
	// Disabled turns rate limiting off.
	Disabled bool
	// ShortLimit tokens per ShortWindow; default 100 per 1 s.
	ShortLimit  int
	ShortWindow time.Duration
	// LongLimit tokens per LongWindow; default 100 per 60 s.
	LongLimit  int
	LongWindow time.Duration
}

// DefaultWorkspaceID is the workspace id used when Config.WorkspaceID is
// empty.
const DefaultWorkspaceID = "20202020-0000-4000-8000-000000000001"

// Server is an in-process Twenty REST API. It is safe for concurrent use.
type Server struct {
	cfg Config

	mu        sync.Mutex
	objects   map[string]*objectDef // by plural
	singulars map[string]string     // singular -> plural
	tables    map[string]*table     // by plural
	lastStamp time.Time
	position  int
	keys      map[string]bool
	expired   map[string]bool
	anyKey    bool
	short     *bucket
	long      *bucket
	faults    *faultState
	stats     statsState
	webhooks  []*webhook

	deliveries sync.WaitGroup
	delivMu    sync.Mutex
	delivered  []Delivery
	client     *http.Client
	httpServer *http.Server
	listener   net.Listener
	closeOnce  sync.Once
	closed     chan struct{}
}

// New returns a Server with the standard objects and no records.
func New(cfg Config) *Server {
	if cfg.WorkspaceID == "" {
		cfg.WorkspaceID = DefaultWorkspaceID
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.BatchLimit <= 0 {
		cfg.BatchLimit = 200
	}
	if cfg.MaxAffectedRecords <= 0 {
		cfg.MaxAffectedRecords = 100
	}
	if cfg.WebhookTimeout <= 0 {
		cfg.WebhookTimeout = 5 * time.Second
	}
	rl := &cfg.RateLimit
	if rl.ShortLimit <= 0 {
		rl.ShortLimit = 100
	}
	if rl.ShortWindow <= 0 {
		rl.ShortWindow = time.Second
	}
	if rl.LongLimit <= 0 {
		rl.LongLimit = 100
	}
	if rl.LongWindow <= 0 {
		rl.LongWindow = time.Minute
	}
	s := &Server{
		cfg:       cfg,
		objects:   standardObjects(),
		singulars: map[string]string{},
		tables:    map[string]*table{},
		closed:    make(chan struct{}),
	}
	for p, o := range s.objects {
		s.singulars[o.Singular] = p
		s.tables[p] = newTable(o)
	}
	s.setKeysLocked(cfg.APIKeys, cfg.ExpiredAPIKeys)
	now := cfg.Clock()
	s.short = newBucket(rl.ShortLimit, rl.ShortWindow, now)
	s.long = newBucket(rl.LongLimit, rl.LongWindow, now)
	s.faults = newFaultState(cfg.Faults)
	s.stats = newStatsState()
	s.client = &http.Client{Timeout: cfg.WebhookTimeout, Transport: s.webhookTransport()}
	return s
}

// Handler returns the server's HTTP handler, for use with
// httptest.NewServer or your own http.Server.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Start listens on a free port of 127.0.0.1 and serves in the background.
// It returns the base URL (http://127.0.0.1:PORT). It panics if no port can
// be opened; use StartAt for an error instead.
func (s *Server) Start() string {
	u, err := s.StartAt("127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("twenty emulator: %v", err))
	}
	return u
}

// StartAt listens on addr (host:port) and serves in the background. It
// returns the base URL.
func (s *Server) StartAt(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen on %s for the Twenty emulator: %w", addr, err)
	}
	s.listener = ln
	s.httpServer = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.httpServer.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Close stops the HTTP server (if started), waits for webhook deliveries
// in flight and releases resources. It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		if s.httpServer != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if e := s.httpServer.Shutdown(ctx); e != nil && !errors.Is(e, http.ErrServerClosed) {
				err = s.httpServer.Close()
			}
		}
		s.deliveries.Wait()
	})
	return err
}

// SetAPIKeys replaces the accepted bearer tokens at run time (key
// rotation). Tokens no longer listed are answered with 401 "Token invalid.".
func (s *Server) SetAPIKeys(tokens ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp := make([]string, 0, len(s.expired))
	for k := range s.expired {
		exp = append(exp, k)
	}
	s.setKeysLocked(tokens, exp)
}

// ExpireAPIKeys marks tokens as expired: they are answered with 401
// "Token has expired.".
func (s *Server) ExpireAPIKeys(tokens ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tokens {
		delete(s.keys, t)
		s.expired[t] = true
	}
}

func (s *Server) setKeysLocked(valid, expired []string) {
	s.keys = map[string]bool{}
	s.expired = map[string]bool{}
	for _, k := range valid {
		s.keys[k] = true
	}
	for _, k := range expired {
		if !s.keys[k] {
			s.expired[k] = true
		}
	}
	s.anyKey = len(valid) == 0 && len(expired) == 0
}

// authenticate returns nil when the request's bearer token is accepted.
func (s *Server) authenticate(r *http.Request) *apiError {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	token := strings.TrimSpace(strings.TrimPrefix(h, "Bearer"))
	if h == "" || token == "" {
		return &apiError{Status: 403, Error: "ForbiddenException", Code: "FORBIDDEN_EXCEPTION",
			Messages: []string{"Missing authentication token"}}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.anyKey || s.keys[token]:
		return nil
	case s.expired[token]:
		return &apiError{Status: 401, Error: "UnauthorizedException", Code: "UNAUTHENTICATED",
			Messages: []string{"Token has expired."}}
	}
	return &apiError{Status: 401, Error: "UnauthorizedException", Code: "UNAUTHENTICATED",
		Messages: []string{"Token invalid."}}
}

// Records returns a snapshot (deep copy) of every record of plural,
// soft-deleted ones included, ordered by position then id. It returns nil
// for an unknown object.
func (s *Server) Records(plural string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[plural]
	if t == nil {
		return nil
	}
	out := make([]map[string]any, 0, len(t.rows))
	for _, r := range t.rows {
		out = append(out, cloneRecord(r))
	}
	order, _ := parseOrderBy(t.obj, "")
	sort.Slice(out, func(i, j int) bool { return compareBy(order, out[i], out[j]) < 0 })
	return out
}

// Get returns a copy of one record (soft-deleted included) and whether it
// exists.
func (s *Server) Get(plural, id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[plural]
	if t == nil || t.rows[id] == nil {
		return nil, false
	}
	return cloneRecord(t.rows[id]), true
}

// Put writes a record as a user of the Twenty UI would: it creates the
// record if its id is absent or unknown, and otherwise updates the given
// fields (updatedAt is bumped, updatedBy.source is "MANUAL"). Webhooks
// fire as for an API write. It returns the stored record.
func (s *Server) Put(plural string, record map[string]any) (map[string]any, error) {
	s.mu.Lock()
	t := s.tables[plural]
	if t == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("twenty emulator: no object %q", plural)
	}
	var (
		out map[string]any
		ev  *event
		err *apiError
	)
	id, _ := record["id"].(string)
	if id != "" && t.rows[id] != nil {
		out, ev, err = s.update(t, id, record, "MANUAL", true, time.Time{})
	} else {
		at := s.stamp()
		out, err = s.prepareCreate(t, record, at, "MANUAL")
		if err == nil {
			s.insert(t, out)
			ev = &event{obj: t.obj, action: "created", record: cloneRecord(out), at: at}
		}
	}
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("twenty emulator: put %s: %s", plural, strings.Join(err.Messages, "; "))
	}
	s.dispatch([]*event{ev})
	return cloneRecord(out), nil
}

// Delete soft-deletes (hard=false) or destroys a record as a UI user would.
func (s *Server) Delete(plural, id string, hard bool) error {
	s.mu.Lock()
	t := s.tables[plural]
	if t == nil {
		s.mu.Unlock()
		return fmt.Errorf("twenty emulator: no object %q", plural)
	}
	var evs []*event
	var err *apiError
	if hard {
		evs, err = s.destroy(t, id)
	} else {
		var ev *event
		ev, err = s.softDelete(t, id)
		evs = []*event{ev}
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("twenty emulator: delete %s/%s: %s", plural, id, strings.Join(err.Messages, "; "))
	}
	s.dispatch(evs)
	return nil
}
