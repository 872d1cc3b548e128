package emulator

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// webhook is a registered delivery target.
type webhook struct {
	ID          string
	TargetURL   string
	Operations  []string
	Description string
	Secret      string
	CreatedAt   string
}

func (wh *webhook) render() map[string]any {
	ops := make([]any, len(wh.Operations))
	for i, o := range wh.Operations {
		ops[i] = o
	}
	return map[string]any{"id": wh.ID, "targetUrl": wh.TargetURL, "operations": ops,
		"description": wh.Description, "secret": wh.Secret, "createdAt": wh.CreatedAt,
		"updatedAt": wh.CreatedAt, "deletedAt": nil}
}

// matches reports whether an operation pattern list selects eventName
// ("person.created"); "*" matches any object or action.
func (wh *webhook) matches(eventName string) bool {
	obj, action, _ := strings.Cut(eventName, ".")
	for _, op := range wh.Operations {
		o, a, _ := strings.Cut(op, ".")
		if (o == "*" || o == obj) && (a == "*" || a == action) {
			return true
		}
	}
	return false
}

// Delivery is one webhook POST the emulator attempted.
type Delivery struct {
	WebhookID string
	EventName string
	TargetURL string
	// Status is the target's HTTP status, 0 when the request failed.
	Status int
	// Err is why the delivery failed (network error, timeout, blocked by
	// safe mode), empty on success.
	Err string
	// Body is the exact JSON body sent.
	Body []byte
}

func (s *Server) routeWebhooks(w http.ResponseWriter, r *http.Request, segs []string) {
	switch {
	case len(segs) == 0 && r.Method == http.MethodPost:
		var in struct {
			TargetURL   string   `json:"targetUrl"`
			Operations  []string `json:"operations"`
			Description string   `json:"description"`
			Secret      string   `json:"secret"`
		}
		if err := readBody(r, &in); err != nil {
			writeError(w, err)
			return
		}
		u, err := url.Parse(in.TargetURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			writeError(w, badRequest("targetUrl %q is not a valid http(s) URL", in.TargetURL))
			return
		}
		if len(in.Operations) == 0 {
			in.Operations = []string{"*.*"}
		}
		for _, op := range in.Operations {
			if o, a, ok := strings.Cut(op, "."); !ok || o == "" || a == "" {
				writeError(w, badRequest("operation %q is not of the form object.action (like person.created or *.*)", op))
				return
			}
		}
		s.mu.Lock()
		wh := &webhook{ID: uuid.NewString(), TargetURL: in.TargetURL, Operations: in.Operations,
			Description: in.Description, Secret: in.Secret, CreatedAt: formatTime(s.cfg.Clock())}
		s.webhooks = append(s.webhooks, wh)
		out := wh.render()
		s.mu.Unlock()
		writeJSON(w, 201, map[string]any{"data": map[string]any{"createWebhook": out}})
	case len(segs) == 0 && r.Method == http.MethodGet:
		s.mu.Lock()
		list := []any{}
		for _, wh := range s.webhooks {
			list = append(list, wh.render())
		}
		s.mu.Unlock()
		writeJSON(w, 200, map[string]any{"data": map[string]any{"webhooks": list}})
	case len(segs) == 1 && r.Method == http.MethodDelete:
		s.mu.Lock()
		found := false
		for i, wh := range s.webhooks {
			if wh.ID == segs[0] {
				s.webhooks = append(s.webhooks[:i], s.webhooks[i+1:]...)
				found = true
				break
			}
		}
		s.mu.Unlock()
		if !found {
			writeError(w, notFound("Webhook not found"))
			return
		}
		writeJSON(w, 200, map[string]any{"data": map[string]any{"deleteWebhook": map[string]any{"id": segs[0]}}})
	default:
		writeError(w, notFound("Cannot "+r.Method+" "+r.URL.Path))
	}
}

// dispatch sends the events to the matching webhooks in the background.
func (s *Server) dispatch(evs []*event) {
	s.mu.Lock()
	hooks := append([]*webhook(nil), s.webhooks...)
	s.mu.Unlock()
	if len(hooks) == 0 {
		return
	}
	select {
	case <-s.closed:
		return
	default:
	}
	for _, ev := range evs {
		if ev == nil {
			continue
		}
		name := ev.obj.Singular + "." + ev.action
		for _, wh := range hooks {
			if !wh.matches(name) {
				continue
			}
			body := map[string]any{
				"targetUrl":      wh.TargetURL,
				"eventName":      name,
				"objectMetadata": map[string]any{"id": ev.obj.ID, "nameSingular": ev.obj.Singular},
				"workspaceId":    s.cfg.WorkspaceID,
				"webhookId":      wh.ID,
				"eventDate":      formatTime(ev.at),
				"record":         ev.record,
			}
			if ev.action == "updated" || ev.action == "upserted" {
				fields := ev.updatedFields
				if fields == nil {
					fields = []string{}
				}
				body["updatedFields"] = fields
			}
			raw, _ := json.Marshal(body)
			s.deliveries.Add(1)
			go s.deliver(wh, name, raw)
		}
	}
}

// deliver POSTs one event, once: Twenty does not retry.
func (s *Server) deliver(wh *webhook, name string, raw []byte) {
	defer s.deliveries.Done()
	d := Delivery{WebhookID: wh.ID, EventName: name, TargetURL: wh.TargetURL, Body: raw}
	defer func() {
		s.delivMu.Lock()
		s.delivered = append(s.delivered, d)
		s.delivMu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.TargetURL, bytes.NewReader(raw))
	if err != nil {
		d.Err = err.Error()
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if wh.Secret != "" {
		ts := strconv.FormatInt(s.cfg.Clock().UnixMilli(), 10)
		req.Header.Set("X-Twenty-Webhook-Timestamp", ts)
		req.Header.Set("X-Twenty-Webhook-Signature", Sign(wh.Secret, ts, raw))
		nonce := make([]byte, 16)
		_, _ = rand.Read(nonce)
		req.Header.Set("X-Twenty-Webhook-Nonce", hex.EncodeToString(nonce))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		d.Err = err.Error()
		return
	}
	_ = resp.Body.Close()
	d.Status = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		d.Err = fmt.Sprintf("target answered %s (not retried)", resp.Status)
	}
}

// Sign computes Twenty's webhook signature: hex HMAC-SHA256 keyed with
// the webhook secret over timestamp + ":" + raw body.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + ":"))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// WaitWebhooks blocks until every delivery started so far has finished,
// or ctx ends.
func (s *Server) WaitWebhooks(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.deliveries.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for Twenty emulator webhook deliveries: %w", ctx.Err())
	}
}

// Deliveries returns the webhook deliveries attempted so far, in
// completion order.
func (s *Server) Deliveries() []Delivery {
	s.delivMu.Lock()
	defer s.delivMu.Unlock()
	return append([]Delivery(nil), s.delivered...)
}

var errBlocked = errors.New("delivery to a private or loopback address is blocked by outbound safe mode (OUTBOUND_HTTP_SAFE_MODE_ENABLED)")

// webhookTransport refuses private addresses when safe mode is on.
func (s *Server) webhookTransport() http.RoundTripper {
	dialer := &net.Dialer{Timeout: s.cfg.WebhookTimeout}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if s.cfg.OutboundSafeMode {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
			if err != nil {
				return nil, err
			}
			for _, ip := range ips {
				if ip.IP.IsLoopback() || ip.IP.IsPrivate() || ip.IP.IsLinkLocalUnicast() || ip.IP.IsUnspecified() {
					return nil, errBlocked
				}
			}
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return tr
}
