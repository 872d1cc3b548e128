package twenty

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/kelompok/pipe/engine/secrets"
)

// APIError is an error answer from Twenty that is not retried: a 4xx other
// than 401, 403 and 429, or a 5xx/429 still failing when retries ran out.
type APIError struct {
	Method string
	Path   string // path only: the query may be long and holds record data
	Status int
	// Code is Twenty's error name ("BadRequestException", "NotFoundException")
	// or code when the body has one.
	Code string
	// Messages are Twenty's messages, as sent.
	Messages []string
}

// Error describes the answer: method, path, status, Twenty's error name and
// messages.
func (e *APIError) Error() string {
	msg := strings.Join(e.Messages, "; ")
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Code != "" {
		return fmt.Sprintf("twenty %s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Code, msg)
	}
	return fmt.Sprintf("twenty %s %s: %d: %s", e.Method, e.Path, e.Status, msg)
}

// Reason is Twenty's messages joined, for a reject.
func (e *APIError) Reason() string {
	if len(e.Messages) == 0 {
		return fmt.Sprintf("Twenty answered %d %s", e.Status, e.Code)
	}
	return strings.Join(e.Messages, "; ")
}

// contains reports whether any message contains s (case-insensitive).
func (e *APIError) contains(s string) bool {
	s = strings.ToLower(s)
	for _, m := range e.Messages {
		if strings.Contains(strings.ToLower(m), s) {
			return true
		}
	}
	return strings.Contains(strings.ToLower(e.Code), s)
}

// AuthError is a 401 or 403 that persisted after the API key was re-read.
// It names the connection and where the key comes from, never the key.
type AuthError struct {
	Connection string
	KeyRef     string
	Status     int
	Message    string
}

// Error names the connection and the key's reference, never the key, and
// says what to do.
func (e *AuthError) Error() string {
	return fmt.Sprintf("connection %q: Twenty refused the API key from %s (%d %s) even after re-reading it; "+
		"create a new key in Twenty under Settings -> APIs & Webhooks and store it there",
		e.Connection, e.KeyRef, e.Status, e.Message)
}

// errorBody is Twenty's error envelope in its variants:
// {statusCode, error, messages: [..]} and Nest's {statusCode, message, error}.
type errorBody struct {
	StatusCode int             `json:"statusCode"`
	Error      string          `json:"error"`
	Code       string          `json:"code"`
	Messages   []string        `json:"messages"`
	Message    json.RawMessage `json:"message"`
}

func parseAPIError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: status}
	var b errorBody
	if err := json.Unmarshal(body, &b); err != nil {
		if s := strings.TrimSpace(string(body)); s != "" && len(s) < 300 {
			e.Messages = []string{s}
		}
		return e
	}
	e.Code = b.Error
	if b.Code != "" {
		e.Code = b.Code
	}
	e.Messages = append(e.Messages, b.Messages...)
	if len(b.Message) > 0 {
		var one string
		var many []string
		if json.Unmarshal(b.Message, &one) == nil && one != "" {
			e.Messages = append(e.Messages, one)
		} else if json.Unmarshal(b.Message, &many) == nil {
			e.Messages = append(e.Messages, many...)
		}
	}
	return e
}

// response is a successful answer.
type response struct {
	Status int
	Body   []byte
}

// retryError wraps the last error when a call's retries ran out.
type retryError struct {
	attempts int
	last     error
}

func (e *retryError) Error() string {
	return fmt.Sprintf("gave up after %d attempts: %v", e.attempts, e.last)
}
func (e *retryError) Unwrap() error { return e.last }

// apiKey returns the current key, reading the secret on first use.
func (c *Conn) apiKey(ctx context.Context) (string, int, error) {
	c.keyMu.Lock()
	defer c.keyMu.Unlock()
	if c.keyGen == 0 {
		v, err := c.resolver.Resolve(ctx, c.params.APIKey)
		if err != nil {
			return "", 0, fmt.Errorf("connection %q: reading the API key from %s: %w", c.name, c.params.APIKey, err)
		}
		c.key, c.keyGen = v, 1
	}
	return c.key.Reveal(), c.keyGen, nil
}

