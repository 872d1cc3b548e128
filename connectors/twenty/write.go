package twenty

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/sourcegraph/conc/pool"

	"github.com/kelompok/pipe/connectors"
)

// Write applies changes and returns one Result per change, in order.
//
//   - OpCreate: POST /rest/batch/{plural} with the engine's ids, batchSize
//     records per call. A batch refused with a 400 is split in halves until
//     the refused records are alone, so the good ones still go in; each
//     refused record gets a *connectors.RecordError with Twenty's messages.
//     "Record already exists" means an earlier (ambiguous) try went
//     through: the record is fetched and returned as a success.
//   - OpUpdate: PATCH /rest/{plural}/{id} with the given (changed) fields;
//     a 404 is an error wrapping connectors.ErrNotFound.
//   - OpDelete: soft delete, DELETE /rest/{plural}/{id}?soft_delete=true.
//   - OpDestroy: hard delete, DELETE /rest/{plural}/{id}?soft_delete=false.
//     For both deletes a 404 counts as done (the record is already gone).
//   - OpRestore: PATCH /rest/restore/{plural}/{id}, then, when the change
//     carries fields, a PATCH of them as for an update (Twenty's restore
//     takes no body).
//
// The returned error is set only when the whole call failed (the API key
// was refused, Twenty stopped answering: a *DownError, the context ended);
// Results are then nil.
func (s *Stream) Write(ctx context.Context, changes []connectors.Change) ([]connectors.Result, error) {
	results := make([]connectors.Result, len(changes))
	var creates, others []int
	for i, ch := range changes {
		switch ch.Op {
		case connectors.OpCreate:
			if ch.ID == "" {
				results[i] = connectors.Result{Err: &connectors.RecordError{Reason: "a create for Twenty needs a client id"}}
				continue
			}
			creates = append(creates, i)
		case connectors.OpUpdate, connectors.OpDelete, connectors.OpDestroy, connectors.OpRestore:
			others = append(others, i)
		default:
			results[i] = connectors.Result{ID: ch.ID, Err: &connectors.RecordError{Reason: fmt.Sprintf("unknown operation %q", ch.Op)}}
		}
	}

	// The first fatal error (a refused key) stops the calls still running.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		fatalMu sync.Mutex
		fatal   error
	)
	setFatal := func(err error) {
		fatalMu.Lock()
		if fatal == nil {
			fatal = err
		}
		fatalMu.Unlock()
		cancel()
	}
	p := pool.New().WithMaxGoroutines(writeConcurrency)
	bs := s.conn.params.BatchSize
	for start := 0; start < len(creates); start += bs {
		batch := creates[start:min(start+bs, len(creates))]
		p.Go(func() {
			if err := s.createBatch(ctx, changes, batch, results); err != nil {
				setFatal(err)
			}
		})
	}
	for _, i := range others {
		p.Go(func() {
			res, err := s.writeOne(ctx, changes[i])
			if err != nil {
				setFatal(err)
				return
			}
			results[i] = res
		})
	}
	p.Wait()
	if fatal != nil {
		return nil, fatal
	}
	return results, nil
}

// isFatal reports errors that make the whole Write fail rather than one
// record: a refused key, a Twenty found down (the records still to write
// would each fail the same way) and an ended context.
func isFatal(ctx context.Context, err error) bool {
	var ae *AuthError
	var de *DownError
	return errors.As(err, &ae) || errors.As(err, &de) || ctx.Err() != nil
}

