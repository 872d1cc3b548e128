// Package twenty is the connector for Twenty CRM (kind "twenty").
//
// A connection talks to one Twenty workspace through its REST API with an
// API key. Every object of the workspace is a stream, by plural name
// ("people", "companies", "opportunities", custom objects); what the objects
// and their fields are comes from the workspace's metadata API, so custom
// objects and fields work without a rebuild.
//
// One rate limiter and one HTTP client are shared by every stream of a
// connection. Calls are retried on 429 (with jitter, honouring Retry-After
// when a proxy adds one), on 5xx, on connection resets and on timeouts, with
// bounded exponential backoff. When one call's retries run out on an
// unreachable server (network errors, 502/503/504), the connection fails
// every call at once with a *DownError until a probe after the cool-down
// gets an answer, so a run stops instead of retrying each record on its
// own. A 401 or 403 re-reads the API key once (key
// rotation) and then fails with an *AuthError that names the connection and
// the key's reference, never the key.
//
// Configuration (the connection's params):
//
//	url:           "https://api.twenty.com"  // base URL of the workspace
//	apiKey:        #Secret                   // {env: "..."} | {file: "..."} | {vault: {path, key}}
//	rateLimit:     {requests: 100, per: "1m"} // client-side budget; Twenty Cloud is about 50/min
//	batchSize:     60                        // creates per batch call, 1..200
//	timeout:       "30s"                     // per HTTP request
//	retry:         {maxAttempts: 8, initialBackoff: "500ms", maxBackoff: "30s", maxElapsed: "5m", coolDown: "30s"}
//	webhookSecret: #Secret                   // optional, used by the webhook receiver
//	customFields:  {people: {kelompokId: "TEXT"}} // optional: custom fields the install expects
//
// Durations are Go duration strings ("1m", "500ms") or numbers of seconds.
package twenty

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/secrets"
)

func init() { connectors.Register("twenty", Open) }

// Defaults and limits of the connection parameters.
const (
	DefaultRateRequests = 100
	DefaultRatePer      = time.Minute
	DefaultBatchSize    = 60
	MaxBatchSize        = 200
	DefaultTimeout      = 30 * time.Second
	// MaxPageSize is the largest page current Twenty servers return; older
	// ones clamp to 60, so the connector never assumes the size it asked for.
	MaxPageSize = 200
	// maxQueryBytes bounds the encoded query string of one lookup, so URLs
	// stay well within what proxies and Node's HTTP parser accept.
	maxQueryBytes = 4000
	// writeConcurrency is how many calls one Write keeps in flight; the
	// rate limiter still decides how fast they go.
	writeConcurrency = 4
)

// RetryPolicy bounds the retries of one HTTP call.
type RetryPolicy struct {
	// MaxAttempts counts every try of a call that fails with a 5xx, a reset
	// or a timeout (429s do not count; they are bounded by MaxElapsed).
	MaxAttempts int
	// InitialBackoff is the first wait; it doubles up to MaxBackoff, with
	// ±50% jitter.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// MaxElapsed bounds the total time spent on one call, waits included.
	MaxElapsed time.Duration
	// CoolDown is how long the connection fails calls at once after one
	// call gave up on an unreachable Twenty (see DownError), before one
	// call may try the server again.
	CoolDown time.Duration
}

// Params are the decoded connection parameters.
type Params struct {
	URL           string
	APIKey        secrets.Ref
	RateRequests  int
	RatePer       time.Duration
	BatchSize     int
	Timeout       time.Duration
	Retry         RetryPolicy
	WebhookSecret *secrets.Ref
	// CustomFields are the custom fields the install declares, by object
	// plural name then field name, with their Twenty type ("TEXT", ...).
	CustomFields []CustomField
}

// CustomField is a custom field declared in the connection's config.
type CustomField struct {
	Object string // plural object name, e.g. "people"
	Name   string // camelCase field name, e.g. "kelompokId"
	Label  string
	Type   string // Twenty field type, "TEXT" by default
	Unique bool
}