// rereadKey reads the secret again after an auth failure, unless another
// call already did since generation gen was used.
func (c *Conn) rereadKey(ctx context.Context, gen int) error {
	c.keyMu.Lock()
	defer c.keyMu.Unlock()
	if c.keyGen != gen {
		return nil
	}
	forgetCached(c.resolver)
	v, err := c.resolver.Resolve(ctx, c.params.APIKey)
	if err != nil {
		return fmt.Errorf("connection %q: re-reading the API key from %s: %w", c.name, c.params.APIKey, err)
	}
	c.stats.authRereads.Add(1)
	c.key = v
	c.keyGen++
	return nil
}

// forgetter is a resolver with a cache that can be dropped (secrets.Vault).
type forgetter interface{ Forget() }

// forgetCached drops cached secret values so that a re-read after a 401
// sees a rotated key rather than the cached old one.
func forgetCached(r secrets.Resolver) {
	switch t := r.(type) {
	case forgetter:
		t.Forget()
	case secrets.Chain:
		for _, p := range []secrets.Resolver{t.Env, t.File, t.Vault} {
			forgetCached(p)
		}
	case *secrets.Chain:
		forgetCached(*t)
	}
}

// call sends one request with rate limiting and retries, and returns the
// answer of the first 2xx. body, when not nil, is sent as JSON.
func (c *Conn) call(ctx context.Context, method, path string, query url.Values, body any) (*response, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("twenty %s %s: encoding the request: %w", method, path, err)
		}
	}
	pol := c.params.Retry
	bo := &backoff.ExponentialBackOff{
		InitialInterval:     pol.InitialBackoff,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         pol.MaxBackoff,
	}
	bo.Reset()
	start := time.Now()
	reread := false
	failures := 0
	for attempt := 1; ; attempt++ {
		// While the connection has found Twenty down, fail at once rather
		// than spend a retry budget of our own (see breaker).
		probe, down := c.breaker.allow()
		if down != nil {
			c.stats.failedFast.Add(1)
			return nil, down
		}
		if err := c.limiter.Wait(ctx); err != nil {
			if probe {
				c.breaker.release()
			}
			return nil, fmt.Errorf("twenty %s %s: %w", method, path, err)
		}
		key, gen, err := c.apiKey(ctx)
		if err != nil {
			if probe {
				c.breaker.release()
			}
			return nil, err
		}
		status, hdr, respBody, err := c.send(ctx, method, path, query, payload, key)
		c.stats.requests.Add(1)
		// unreachable: no answer from Twenty itself (refused, reset,
		// timeout, or a proxy's 502/503/504).
		unreachable := (err != nil && ctx.Err() == nil) || (err == nil && unreachableStatus(status))
		switch {
		case err != nil && ctx.Err() != nil:
			if probe {
				c.breaker.release()
			}
		case !unreachable:
			if c.breaker.answered() {
				c.log.Info("Twenty answers again", "method", method, "path", path)
			}
		case probe:
			// The probe after the cool-down failed too: still down, for
			// another cool-down.
			var cause error = parseAPIError(method, path, status, respBody)
			if err != nil {
				cause = fmt.Errorf("twenty %s %s: %w", method, path, err)
			}
			d, _ := c.breaker.trip(cause)
			return nil, d
		}
		var wait time.Duration
		var last error
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, fmt.Errorf("twenty %s %s: %w", method, path, ctx.Err())
			}
			c.stats.networkErrors.Add(1)
			failures++
			last = fmt.Errorf("twenty %s %s: %w", method, path, err)
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			ae := parseAPIError(method, path, status, respBody)
			if reread {
				return nil, &AuthError{Connection: c.name, KeyRef: c.params.APIKey.String(), Status: status, Message: ae.Reason()}
			}
			reread = true
			if err := c.rereadKey(ctx, gen); err != nil {
				return nil, err
			}
			c.log.Info("Twenty refused the API key; read it again", "status", status)
			continue
		case status == http.StatusTooManyRequests:
			c.stats.rateLimited.Add(1)
			last = parseAPIError(method, path, status, respBody)
			if ra, ok := retryAfter(hdr.Get("Retry-After"), time.Now()); ok {
				// Honour the proxy, plus up to 10% jitter so waiting
				// callers do not return together.
				wait = ra + time.Duration(rand.Int64N(int64(ra/10)+1))
			}
		case status >= 500:
			c.stats.serverErrors.Add(1)
			failures++
			last = parseAPIError(method, path, status, respBody)
		case status >= 400:
			return nil, parseAPIError(method, path, status, respBody)
		default:
			return &response{Status: status, Body: respBody}, nil
		}
		if failures >= pol.MaxAttempts {
			return nil, c.giveUp(&retryError{attempts: attempt, last: last}, unreachable)
		}
		if wait == 0 {
			wait = bo.NextBackOff()
		}
		if pol.MaxElapsed > 0 && time.Since(start)+wait > pol.MaxElapsed {
			return nil, c.giveUp(&retryError{attempts: attempt, last: last}, unreachable)
		}
		if failures == 1 && last != nil && status != http.StatusTooManyRequests {
			// Say so at once: the retries of an unreachable server take
			// up to a minute or more before the call gives up.
			c.log.Warn("Twenty call failed; retrying", "method", method, "path", path, "err", last,
				"attempts", pol.MaxAttempts, "maxElapsed", pol.MaxElapsed)
		}
		c.log.Debug("retrying Twenty call", "method", method, "path", path, "attempt", attempt, "wait", wait, "err", last)
		// Another call finding Twenty down ends this wait: the loop's
		// next turn fails at once.
		tripped, _ := c.breaker.open()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("twenty %s %s: %w", method, path, ctx.Err())
		case <-tripped:
			t.Stop()
		case <-t.C:
		}
	}
}

