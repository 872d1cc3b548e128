package twenty

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kelompok/pipe/connectors"
)

// Stream is one Twenty object of a connection.
type Stream struct {
	conn *Conn
	obj  *Object
}

// Name is the object's plural name.
func (s *Stream) Name() string { return s.obj.NamePlural }

func (s *Stream) path() string { return "/rest/" + s.obj.NamePlural }

// DroppedFields are the housekeeping fields left out of Record.Fields
// because they change without any user edit and would show up in every
// diff: position (reordering a board), updatedBy (whoever touched the
// record last, including this connector) and searchVector (a derived
// full-text index). id, createdAt, updatedAt, deletedAt and createdBy stay.
var DroppedFields = []string{"position", "updatedBy", "searchVector"}

// deletedTerm makes Twenty include soft-deleted records: it excludes them
// unless the filter mentions deletedAt.
const deletedTerm = "or(deletedAt[is]:NULL,deletedAt[is]:NOT_NULL)"

// Read returns one page of records changed after req.After, in (updatedAt,
// id) order. It asks for order_by=updatedAt,id with the keyset filter
//
//	or(updatedAt[gt]:"T",and(updatedAt[eq]:"T",id[gt]:"ID"))
//
// so records created in one batch (which share updatedAt) are neither
// skipped nor repeated. The page size is a wish: older servers clamp it to
// 60, so More comes from pageInfo.hasNextPage, never from a count.
func (s *Stream) Read(ctx context.Context, req connectors.ReadRequest) (connectors.Page, error) {
	limit := req.Limit
	if limit <= 0 || limit > MaxPageSize {
		limit = MaxPageSize
	}
	var terms []string
	if req.IncludeDeleted {
		terms = append(terms, deletedTerm)
	}
	if !req.After.IsZero() {
		t := formatTime(req.After.UpdatedAt)
		if req.After.ID == "" {
			// After (T, ""): stamped at T or later (ids are not empty).
			terms = append(terms, fmt.Sprintf(`updatedAt[gte]:"%s"`, t))
		} else {
			terms = append(terms, fmt.Sprintf(`or(updatedAt[gt]:"%s",and(updatedAt[eq]:"%s",id[gt]:"%s"))`, t, t, req.After.ID))
		}
	}
	q := url.Values{}
	q.Set("order_by", "updatedAt,id")
	q.Set("limit", strconv.Itoa(limit))
	q.Set("depth", "0")
	if f := conjoin(terms); f != "" {
		q.Set("filter", f)
	}
	// A server that stores more precision than it prints could hand back
	// records at or before After; drop them and, if a whole page was such,
	// follow the cursor (a bounded number of times) instead of looping.
	for range 20 {
		env, recs, err := s.list(ctx, q)
		if err != nil {
			return connectors.Page{}, err
		}
		page := connectors.Page{More: env.PageInfo.HasNextPage}
		for _, r := range recs {
			if req.After.IsZero() || req.After.Before(connectors.PositionOf(r)) {
				page.Records = append(page.Records, r)
			}
		}
		if len(page.Records) > 0 || !page.More || env.PageInfo.EndCursor == "" {
			return page, nil
		}
		q.Set("starting_after", env.PageInfo.EndCursor)
	}
	return connectors.Page{}, fmt.Errorf("twenty %s: no progress past %s/%s after 20 pages; the server's updatedAt order looks inconsistent",
		s.path(), formatTime(req.After.UpdatedAt), req.After.ID)
}

// list performs one GET of the collection.
func (s *Stream) list(ctx context.Context, q url.Values) (*envelope, []connectors.Record, error) {
	resp, err := s.conn.call(ctx, http.MethodGet, s.path(), q, nil)
	if err != nil {
		return nil, nil, err
	}
	env, raw, err := decodeEnvelope(http.MethodGet, s.path(), resp.Body)
	if err != nil {
		return nil, nil, err
	}
	recs, err := s.decodeRecords(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("twenty GET %s: %w", s.path(), err)
	}
	return env, recs, nil
}

// listAll follows starting_after cursors until hasNextPage is false.
func (s *Stream) listAll(ctx context.Context, q url.Values) ([]connectors.Record, error) {
	var all []connectors.Record
	for {
		env, recs, err := s.list(ctx, q)
		if err != nil {
			return nil, err
		}
		all = append(all, recs...)
		if !env.PageInfo.HasNextPage || env.PageInfo.EndCursor == "" || len(recs) == 0 {
			return all, nil
		}
		q.Set("starting_after", env.PageInfo.EndCursor)
	}
}

// Get returns the records with the given ids, soft-deleted ones included,
// with id[in] filters in chunks that keep each URL within about 4 KB.
func (s *Stream) Get(ctx context.Context, ids []string) ([]connectors.Record, error) {
	return s.lookup(ctx, "id", ids, true)
}

// Find returns the records whose field (dotted path, e.g.
// emails.primaryEmail) equals one of values, soft-deleted ones included.
// Emails are lower-cased first (Twenty stores them so). Values that the
// filter syntax cannot carry (containing a comma or a parenthesis) cannot
// be looked up and never match.
func (s *Stream) Find(ctx context.Context, field string, values []string) ([]connectors.Record, error) {
	if isEmailPath(s.obj, field) {
		norm := make([]string, len(values))
		for i, v := range values {
			norm[i] = strings.ToLower(strings.TrimSpace(v))
		}
		values = norm
	}
	return s.lookup(ctx, field, values, !isEnumPath(s.obj, field))
}