// ParseParams decodes and checks a connection's config. Every problem is
// reported, phrased for the person editing the config.
func ParseParams(cfg map[string]any) (Params, error) {
	p := Params{
		RateRequests: DefaultRateRequests,
		RatePer:      DefaultRatePer,
		BatchSize:    DefaultBatchSize,
		Timeout:      DefaultTimeout,
		Retry: RetryPolicy{
			MaxAttempts:    8,
			InitialBackoff: 500 * time.Millisecond,
			MaxBackoff:     30 * time.Second,
			MaxElapsed:     5 * time.Minute,
			CoolDown:       DefaultCoolDown,
		},
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if s, ok := cfg["url"].(string); ok && s != "" {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("url %q is not an http(s) base URL such as https://api.twenty.com", s)
		}
		p.URL = strings.TrimRight(s, "/")
	} else {
		bad("url is required (the workspace's base URL, e.g. https://api.twenty.com)")
	}

	switch v := cfg["apiKey"].(type) {
	case nil:
		bad("apiKey is required: a secret reference such as {env: \"TWENTY_API_KEY\"}")
	case map[string]any:
		ref, err := decodeRef(v)
		if err != nil {
			bad("apiKey: %v", err)
		}
		p.APIKey = ref
	case secrets.Ref:
		p.APIKey = v
	case *secrets.Ref:
		p.APIKey = *v
	default:
		bad("apiKey must be a secret reference ({env: ...}, {file: ...} or {vault: {path, key}}), not a literal value")
	}
	if v, ok := cfg["webhookSecret"]; ok && v != nil {
		m, _ := v.(map[string]any)
		ref, err := decodeRef(m)
		if err != nil {
			bad("webhookSecret: %v", err)
		} else {
			p.WebhookSecret = &ref
		}
	}

	if v, ok := cfg["rateLimit"]; ok && v != nil {
		m, _ := v.(map[string]any)
		if m == nil {
			bad("rateLimit must be an object like {requests: 100, per: \"1m\"}")
		} else {
			if r, ok := m["requests"]; ok {
				n, err := asInt(r)
				if err != nil || n < 1 {
					bad("rateLimit.requests must be a positive integer, got %v", r)
				} else {
					p.RateRequests = n
				}
			}
			if d, ok := m["per"]; ok {
				dur, err := asDuration(d)
				if err != nil || dur <= 0 {
					bad("rateLimit.per must be a positive duration such as \"1m\", got %v", d)
				} else {
					p.RatePer = dur
				}
			}
		}
	}
	if v, ok := cfg["batchSize"]; ok && v != nil {
		n, err := asInt(v)
		if err != nil || n < 1 || n > MaxBatchSize {
			bad("batchSize must be between 1 and %d, got %v", MaxBatchSize, v)
		} else {
			p.BatchSize = n
		}
	}
	if v, ok := cfg["timeout"]; ok && v != nil {
		d, err := asDuration(v)
		if err != nil || d <= 0 {
			bad("timeout must be a positive duration such as \"30s\", got %v", v)
		} else {
			p.Timeout = d
		}
	}
	if v, ok := cfg["retry"]; ok && v != nil {
		m, _ := v.(map[string]any)
		for k, val := range m {
			switch k {
			case "maxAttempts":
				n, err := asInt(val)
				if err != nil || n < 1 {
					bad("retry.maxAttempts must be at least 1, got %v", val)
				} else {
					p.Retry.MaxAttempts = n
				}
			case "initialBackoff", "maxBackoff", "maxElapsed", "coolDown":
				d, err := asDuration(val)
				if err != nil || d <= 0 {
					bad("retry.%s must be a positive duration, got %v", k, val)
					continue
				}
				switch k {
				case "initialBackoff":
					p.Retry.InitialBackoff = d
				case "maxBackoff":
					p.Retry.MaxBackoff = d
				case "coolDown":
					p.Retry.CoolDown = d
				default:
					p.Retry.MaxElapsed = d
				}
			default:
				bad("retry.%s is not a known option (maxAttempts, initialBackoff, maxBackoff, maxElapsed, coolDown)", k)
			}
		}
	}
	if v, ok := cfg["customFields"]; ok && v != nil {
		cf, err := decodeCustomFields(v)
		if err != nil {
			bad("customFields: %v", err)
		}
		p.CustomFields = cf
	}
	if err := errors.Join(errs...); err != nil {
		return Params{}, err
	}
	return p, nil
}

func decodeRef(m map[string]any) (secrets.Ref, error) {
	if m == nil {
		return secrets.Ref{}, errors.New("must be a secret reference ({env: ...}, {file: ...} or {vault: {path, key}})")
	}
	b, err := json.Marshal(m)
	if err != nil {
		return secrets.Ref{}, err
	}
	var ref secrets.Ref
	if err := json.Unmarshal(b, &ref); err != nil {
		return secrets.Ref{}, fmt.Errorf("not a secret reference: %w", err)
	}
	if ref.IsZero() {
		return secrets.Ref{}, errors.New("empty secret reference: set one of env, file or vault")
	}
	return ref, nil
}