// giveUp is the error of a call whose retries ran out. When the last
// failure says Twenty is not there (network error, 502/503/504), the
// connection's breaker opens and the call returns its *DownError, which
// ends the calls in flight and fails new ones at once.
func (c *Conn) giveUp(re *retryError, unreachable bool) error {
	if !unreachable {
		return re
	}
	d, first := c.breaker.trip(re)
	if first {
		c.log.Error("Twenty stopped answering; failing this connection's calls at once until it answers again",
			"err", re, "coolDown", c.breaker.coolDown)
	}
	return d
}

// send performs one HTTP exchange. Transport errors are returned without
// the URL (it may hold record data) and never mention the key.
func (c *Conn) send(ctx context.Context, method, path string, query url.Values, payload []byte, key string) (int, http.Header, []byte, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading the answer: %w", err)
	}
	return resp.StatusCode, resp.Header, b, nil
}

// retryAfter parses a Retry-After header (seconds or an HTTP date).
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// envelope returns the single value inside the answer's "data" object
// ({data: {people: [...]}}, {data: {createPerson: {...}}}), which spares
// the connector from knowing every object's singular name.
type envelope struct {
	Data       map[string]json.RawMessage `json:"data"`
	TotalCount *int                       `json:"totalCount"`
	PageInfo   struct {
		HasNextPage bool   `json:"hasNextPage"`
		StartCursor string `json:"startCursor"`
		EndCursor   string `json:"endCursor"`
	} `json:"pageInfo"`
}

func decodeEnvelope(method, path string, body []byte) (*envelope, json.RawMessage, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, nil, fmt.Errorf("twenty %s %s: the answer is not JSON: %w", method, path, err)
	}
	if len(env.Data) != 1 {
		keys := slices.Sorted(maps.Keys(env.Data))
		return nil, nil, fmt.Errorf("twenty %s %s: expected one value in data, found %d (%v)", method, path, len(env.Data), keys)
	}
	for _, v := range env.Data {
		return &env, v, nil
	}
	return nil, nil, nil
}