func (s *Stream) lookup(ctx context.Context, field string, values []string, quote bool) ([]connectors.Record, error) {
	chunks := chunkValues(field, dedupe(values), quote, maxQueryBytes)
	var out []connectors.Record
	seen := map[string]bool{}
	for _, chunk := range chunks {
		q := url.Values{}
		q.Set("filter", chunk)
		q.Set("limit", strconv.Itoa(MaxPageSize))
		q.Set("depth", "0")
		recs, err := s.listAll(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// chunkValues builds filters and(deletedAt term, field[in]:[...]) whose
// URL-encoded size stays under budget. The [in] term comes last: Twenty
// splits terms on commas outside quotes, and a quote inside a value (an
// apostrophe in o'brien@x.id) would otherwise disturb that split.
func chunkValues(field string, values []string, quote bool, budget int) []string {
	prefix := "and(" + deletedTerm + "," + field + "[in]:["
	const suffix = "])"
	var out []string
	var cur []string
	size := len(url.QueryEscape(prefix + suffix))
	for _, v := range values {
		if v == "" || strings.ContainsAny(v, ",()[]") {
			continue
		}
		item := v
		if quote {
			item = `"` + v + `"`
		}
		n := len(url.QueryEscape(item)) + 3 // the encoded comma
		if len(cur) > 0 && size+n > budget {
			out = append(out, prefix+strings.Join(cur, ",")+suffix)
			cur, size = nil, len(url.QueryEscape(prefix+suffix))
		}
		cur = append(cur, item)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, prefix+strings.Join(cur, ",")+suffix)
	}
	return out
}

func dedupe(values []string) []string {
	seen := make(map[string]bool, len(values))
	out := make([]string, 0, len(values))
	for _, v := range values {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func conjoin(terms []string) string {
	switch len(terms) {
	case 0:
		return ""
	case 1:
		return terms[0]
	}
	return "and(" + strings.Join(terms, ",") + ")"
}

func isEmailPath(obj *Object, path string) bool {
	if strings.HasSuffix(path, ".primaryEmail") || strings.HasSuffix(path, ".additionalEmails") {
		return true
	}
	return obj.fieldType(path) == "EMAILS"
}

func isEnumPath(obj *Object, path string) bool {
	switch obj.fieldType(path) {
	case "SELECT", "MULTI_SELECT", "RATING":
		return !strings.Contains(path, ".")
	}
	return false
}

// formatTime prints a time the way Twenty does (UTC, milliseconds).
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// parseTime accepts RFC 3339 with or without fractional seconds, with Z or
// an offset, and the space-separated form Postgres prints.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", s)
}

// decodeRecords decodes a JSON list (or one object) of records.
func (s *Stream) decodeRecords(raw json.RawMessage) ([]connectors.Record, error) {
	raw = bytes.TrimSpace(raw)
	var items []json.RawMessage
	if len(raw) > 0 && raw[0] == '{' {
		items = []json.RawMessage{raw}
	} else if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("expected a list of records: %w", err)
	}
	out := make([]connectors.Record, 0, len(items))
	for _, it := range items {
		r, err := s.decodeRecord(it)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *Stream) decodeRecord(raw json.RawMessage) (connectors.Record, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return connectors.Record{}, fmt.Errorf("decoding a record: %w", err)
	}
	return s.toRecord(m)
}

func (s *Stream) toRecord(m map[string]any) (connectors.Record, error) {
	var r connectors.Record
	id, _ := m["id"].(string)
	if id == "" {
		return r, fmt.Errorf("a record of %s has no id", s.obj.NamePlural)
	}
	r.ID = id
	for _, k := range DroppedFields {
		delete(m, k)
	}
	for k, v := range m {
		f := s.obj.Field(k)
		switch {
		case f != nil && (f.Type == "RELATION" || f.Type == "MORPH_RELATION") && isNested(v):
			delete(m, k) // nested related records (depth 1): not this record's data
			continue
		case k == "createdAt" || k == "updatedAt" || k == "deletedAt" || (f != nil && f.Type == "DATE_TIME"):
			if str, ok := v.(string); ok {
				t, err := parseTime(str)
				if err != nil {
					return r, fmt.Errorf("record %s of %s: %s: %w", id, s.obj.NamePlural, k, err)
				}
				m[k] = t
				continue
			}
		}
		m[k] = normalizeNumbers(v)
	}
	if t, ok := m["updatedAt"].(time.Time); ok {
		r.UpdatedAt = t
	} else {
		return r, fmt.Errorf("record %s of %s has no updatedAt", id, s.obj.NamePlural)
	}
	r.Deleted = m["deletedAt"] != nil
	r.Fields = m
	return r, nil
}

func isNested(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

// normalizeNumbers turns json.Number into int64 when integral, float64
// otherwise, recursively.
func normalizeNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, x := range t {
			t[k] = normalizeNumbers(x)
		}
		return t
	case []any:
		for i, x := range t {
			t[i] = normalizeNumbers(x)
		}
		return t
	}
	return v
}
