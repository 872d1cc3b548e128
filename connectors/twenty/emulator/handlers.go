package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// recorder remembers the status written, for the counters.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// buffer holds a response that a fault will replace.
type buffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *buffer) Header() http.Header         { return b.header }
func (b *buffer) WriteHeader(code int)        { b.status = code }
func (b *buffer) Write(p []byte) (int, error) { return b.body.Write(p) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = 500
		b = []byte(`{"statusCode":500,"error":"InternalServerErrorException","messages":["cannot encode response"]}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"statusCode": e.Status, "error": e.Error, "messages": e.Messages}
	if e.Code != "" {
		body["code"] = e.Code
	}
	writeJSON(w, e.Status, body)
}

// routeKey names a request for the counters and scripted faults.
func routeKey(r *http.Request) string {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) >= 2 && segs[0] == "rest" {
		rest := segs[1:]
		switch {
		case rest[0] == "metadata" || rest[0] == "batch":
			if len(rest) == 3 {
				rest = []string{rest[0], rest[1], "{id}"}
			}
		case rest[0] == "restore" && len(rest) == 3:
			rest = []string{"restore", rest[1], "{id}"}
		case len(rest) == 2:
			rest = []string{rest[0], "{id}"}
		}
		return r.Method + " /rest/" + strings.Join(rest, "/")
	}
	return r.Method + " " + r.URL.Path
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	route := routeKey(r)
	rec := &recorder{ResponseWriter: w}
	counted := false
	// countNow records the request; a dropped connection is counted before
	// it is closed, so that a client seeing the drop also sees the count.
	countNow := func() {
		if !counted {
			counted = true
			s.count(route, rec.status)
		}
	}
	defer func() {
		countNow()
		if s.cfg.Logger != nil {
			s.cfg.Logger.Info("request", "route", route, "status", rec.status, "duration", time.Since(start))
		}
	}()
	if !strings.HasPrefix(r.URL.Path, "/rest/") {
		writeError(rec, notFound(fmt.Sprintf("Cannot %s %s", r.Method, r.URL.Path)))
		return
	}
	if err := s.authenticate(r); err != nil {
		writeError(rec, err)
		return
	}
	if err := s.takeToken(); err != nil {
		writeError(rec, err) // no Retry-After header, like Twenty
		return
	}
	s.mu.Lock()
	fs := s.faults
	s.mu.Unlock()
	if d := fs.cfg.Latency; d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	switch fs.decide(r.Method != http.MethodGet, route) {
	case FaultError:
		writeError(rec, &apiError{Status: 500, Error: "InternalServerErrorException",
			Messages: []string{"Internal server error (injected by the Twenty emulator)"}})
		return
	case FaultRateLimit:
		writeError(rec, rateLimited(s.long.message()))
		return
	case FaultDrop:
		countNow()
		drop(w)
		return
	case FaultErrorAfterApply:
		s.route(&buffer{header: http.Header{}}, r)
		writeError(rec, &apiError{Status: 500, Error: "InternalServerErrorException",
			Messages: []string{"Internal server error (injected by the Twenty emulator after applying the request)"}})
		return
	case FaultDropAfterApply:
		s.route(&buffer{header: http.Header{}}, r)
		countNow()
		drop(w)
		return
	}
	s.route(rec, r)
}

// drop closes the client connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// route dispatches an authenticated request.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/rest/"), "/"), "/")
	m := r.Method
	if m == http.MethodPut {
		m = http.MethodPatch
	}
	cannot := func() { writeError(w, notFound(fmt.Sprintf("Cannot %s %s", r.Method, r.URL.Path))) }
	switch {
	case segs[0] == "metadata":
		s.routeMetadata(w, r, segs[1:])
		return
	case segs[0] == "webhooks" && s.objects["webhooks"] == nil:
		s.routeWebhooks(w, r, segs[1:])
		return
	case segs[0] == "batch" && len(segs) == 2:
		if m != http.MethodPost {
			cannot()
			return
		}
		if t := s.resolve(w, segs[1]); t != nil {
			s.handleBatch(w, r, t)
		}
		return
	case segs[0] == "restore" && len(segs) == 3:
		if m != http.MethodPatch {
			cannot()
			return
		}
		if t := s.resolve(w, segs[1]); t != nil {
			s.handleRestore(w, r, t, segs[2])
		}
		return
	}
	switch len(segs) {
	case 1:
		t := s.resolve(w, segs[0])
		if t == nil {
			return
		}
		switch m {
		case http.MethodGet:
			s.handleList(w, r, t)
		case http.MethodPost:
			s.handleCreate(w, r, t)
		case http.MethodPatch:
			s.handleUpdateMany(w, r, t)
		case http.MethodDelete:
			s.handleDeleteMany(w, r, t)
		default:
			cannot()
		}
	case 2:
		t := s.resolve(w, segs[0])
		if t == nil {
			return
		}
		if _, err := uuid.Parse(segs[1]); err != nil || len(segs[1]) != 36 {
			writeError(w, badRequest("invalid input syntax for type uuid: %q", segs[1]))
			return
		}
		id := strings.ToLower(segs[1])
		switch m {
		case http.MethodGet:
			s.handleGet(w, r, t, id)
		case http.MethodPatch:
			s.handleUpdate(w, r, t, id)
		case http.MethodDelete:
			s.handleDelete(w, r, t, id)
		default:
			cannot()
		}
	default:
		cannot()
	}
}

// resolve finds the table of a plural name, answering 400 for a singular
// or unknown name.
func (s *Server) resolve(w http.ResponseWriter, name string) *table {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tables[name]; t != nil {
		return t
	}
	if p, ok := s.singulars[name]; ok {
		writeError(w, badRequest("object '%s' not found. Did you mean '%s'?", name, p))
		return nil
	}
	writeError(w, badRequest("object '%s' not found", name))
	return nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// readBody decodes a JSON request body into v.
func readBody(r *http.Request, v any) *apiError {
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return badRequest("cannot read the request body: %v", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return badRequest("the request body is empty; send a JSON document")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badRequest("the request body is not valid JSON for this route: %v", err)
	}
	return nil
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request, t *table) {
	lq, err := parseListQuery(t.obj, r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	p := runList(t, lq)
	rows := make([]any, len(p.rows))
	for i, row := range p.rows {
		rows[i] = s.render(t, row, lq.depth)
	}
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{
		"data":       map[string]any{t.obj.Plural: rows},
		"totalCount": p.total,
		"pageInfo":   map[string]any{"hasNextPage": p.hasNext, "startCursor": p.startCursor, "endCursor": p.endCursor},
	})
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request, t *table, id string) {
	depth, err := parseDepth(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	row := t.rows[id]
	if row == nil || row["deletedAt"] != nil {
		s.mu.Unlock()
		writeError(w, notFound("Record not found"))
		return
	}
	out := s.render(t, row, depth)
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"data": map[string]any{t.obj.Singular: out}})
}

// render returns a record for a response, with related records added at
// depth 1. Stored maps are never modified (writes replace them), so the
// result may share them: it is only encoded, never changed.
func (s *Server) render(t *table, row map[string]any, depth int) map[string]any {
	if depth < 1 {
		return row
	}
	out := maps.Clone(row)
	for _, f := range t.obj.Fields {
		if f.Target == "" {
			continue
		}
		name := strings.TrimSuffix(f.Name, "Id")
		if id, _ := row[f.Name].(string); id != "" {
			if rel := s.tables[f.Target].rows[id]; rel != nil {
				out[name] = rel
				continue
			}
		}
		out[name] = nil
	}
	// one-to-many: records of other objects pointing here, by their plural
	for _, p := range sortedPlurals(s.objects) {
		ot := s.tables[p]
		for _, f := range ot.obj.Fields {
			if f.Target != t.obj.Plural {
				continue
			}
			if _, taken := t.obj.byName[p]; taken {
				continue
			}
			list, _ := out[p].([]any)
			if list == nil {
				list = []any{}
			}
			for _, rel := range ot.rows {
				if rel[f.Name] == row["id"] && rel["deletedAt"] == nil {
					list = append(list, rel)
				}
			}
			out[p] = list
		}
	}
	return out
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request, t *table) {
	var input map[string]any
	if err := readBody(r, &input); err != nil {
		writeError(w, err)
		return
	}
	upsert := r.URL.Query().Get("upsert") == "true"
	s.mu.Lock()
	at := s.stamp()
	out, evs, err := s.createOrUpsert(t, input, at, upsert)
	var res map[string]any
	if err == nil {
		res = s.render(t, out, depthOr0(r))
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	s.dispatch(evs)
	writeJSON(w, 201, map[string]any{"data": map[string]any{"create" + capitalize(t.obj.Singular): res}})
}

func depthOr0(r *http.Request) int {
	d, err := parseDepth(r.URL.Query())
	if err != nil {
		return 0
	}
	return d
}

// undo restores a table after a failed batch.
type undo struct {
	id  string
	old map[string]any // nil: the record did not exist
}

// createOrUpsert stores one record (s.mu held). With upsert it first looks
// for a record with the same id or unique value and updates it instead.
func (s *Server) createOrUpsert(t *table, input map[string]any, at time.Time, upsert bool) (map[string]any, []*event, *apiError) {
	if upsert {
		ids, err := s.upsertMatch(t, input)
		if err != nil {
			return nil, nil, err
		}
		if len(ids) > 1 {
			return nil, nil, &apiError{Status: 400, Error: "BadRequestException", Code: "UPSERT_MULTIPLE_MATCHING_RECORDS_CONFLICT",
				Messages: []string{fmt.Sprintf("UPSERT_MULTIPLE_MATCHING_RECORDS_CONFLICT: %d records match this record's id or unique fields (%s)",
					len(ids), strings.Join(ids, ", "))}}
		}
		if len(ids) == 1 {
			id := ids[0]
			in := map[string]any{}
			for k, v := range input {
				if k != "id" {
					in[k] = v
				}
			}
			wasDeleted := t.rows[id]["deletedAt"] != nil
			out, ev, err := s.update(t, id, in, "API", true, at)
			if err != nil {
				return nil, nil, err
			}
			if wasDeleted {
				out = maps.Clone(out)
				out["deletedAt"] = nil
				t.set(out)
			}
			ev.action = "upserted"
			ev.record = out
			return out, []*event{ev}, nil
		}
	}
	out, err := s.prepareCreate(t, input, at, "API")
	if err != nil {
		return nil, nil, err
	}
	s.insert(t, out)
	return out, []*event{{obj: t.obj, action: "created", record: out, at: at}}, nil
}

func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request, t *table) {
	var inputs []map[string]any
	if err := readBody(r, &inputs); err != nil {
		writeError(w, err)
		return
	}
	if len(inputs) > s.cfg.BatchLimit {
		writeError(w, badRequest("Maximum number of records to upsert is %d", s.cfg.BatchLimit))
		return
	}
	upsert := r.URL.Query().Get("upsert") == "true"
	s.mu.Lock()
	at := s.stamp()
	var (
		undos []undo
		evs   []*event
		outs  = make([]any, 0, len(inputs))
		fail  *apiError
	)
	for i, in := range inputs {
		if in == nil {
			fail = badRequest("record %d of the batch is null", i)
			break
		}
		var prev map[string]any
		if id, _ := in["id"].(string); id != "" {
			prev = t.rows[strings.ToLower(id)]
		}
		if upsert && prev == nil {
			if ids, _ := s.upsertMatch(t, in); len(ids) == 1 {
				prev = t.rows[ids[0]]
			}
		}
		out, e, err := s.createOrUpsert(t, in, at, upsert)
		if err != nil {
			fail = err
			break
		}
		if prev != nil && prev["id"] == out["id"] {
			undos = append(undos, undo{id: out["id"].(string), old: prev})
		} else {
			undos = append(undos, undo{id: out["id"].(string)})
		}
		evs = append(evs, e...)
		outs = append(outs, out)
	}
	if fail != nil {
		for i := len(undos) - 1; i >= 0; i-- {
			u := undos[i]
			t.remove(u.id)
			if u.old != nil {
				t.set(u.old)
			}
		}
		s.mu.Unlock()
		writeError(w, fail)
		return
	}
	depth := depthOr0(r)
	for i, o := range outs {
		outs[i] = s.render(t, o.(map[string]any), depth)
	}
	s.mu.Unlock()
	s.dispatch(evs)
	writeJSON(w, 201, map[string]any{"data": map[string]any{"create" + capitalize(t.obj.Plural): outs}})
}

func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request, t *table, id string) {
	var input map[string]any
	if err := readBody(r, &input); err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	out, ev, err := s.update(t, id, input, "API", false, time.Time{})
	var res map[string]any
	if err == nil {
		res = s.render(t, out, depthOr0(r))
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	s.dispatch([]*event{ev})
	writeJSON(w, 200, map[string]any{"data": map[string]any{"update" + capitalize(t.obj.Singular): res}})
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, t *table, id string) {
	hard := r.URL.Query().Get("soft_delete") == "false"
	s.mu.Lock()
	var (
		evs []*event
		err *apiError
	)
	if hard {
		evs, err = s.destroy(t, id)
	} else {
		var ev *event
		ev, err = s.softDelete(t, id)
		evs = []*event{ev}
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	s.dispatch(evs)
	writeJSON(w, 200, map[string]any{"data": map[string]any{"delete" + capitalize(t.obj.Singular): map[string]any{"id": id}}})
}

func (s *Server) handleRestore(w http.ResponseWriter, r *http.Request, t *table, id string) {
	s.mu.Lock()
	out, ev, err := s.restore(t, strings.ToLower(id))
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	if ev != nil {
		s.dispatch([]*event{ev})
	}
	writeJSON(w, 200, map[string]any{"data": map[string]any{"restore" + capitalize(t.obj.Singular): out}})
}

// affected returns the ids a filtered update or delete touches: the first
// MaxAffectedRecords matches in position order (s.mu held).
func (s *Server) affected(r *http.Request, t *table) ([]string, *apiError) {
	src := r.URL.Query().Get("filter")
	if src == "" {
		return nil, badRequest("a filter is required to update or delete many records: add ?filter=...")
	}
	f, withDeleted, err := parseFilter(t.obj, src)
	if err != nil {
		return nil, err
	}
	order, _ := parseOrderBy(t.obj, "")
	lq := &listQuery{filter: f, withDeleted: withDeleted, order: order, limit: s.cfg.MaxAffectedRecords}
	p := runList(t, lq)
	ids := make([]string, len(p.rows))
	for i, row := range p.rows {
		ids[i] = row["id"].(string)
	}
	sort.Strings(ids)
	return ids, nil
}

func (s *Server) handleUpdateMany(w http.ResponseWriter, r *http.Request, t *table) {
	var input map[string]any
	if err := readBody(r, &input); err != nil {
		writeError(w, err)
		return
	}
	delete(input, "id")
	s.mu.Lock()
	ids, err := s.affected(r, t)
	if err != nil {
		s.mu.Unlock()
		writeError(w, err)
		return
	}
	// validate once up front so that the update is all or nothing
	if _, err := s.coerceInput(t.obj, input); err != nil {
		s.mu.Unlock()
		writeError(w, err)
		return
	}
	at := s.stamp()
	var evs []*event
	outs := []any{}
	var undos []undo
	for _, id := range ids {
		prev := t.rows[id]
		out, ev, err := s.update(t, id, input, "API", true, at)
		if err != nil {
			for i := len(undos) - 1; i >= 0; i-- {
				t.set(undos[i].old)
			}
			s.mu.Unlock()
			writeError(w, err)
			return
		}
		undos = append(undos, undo{id: id, old: prev})
		evs = append(evs, ev)
		outs = append(outs, out)
	}
	s.mu.Unlock()
	s.dispatch(evs)
	writeJSON(w, 200, map[string]any{"data": map[string]any{"update" + capitalize(t.obj.Plural): outs}})
}

func (s *Server) handleDeleteMany(w http.ResponseWriter, r *http.Request, t *table) {
	hard := r.URL.Query().Get("soft_delete") == "false"
	s.mu.Lock()
	ids, err := s.affected(r, t)
	if err != nil {
		s.mu.Unlock()
		writeError(w, err)
		return
	}
	var evs []*event
	outs := []any{}
	for _, id := range ids {
		if hard {
			e, err := s.destroy(t, id)
			if err == nil {
				evs = append(evs, e...)
			}
		} else if t.rows[id]["deletedAt"] == nil {
			e, err := s.softDelete(t, id)
			if err == nil {
				evs = append(evs, e)
			}
		}
		outs = append(outs, map[string]any{"id": id})
	}
	s.mu.Unlock()
	s.dispatch(evs)
	writeJSON(w, 200, map[string]any{"data": map[string]any{"delete" + capitalize(t.obj.Plural): outs}})
}