// decodeCustomFields accepts {people: {kelompokId: "TEXT"}} or
// {people: {kelompokId: {type, label, unique}}} or a list of
// {object, name, type, label, unique}.
func decodeCustomFields(v any) ([]CustomField, error) {
	var out []CustomField
	field := func(obj, name string, spec any) error {
		cf := CustomField{Object: obj, Name: name, Type: "TEXT"}
		switch s := spec.(type) {
		case string:
			cf.Type = strings.ToUpper(s)
		case map[string]any:
			if t, ok := s["type"].(string); ok && t != "" {
				cf.Type = strings.ToUpper(t)
			}
			cf.Label, _ = s["label"].(string)
			cf.Unique, _ = s["unique"].(bool)
			if n, ok := s["name"].(string); ok && n != "" {
				cf.Name = n
			}
			if o, ok := s["object"].(string); ok && o != "" {
				cf.Object = o
			}
		case nil, bool:
		default:
			return fmt.Errorf("%s.%s: expected a type name or {type, label, unique}", obj, name)
		}
		if cf.Object == "" || cf.Name == "" {
			return fmt.Errorf("a custom field needs an object and a name (got %q.%q)", cf.Object, cf.Name)
		}
		out = append(out, cf)
		return nil
	}
	switch t := v.(type) {
	case map[string]any:
		objs := slices.Sorted(maps.Keys(t))
		for _, obj := range objs {
			fields, ok := t[obj].(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: expected an object of field names", obj)
			}
			for _, name := range slices.Sorted(maps.Keys(fields)) {
				if err := field(obj, name, fields[name]); err != nil {
					return nil, err
				}
			}
		}
	case []any:
		for _, item := range t {
			if err := field("", "", item); err != nil {
				return nil, err
			}
		}
	default:
		return nil, errors.New("expected {object: {field: type}} or a list of {object, name, type}")
	}
	return out, nil
}

func asInt(v any) (int, error) {
	switch n := v.(type) {
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case float64:
		if n != float64(int(n)) {
			return 0, fmt.Errorf("%v is not an integer", n)
		}
		return int(n), nil
	case json.Number:
		i, err := n.Int64()
		return int(i), err
	}
	return 0, fmt.Errorf("%v is not a number", v)
}

func asDuration(v any) (time.Duration, error) {
	switch d := v.(type) {
	case string:
		return time.ParseDuration(d)
	case time.Duration:
		return d, nil
	case int, int64, float64, json.Number:
		f, err := asFloat(d)
		return time.Duration(f * float64(time.Second)), err
	}
	return 0, fmt.Errorf("%v is not a duration", v)
}

func asFloat(v any) (float64, error) {
	switch n := v.(type) {
	case int:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case float64:
		return n, nil
	case json.Number:
		return n.Float64()
	}
	return 0, fmt.Errorf("%v is not a number", v)
}

// Conn is an open Twenty connection. It is safe for concurrent use.
type Conn struct {
	name     string
	params   Params
	base     string
	resolver secrets.Resolver
	log      *slog.Logger
	client   *http.Client
	limiter  *rate.Limiter
	breaker  *breaker

	keyMu  sync.Mutex
	key    secrets.Value
	keyGen int // incremented each time the key is (re)read

	metaMu       sync.Mutex
	meta         *catalog  // nil until loaded
	metaFailedAt time.Time // when reading the metadata last failed
	metaErr      error     // and why

	stats stats
}

type stats struct {
	requests, rateLimited, serverErrors, networkErrors, authRereads, failedFast atomic.Int64
}

// Stats are counters of one connection's HTTP traffic since it was opened.
type Stats struct {
	// Requests is every HTTP request sent, retries included.
	Requests int64
	// RateLimited counts 429 answers.
	RateLimited int64
	// ServerErrors counts 5xx answers.
	ServerErrors int64
	// NetworkErrors counts resets, timeouts and other transport failures.
	NetworkErrors int64
	// AuthRereads counts re-reads of the API key after a 401/403.
	AuthRereads int64
	// FailedFast counts calls failed at once with a *DownError because
	// the connection had found Twenty down.
	FailedFast int64
}

// Stats returns the connection's traffic counters.
func (c *Conn) Stats() Stats {
	return Stats{
		Requests:      c.stats.requests.Load(),
		RateLimited:   c.stats.rateLimited.Load(),
		ServerErrors:  c.stats.serverErrors.Load(),
		NetworkErrors: c.stats.networkErrors.Load(),
		AuthRereads:   c.stats.authRereads.Load(),
		FailedFast:    c.stats.failedFast.Load(),
	}
}

