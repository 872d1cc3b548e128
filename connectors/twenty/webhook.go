package twenty

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers Twenty signs its webhook deliveries with.
const (
	HeaderTimestamp = "X-Twenty-Webhook-Timestamp" // milliseconds since the epoch
	HeaderSignature = "X-Twenty-Webhook-Signature" // hex HMAC-SHA256
	HeaderNonce     = "X-Twenty-Webhook-Nonce"
)

// Errors of VerifyWebhook; test with errors.Is.
var (
	ErrWebhookUnsigned = errors.New("webhook has no signature or timestamp header")
	ErrWebhookBadSig   = errors.New("webhook signature does not match the body")
	ErrWebhookStale    = errors.New("webhook timestamp is outside the freshness window")
)

// VerifyWebhook checks a Twenty webhook delivery: the signature header must
// be the hex HMAC-SHA256, keyed with secret, of the timestamp header, ":"
// and the raw body exactly as received; and the timestamp must be within
// window of now (either way, to allow for clock skew). Comparison is
// constant-time. A window of 0 skips the freshness check.
func VerifyWebhook(secret []byte, header http.Header, rawBody []byte, now time.Time, window time.Duration) error {
	if len(secret) == 0 {
		return errors.New("webhook secret is empty: set webhookSecret on the connection and the same secret on the Twenty webhook")
	}
	ts := strings.TrimSpace(header.Get(HeaderTimestamp))
	sig := strings.TrimSpace(header.Get(HeaderSignature))
	if ts == "" || sig == "" {
		return fmt.Errorf("%w (%s, %s)", ErrWebhookUnsigned, HeaderTimestamp, HeaderSignature)
	}
	got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
	if err != nil {
		return fmt.Errorf("%w: the signature is not hex", ErrWebhookBadSig)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte(":"))
	mac.Write(rawBody)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrWebhookBadSig
	}
	if window > 0 {
		ms, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: timestamp %q is not milliseconds since the epoch", ErrWebhookStale, ts)
		}
		at := time.UnixMilli(ms)
		if d := now.Sub(at); d > window || d < -window {
			return fmt.Errorf("%w: sent at %s, %s from now (window %s)", ErrWebhookStale, at.UTC().Format(time.RFC3339), d.Round(time.Second), window)
		}
	}
	return nil
}

// SignWebhook returns the signature Twenty would send for timestamp (ms
// since the epoch, as text) and body. Useful for tests and emulators.
func SignWebhook(secret []byte, timestamp string, rawBody []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte(":"))
	mac.Write(rawBody)
	return hex.EncodeToString(mac.Sum(nil))
}

// Webhook actions, the part of eventName after the dot.
const (
	ActionCreated   = "created"
	ActionUpdated   = "updated"
	ActionDeleted   = "deleted" // soft delete
	ActionDestroyed = "destroyed"
	ActionRestored  = "restored"
	ActionUpserted  = "upserted"
)

// Event is one decoded webhook delivery.
type Event struct {
	// Name is eventName as sent, e.g. "person.updated".
	Name string
	// Object is the singular object name ("person"), Action one of the
	// Action constants.
	Object string
	Action string
	// ObjectMetadataID identifies the object in the workspace's metadata.
	ObjectMetadataID string
	WorkspaceID      string
	WebhookID        string
	// EventDate is when Twenty recorded the event (zero if absent).
	EventDate time.Time
	// RecordID is record.id.
	RecordID string
	// Record is the record after the change (before it, for deletes), as
	// JSON-like values.
	Record map[string]any
	// UpdatedFields lists the changed fields of an update, when sent.
	UpdatedFields []string
}

// DecodeWebhook decodes a Twenty webhook body. It checks the shape, not the
// signature: call VerifyWebhook first.
func DecodeWebhook(rawBody []byte) (Event, error) {
	var b struct {
		EventName      string `json:"eventName"`
		ObjectMetadata struct {
			ID           string `json:"id"`
			NameSingular string `json:"nameSingular"`
		} `json:"objectMetadata"`
		WorkspaceID   string         `json:"workspaceId"`
		WebhookID     string         `json:"webhookId"`
		EventDate     string         `json:"eventDate"`
		Record        map[string]any `json:"record"`
		UpdatedFields []string       `json:"updatedFields"`
	}
	dec := json.NewDecoder(bytes.NewReader(rawBody))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		return Event{}, fmt.Errorf("webhook body is not a Twenty event: %w", err)
	}
	obj, action, ok := strings.Cut(b.EventName, ".")
	if !ok || obj == "" || action == "" {
		return Event{}, fmt.Errorf("webhook eventName %q is not object.action", b.EventName)
	}
	switch action {
	case ActionCreated, ActionUpdated, ActionDeleted, ActionDestroyed, ActionRestored, ActionUpserted:
	default:
		return Event{}, fmt.Errorf("webhook eventName %q: unknown action %q", b.EventName, action)
	}
	ev := Event{
		Name: b.EventName, Object: obj, Action: action,
		ObjectMetadataID: b.ObjectMetadata.ID,
		WorkspaceID:      b.WorkspaceID, WebhookID: b.WebhookID,
		UpdatedFields: b.UpdatedFields,
	}
	if b.EventDate != "" {
		t, err := parseTime(b.EventDate)
		if err != nil {
			return Event{}, fmt.Errorf("webhook eventDate: %w", err)
		}
		ev.EventDate = t
	}
	if b.Record != nil {
		ev.Record = normalizeNumbers(b.Record).(map[string]any)
		ev.RecordID, _ = b.Record["id"].(string)
	}
	if ev.RecordID == "" {
		return Event{}, fmt.Errorf("webhook %s carries no record id", b.EventName)
	}
	return ev, nil
}

// WebhookSecret reads the connection's webhookSecret, for the receiver
// that verifies deliveries. It fails when the config sets none.
func (c *Conn) WebhookSecret(ctx context.Context) ([]byte, error) {
	if c.params.WebhookSecret == nil {
		return nil, fmt.Errorf("connection %q has no webhookSecret: set one in its config and on the webhook in Twenty (Settings -> APIs & Webhooks)", c.name)
	}
	v, err := c.resolver.Resolve(ctx, *c.params.WebhookSecret)
	if err != nil {
		return nil, fmt.Errorf("connection %q: reading the webhook secret from %s: %w", c.name, c.params.WebhookSecret, err)
	}
	return []byte(v.Reveal()), nil
}