// createBatch creates changes[idx...] in one call, splitting on refusal.
func (s *Stream) createBatch(ctx context.Context, changes []connectors.Change, idx []int, results []connectors.Result) error {
	if len(idx) == 0 {
		return nil
	}
	body := make([]map[string]any, len(idx))
	for k, i := range idx {
		rec := make(map[string]any, len(changes[i].Fields)+1)
		for f, v := range changes[i].Fields {
			rec[f] = v
		}
		rec["id"] = changes[i].ID
		body[k] = rec
	}
	path := "/rest/batch/" + s.obj.NamePlural
	resp, err := s.conn.call(ctx, http.MethodPost, path, nil, body)
	if err == nil {
		_, raw, derr := decodeEnvelope(http.MethodPost, path, resp.Body)
		var recs []connectors.Record
		if derr == nil {
			recs, derr = s.decodeRecords(raw)
		}
		if derr != nil {
			// Written, but the answer is unreadable: report the ids as written.
			for _, i := range idx {
				results[i] = connectors.Result{ID: changes[i].ID}
			}
			s.conn.log.Warn("batch create answer could not be read", "object", s.obj.NamePlural, "err", derr)
			return nil
		}
		byID := make(map[string]*connectors.Record, len(recs))
		for k := range recs {
			byID[recs[k].ID] = &recs[k]
		}
		for _, i := range idx {
			results[i] = connectors.Result{ID: changes[i].ID, Record: byID[changes[i].ID]}
		}
		return nil
	}
	if isFatal(ctx, err) {
		return err
	}
	var api *APIError
	if !errors.As(err, &api) || api.Status >= 500 || api.Status == http.StatusTooManyRequests {
		// Still failing after retries: transient for every record.
		for _, i := range idx {
			results[i] = connectors.Result{ID: changes[i].ID, Err: err}
		}
		return nil
	}
	if api.contains("already exists") {
		// Some of these ids exist: an earlier try that looked failed went
		// through. Those are successes; send the rest again.
		ids := make([]string, len(idx))
		for k, i := range idx {
			ids[k] = changes[i].ID
		}
		found, gerr := s.Get(ctx, ids)
		if gerr != nil {
			if isFatal(ctx, gerr) {
				return gerr
			}
			for _, i := range idx {
				results[i] = connectors.Result{ID: changes[i].ID, Err: gerr}
			}
			return nil
		}
		byID := make(map[string]*connectors.Record, len(found))
		for k := range found {
			byID[found[k].ID] = &found[k]
		}
		var rest []int
		for _, i := range idx {
			if r := byID[changes[i].ID]; r != nil {
				results[i] = connectors.Result{ID: changes[i].ID, Record: r}
			} else {
				rest = append(rest, i)
			}
		}
		if len(rest) < len(idx) {
			return s.createBatch(ctx, changes, rest, results)
		}
		// None exists: the message was about something else; split below.
	}
	if len(idx) == 1 {
		i := idx[0]
		results[i] = connectors.Result{ID: changes[i].ID, Err: &connectors.RecordError{Reason: api.Reason(), Err: api}}
		return nil
	}
	half := len(idx) / 2
	if err := s.createBatch(ctx, changes, idx[:half], results); err != nil {
		return err
	}
	return s.createBatch(ctx, changes, idx[half:], results)
}

// writeOne applies an update, delete, destroy or restore.
func (s *Stream) writeOne(ctx context.Context, ch connectors.Change) (connectors.Result, error) {
	res := connectors.Result{ID: ch.ID}
	if ch.ID == "" {
		res.Err = &connectors.RecordError{Reason: fmt.Sprintf("%s without a record id", ch.Op)}
		return res, nil
	}
	id := url.PathEscape(ch.ID)
	var (
		method, path string
		query        url.Values
		body         any
	)
	switch ch.Op {
	case connectors.OpUpdate:
		if len(ch.Fields) == 0 {
			return res, nil
		}
		method, path, body = http.MethodPatch, s.path()+"/"+id, ch.Fields
	case connectors.OpDelete:
		method, path = http.MethodDelete, s.path()+"/"+id
		query = url.Values{"soft_delete": {"true"}, "softDelete": {"true"}}
	case connectors.OpDestroy:
		method, path = http.MethodDelete, s.path()+"/"+id
		query = url.Values{"soft_delete": {"false"}, "softDelete": {"false"}}
	case connectors.OpRestore:
		method, path = http.MethodPatch, "/rest/restore/"+s.obj.NamePlural+"/"+id
	}
	resp, err := s.conn.call(ctx, method, path, query, body)
	if err != nil {
		if isFatal(ctx, err) {
			return res, err
		}
		var api *APIError
		switch {
		case errors.As(err, &api) && api.Status == http.StatusNotFound:
			if ch.Op == connectors.OpDelete || ch.Op == connectors.OpDestroy {
				return res, nil // already gone
			}
			res.Err = fmt.Errorf("%s %s/%s: %w (%s)", ch.Op, s.obj.NamePlural, ch.ID, connectors.ErrNotFound, api.Reason())
		case errors.As(err, &api) && api.Status >= 400 && api.Status < 500 && api.Status != http.StatusTooManyRequests:
			res.Err = &connectors.RecordError{Reason: api.Reason(), Err: api}
		default:
			res.Err = err
		}
		return res, nil
	}
	if ch.Op == connectors.OpRestore && len(ch.Fields) > 0 {
		// Restored; now the fields the restore carries. Should this fail,
		// the record is live with its old values, and the next run sees the
		// difference and updates it.
		up := ch
		up.Op = connectors.OpUpdate
		return s.writeOne(ctx, up)
	}
	if ch.Op == connectors.OpUpdate || ch.Op == connectors.OpRestore {
		_, raw, err := decodeEnvelope(method, path, resp.Body)
		if err == nil {
			var recs []connectors.Record
			if recs, err = s.decodeRecords(raw); err == nil && len(recs) == 1 {
				res.Record = &recs[0]
			}
		}
		if err != nil {
			s.conn.log.Warn("write answer could not be read", "op", ch.Op, "object", s.obj.NamePlural, "err", err)
		}
	}
	return res, nil
}