// Open opens a Twenty connection from its config. It does not contact the
// server or read the secret: both happen on first use.
func Open(_ context.Context, op connectors.OpenParams) (connectors.Connection, error) {
	return OpenConn(op)
}

// OpenConn is Open with the concrete type, for callers that need the
// Twenty-specific methods (EnsureField, Stats, Objects).
func OpenConn(op connectors.OpenParams) (*Conn, error) {
	p, err := ParseParams(op.Config)
	if err != nil {
		return nil, err
	}
	if op.Secrets == nil {
		return nil, errors.New("no secret resolver to read apiKey with")
	}
	log := op.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Conn{
		name:     op.Name,
		params:   p,
		base:     p.URL,
		resolver: op.Secrets,
		log:      log,
		client:   &http.Client{Timeout: p.Timeout},
		limiter:  rate.NewLimiter(rate.Limit(float64(p.RateRequests)/p.RatePer.Seconds()), limiterBurst(p.RateRequests)),
		breaker:  newBreaker(op.Name, p.Retry.CoolDown),
	}
	return c, nil
}

// limiterBurst is how many requests may go at once after a pause: a tenth
// of the budget, at most 10. Twenty's buckets refill during the same pause
// (they hold a whole window), so a small burst only recovers time lost to
// gaps between batches, and never exceeds the average rate.
func limiterBurst(requests int) int {
	return max(1, min(requests/10, 10))
}

// Name is the connection's name in the config.
func (c *Conn) Name() string { return c.name }

// BatchSize is the number of records per batch create.
func (c *Conn) BatchSize() int { return c.params.BatchSize }

// Params returns the decoded connection parameters (references only, no
// secret values).
func (c *Conn) Params() Params { return c.params }

// Capabilities implements connectors.Describer.
func (c *Conn) Capabilities() connectors.Capabilities {
	return connectors.Capabilities{ClientIDs: true, SoftDelete: true}
}

// Close releases idle HTTP connections.
func (c *Conn) Close() error {
	c.client.CloseIdleConnections()
	return nil
}

// Stream opens the stream of one object by plural name. A singular name
// is refused with the plural to use. Unknown names are accepted when the
// workspace's metadata cannot be read (the server has the last word).
func (c *Conn) Stream(ctx context.Context, name string) (connectors.Stream, error) {
	return c.OpenStream(ctx, name)
}

// OpenStream is Stream with the concrete type.
func (c *Conn) OpenStream(ctx context.Context, name string) (*Stream, error) {
	if name == "" || strings.ContainsAny(name, "/?#%. ") {
		return nil, fmt.Errorf("connection %q: %q is not a Twenty object name (use the plural, e.g. people)", c.name, name)
	}
	cat, err := c.catalog(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		// A server that did not answer (retries ran out on network
		// errors, 5xx or 429) would make the first read wait as long
		// again: say so now.
		var de *DownError
		if errors.As(err, &de) {
			return nil, &notAnswering{down: de}
		}
		var re *retryError
		if errors.As(err, &re) {
			return nil, fmt.Errorf("connection %q: Twenty does not answer (check the connection's url and that the server is up): %w", c.name, err)
		}
		// A key may be allowed records but not the data model (403 on
		// metadata): the built-in catalog stands in; a key refused for
		// records too fails on the first read.
		c.log.Warn("cannot read workspace metadata; using the built-in catalog", "err", err)
	}
	obj := cat.byPlural(name)
	if obj == nil {
		if s := cat.bySingular(name); s != nil {
			return nil, fmt.Errorf("connection %q: object '%s' not found. Did you mean '%s'?", c.name, name, s.NamePlural)
		}
		if cat.live {
			return nil, fmt.Errorf("connection %q: the workspace has no object %q (known: %s)", c.name, name, strings.Join(cat.plurals(), ", "))
		}
		obj = &Object{NamePlural: name}
	}
	return &Stream{conn: c, obj: obj}, nil
}

// notAnswering is OpenStream's error when the connection found Twenty down:
// the advice and the first cause, unwrapping to the *DownError.
type notAnswering struct{ down *DownError }

func (e *notAnswering) Error() string {
	return fmt.Sprintf("connection %q: Twenty does not answer (check the connection's url and that the server is up): %v",
		e.down.Connection, e.down.Cause)
}

func (e *notAnswering) Unwrap() error { return e.down }
