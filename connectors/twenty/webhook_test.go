package twenty

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestVerifyWebhook(t *testing.T) {
	secret := []byte("whsec-kelompok")
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	body := []byte(`{"eventName":"person.updated","record":{"id":"6a1e0000-0000-4000-8000-000000000001","city":"Bandung"}}`)
	ts := strconv.FormatInt(now.Add(-30*time.Second).UnixMilli(), 10)
	sig := SignWebhook(secret, ts, body)
	hdr := func(ts, sig string) http.Header {
		h := http.Header{}
		if ts != "" {
			h.Set(HeaderTimestamp, ts)
		}
		if sig != "" {
			h.Set(HeaderSignature, sig)
		}
		h.Set(HeaderNonce, "n-1")
		return h
	}
	tampered := []byte(strings.Replace(string(body), "Bandung", "Jakarta", 1))
	old := strconv.FormatInt(now.Add(-10*time.Minute).UnixMilli(), 10)
	future := strconv.FormatInt(now.Add(10*time.Minute).UnixMilli(), 10)
	tests := []struct {
		name    string
		secret  []byte
		header  http.Header
		body    []byte
		window  time.Duration
		wantErr error
	}{
		{"good", secret, hdr(ts, sig), body, 5 * time.Minute, nil},
		{"good, upper-case hex", secret, hdr(ts, strings.ToUpper(sig)), body, 5 * time.Minute, nil},
		{"good, no freshness check", secret, hdr(old, SignWebhook(secret, old, body)), body, 0, nil},
		{"tampered body", secret, hdr(ts, sig), tampered, 5 * time.Minute, ErrWebhookBadSig},
		{"re-serialised body (whitespace)", secret, hdr(ts, sig), []byte(strings.ReplaceAll(string(body), ":", ": ")), 5 * time.Minute, ErrWebhookBadSig},
		{"timestamp changed", secret, hdr(strconv.FormatInt(now.UnixMilli(), 10), sig), body, 5 * time.Minute, ErrWebhookBadSig},
		{"wrong secret", []byte("other"), hdr(ts, sig), body, 5 * time.Minute, ErrWebhookBadSig},
		{"signature not hex", secret, hdr(ts, "zz"+sig[2:]), body, 5 * time.Minute, ErrWebhookBadSig},
		{"stale", secret, hdr(old, SignWebhook(secret, old, body)), body, 5 * time.Minute, ErrWebhookStale},
		{"from the future", secret, hdr(future, SignWebhook(secret, future, body)), body, 5 * time.Minute, ErrWebhookStale},
		{"timestamp not a number", secret, hdr("yesterday", SignWebhook(secret, "yesterday", body)), body, 5 * time.Minute, ErrWebhookStale},
		{"unsigned", secret, hdr("", ""), body, 5 * time.Minute, ErrWebhookUnsigned},
		{"no timestamp", secret, hdr("", sig), body, 5 * time.Minute, ErrWebhookUnsigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyWebhook(tt.secret, tt.header, tt.body, now, tt.window)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if err := VerifyWebhook(nil, hdr(ts, sig), body, now, time.Minute); err == nil || !strings.Contains(err.Error(), "webhookSecret") {
		t.Errorf("empty secret: %v", err)
	}
}

func TestDecodeWebhook(t *testing.T) {
	tests := []struct {
		name, body         string
		object, action, id string
		updated            []string
		wantErr            string
	}{
		{name: "update", body: `{"targetUrl":"https://x","eventName":"person.updated","objectMetadata":{"id":"om-1","nameSingular":"person"},"workspaceId":"ws","webhookId":"wh","eventDate":"2026-03-01T09:00:00.123Z","record":{"id":"p-1","employees":12,"score":1.5},"updatedFields":["city"]}`,
			object: "person", action: "updated", id: "p-1", updated: []string{"city"}},
		{name: "custom object destroyed", body: `{"eventName":"kelompokMember.destroyed","record":{"id":"k-9"}}`, object: "kelompokMember", action: "destroyed", id: "k-9"},
		{name: "restore", body: `{"eventName":"company.restored","record":{"id":"c-1","deletedAt":null}}`, object: "company", action: "restored", id: "c-1"},
		{name: "upsert", body: `{"eventName":"person.upserted","record":{"id":"p-2"}}`, object: "person", action: "upserted", id: "p-2"},
		{name: "soft delete", body: `{"eventName":"opportunity.deleted","record":{"id":"o-1"}}`, object: "opportunity", action: "deleted", id: "o-1"},
		{name: "unknown action", body: `{"eventName":"person.merged","record":{"id":"p"}}`, wantErr: "unknown action"},
		{name: "no dot", body: `{"eventName":"personupdated","record":{"id":"p"}}`, wantErr: "not object.action"},
		{name: "no record id", body: `{"eventName":"person.created","record":{}}`, wantErr: "no record id"},
		{name: "not json", body: `eventName=person.created`, wantErr: "not a Twenty event"},
		{name: "bad date", body: `{"eventName":"person.created","eventDate":"yesterday","record":{"id":"p"}}`, wantErr: "eventDate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodeWebhook([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Object != tt.object || ev.Action != tt.action || ev.RecordID != tt.id || strings.Join(ev.UpdatedFields, ",") != strings.Join(tt.updated, ",") {
				t.Errorf("got %+v", ev)
			}
			if tt.name == "update" {
				if ev.Record["employees"] != int64(12) || ev.Record["score"] != 1.5 || ev.EventDate.IsZero() || ev.WorkspaceID != "ws" || ev.ObjectMetadataID != "om-1" {
					t.Errorf("values: %#v %v", ev.Record, ev.EventDate)
				}
			}
		})
	}
}
