package sql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kelompok/pipe/connectors"
)

// DefaultPageSize is the page size of a Read that asks for none.
const DefaultPageSize = 500

func init() {
	connectors.Register("postgres", OpenPostgres)
	connectors.Register("sqlite", OpenSQLite)
}

// conn is a postgres or sqlite Connection.
type conn struct {
	name string
	d    dialect
	db   database
	cfgs map[string]StreamConfig
	log  *slog.Logger

	mu      sync.Mutex
	streams map[string]*stream
}

func newConn(p connectors.OpenParams, d dialect, db database, cfgs map[string]StreamConfig) *conn {
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &conn{name: p.Name, d: d, db: db, cfgs: cfgs, log: log, streams: map[string]*stream{}}
}

// Capabilities implements connectors.Describer: creates keep the proposed id
// (for uuid and text keys), and deletes are soft when every configured
// stream has a deletedAt column.
func (c *conn) Capabilities() connectors.Capabilities {
	soft := len(c.cfgs) > 0
	for _, sc := range c.cfgs {
		if sc.DeletedAt == "" {
			soft = false
		}
	}
	return connectors.Capabilities{ClientIDs: true, SoftDelete: soft}
}

// Close closes the connection pool.
func (c *conn) Close() error {
	c.db.close()
	return nil
}

// Stream opens the named stream, reading its table's columns from the
// catalog the first time.
func (c *conn) Stream(ctx context.Context, name string) (connectors.Stream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.streams[name]; ok {
		return s, nil
	}
	sc, ok := c.cfgs[name]
	if !ok && len(c.cfgs) > 0 {
		known := make([]string, 0, len(c.cfgs))
		for k := range c.cfgs {
			known = append(known, k)
		}
		sort.Strings(known)
		return nil, fmt.Errorf("stream %q is not configured on connection %q (configured: %s)", name, c.name, strings.Join(known, ", "))
	}
	s, err := openStream(ctx, c, name, sc.withDefaults(name))
	if err != nil {
		return nil, fmt.Errorf("stream %q: %w", name, err)
	}
	c.log.Debug("stream opened", "stream", name, "table", sc.Table, "columns", len(s.cols), "softDelete", sc.DeletedAt != "")
	c.streams[name] = s
	return s, nil
}

// stream is one table.
type stream struct {
	name  string
	conn  string // the connection's name, for messages
	cfg   StreamConfig
	d     dialect
	db    database
	table string // quoted, qualified

	cols   []column          // selected, in select order
	byName map[string]column // every column of the table
	dec    []decodeFunc

	key, upd, del column
	keyIdx        int
	updIdx        int
	delIdx        int // -1 without deletedAt
	selectList    string
	sortExpr      string
	extraSort     bool
	quotedKey     string
}

func openStream(ctx context.Context, c *conn, name string, sc StreamConfig) (*stream, error) {
	parts, err := splitQualified(sc.Table)
	if err != nil {
		return nil, err
	}
	catalog, err := c.d.columns(ctx, c.db, parts)
	if err != nil {
		return nil, fmt.Errorf("read the columns of table %s: %w", sc.Table, err)
	}
	if len(catalog) == 0 {
		return nil, fmt.Errorf("table %s not found in the %s database (check table, and the schema prefix)", sc.Table, c.d.kind())
	}
	s := &stream{name: name, conn: c.name, cfg: sc, d: c.d, db: c.db, table: quoteQualified(parts), byName: map[string]column{}}
	var order []string
	for _, col := range catalog {
		if t, ok := sc.Columns[col.Name]; ok {
			col.Type = t
		}
		s.byName[col.Name] = col
		order = append(order, col.Name)
	}
	need := func(what, col string) (column, error) {
		cc, ok := s.byName[col]
		if !ok {
			return column{}, fmt.Errorf("%s column %q is not a column of table %s (columns: %s)", what, col, sc.Table, strings.Join(order, ", "))
		}
		return cc, nil
	}
	if s.key, err = need("key", sc.Key); err != nil {
		return nil, err
	}
	if s.upd, err = need("updatedAt", sc.UpdatedAt); err != nil {
		return nil, err
	}
	// Reads are ordered and resumed by this column as a time. PostgreSQL
	// needs a time type; SQLite keeps times as text (any type but a number
	// or a boolean, which it would read as a Julian day).
	if t := s.upd.Type; (c.d.kind() == "postgres" && t != TypeTimestamp) || t == TypeInt || t == TypeFloat || t == TypeBool {
		return nil, fmt.Errorf("updatedAt column %q of table %s is of type %s, not a time: reads are ordered and resumed by it; "+
			"name a timestamp column as updatedAt (one that every change sets)", sc.UpdatedAt, sc.Table, s.upd.DBType)
	}
	if sc.DeletedAt != "" {
		if s.del, err = need("deletedAt", sc.DeletedAt); err != nil {
			return nil, err
		}
	}
	for _, col := range sc.UpsertOn {
		if _, err = need("upsertOn", col); err != nil {
			return nil, err
		}
	}
	var selected []string
	if len(sc.Columns) == 0 {
		selected = order
	} else {
		for col := range sc.Columns {
			if _, err := need("configured", col); err != nil {
				return nil, err
			}
			selected = append(selected, col)
		}
		sort.Strings(selected)
		for _, must := range []string{sc.DeletedAt, sc.UpdatedAt, sc.Key} {
			if must != "" && sc.Columns[must] == "" {
				selected = append([]string{must}, selected...)
			}
		}
	}
	s.delIdx = -1
	quoted := make([]string, len(selected))
	for i, n := range selected {
		col := s.byName[n]
		s.cols = append(s.cols, col)
		s.dec = append(s.dec, decoder(col.Type, c.d.textEncoded()))
		quoted[i] = quoteIdent(n)
		switch n {
		case sc.Key:
			s.keyIdx = i
		case sc.UpdatedAt:
			s.updIdx = i
		}
		if n == sc.DeletedAt {
			s.delIdx = i
		}
	}
	s.quotedKey = quoteIdent(sc.Key)
	s.sortExpr, s.extraSort = c.d.sortExpr(quoteIdent(sc.UpdatedAt))
	if s.extraSort {
		quoted = append(quoted, s.sortExpr)
	}
	s.selectList = strings.Join(quoted, ", ")
	return s, nil
}

// Capabilities reports what this stream supports (connectors.Describer).
func (s *stream) Capabilities() connectors.Capabilities {
	return connectors.Capabilities{
		ClientIDs:  s.keepsIDs(),
		SoftDelete: s.cfg.DeletedAt != "",
	}
}

// keepsIDs reports whether a create keeps the id the engine proposes: the
// key is a uuid or text column, given that id on insert. Any other key
// (an integer serial) is left out of the insert and assigned by the
// database.
func (s *stream) keepsIDs() bool {
	return s.key.Type == TypeUUID || s.key.Type == TypeText
}

// errCreateNotReplayable is the whole-call error of a Write with a create
// that a replay after a crash would write as a second row. The engine
// recovers a create it wrote but did not commit (a crash) by getting the
// record by its proposed id; when the database assigns the key, that finds
// nothing and the create is written again. The second insert updates the
// first row only when it meets it on upsertOn: a unique column other than
// the key, or the key itself when the create carries its value.
func (s *stream) errCreateNotReplayable(ch connectors.Change) error {
	if s.keepsIDs() || ch.Fields[s.cfg.Key] != nil {
		return nil
	}
	for _, col := range s.cfg.UpsertOn {
		if col == s.cfg.Key {
			return fmt.Errorf("connection %q stream %q: the database assigns the key (%s, of type %s), so a create replayed after a crash "+
				"would add a second row; set upsertOn to a unique column the creates carry (e.g. email) so that pipe can find what it already wrote, "+
				"or key the table by a uuid or text column", s.conn, s.name, s.cfg.Key, s.key.Type)
		}
	}
	return nil
}

// errNoUpsertValue refuses a create into a table whose database assigns
// the key when it leaves an upsertOn column empty: a NULL never conflicts,
// so a replay of it after a crash would add a second row (see
// errCreateNotReplayable).
func (s *stream) errNoUpsertValue(ch connectors.Change) error {
	if s.keepsIDs() || ch.Fields[s.cfg.Key] != nil {
		return nil
	}
	for _, col := range s.cfg.UpsertOn {
		if v := ch.Fields[col]; v == nil || v == "" {
			return fmt.Errorf("the create has no value for %s, the upsertOn column that finds it again after a crash "+
				"(the database assigns the key, so without it a replay would add a second row); give the record a %s", col, col)
		}
	}
	return nil
}

// record builds a Record from one row of selectList.
func (s *stream) record(vals []any) (connectors.Record, error) {
	fields := make(map[string]any, len(s.cols))
	for i, col := range s.cols {
		v, err := s.dec[i](vals[i])
		if err != nil {
			return connectors.Record{}, fmt.Errorf("table %s, column %s: %w", s.cfg.Table, col.Name, err)
		}
		fields[col.Name] = v
	}
	r := connectors.Record{Fields: fields}
	if id, err := decodeText(fields[s.cfg.Key]); err == nil && id != nil {
		r.ID = id.(string)
	}
	if s.extraSort {
		t, err := s.d.parseSort(vals[len(s.cols)])
		if err != nil {
			return connectors.Record{}, fmt.Errorf("table %s, row %s: %w", s.cfg.Table, r.ID, err)
		}
		r.UpdatedAt = t
	} else if t, ok := fields[s.cfg.UpdatedAt].(time.Time); ok {
		r.UpdatedAt = t
	}
	if s.delIdx >= 0 {
		r.Deleted = fields[s.cfg.DeletedAt] != nil
	}
	return r, nil
}

// where joins the stream's configured filter with more conditions.
func (s *stream) where(conds ...string) string {
	var all []string
	if s.cfg.Where != "" {
		all = append(all, "("+s.cfg.Where+")")
	}
	all = append(all, conds...)
	if len(all) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(all, " AND ")
}

func (s *stream) selectRows(ctx context.Context, q querier, query string, args []any, out []connectors.Record) ([]connectors.Record, error) {
	err := q.query(ctx, query, args, func(vals []any) error {
		r, err := s.record(vals)
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// Read returns the records after req.After in (updated-at, key) order.
func (s *stream) Read(ctx context.Context, req connectors.ReadRequest) (connectors.Page, error) {
	limit := req.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	var conds []string
	var args []any
	if !req.IncludeDeleted && s.cfg.DeletedAt != "" {
		conds = append(conds, quoteIdent(s.cfg.DeletedAt)+" IS NULL")
	}
	if !req.After.IsZero() && req.After.ID == "" {
		// After (T, ""): every record stamped at T or later (keys are not
		// empty), as a read that starts at a time rather than a record.
		args = append(args, s.d.sortParam(req.After.UpdatedAt))
		conds = append(conds, fmt.Sprintf("%s >= %s", s.sortExpr, s.d.param(1)))
	} else if !req.After.IsZero() {
		id, ok := s.d.lookupValue(s.key, req.After.ID)
		if !ok {
			return connectors.Page{}, fmt.Errorf("stream %s: cursor id %q is not a valid %s key", s.name, req.After.ID, s.key.Type)
		}
		args = append(args, s.d.sortParam(req.After.UpdatedAt), id)
		conds = append(conds, fmt.Sprintf("(%s, %s) > (%s, %s)", s.sortExpr, s.quotedKey, s.d.param(1), s.d.param(2)))
	}
	args = append(args, limit+1)
	q := fmt.Sprintf("SELECT %s FROM %s%s ORDER BY %s, %s LIMIT %s",
		s.selectList, s.table, s.where(conds...), s.sortExpr, s.quotedKey, s.d.param(len(args)))
	recs, err := s.selectRows(ctx, s.db, q, args, make([]connectors.Record, 0, min(limit+1, 4096)))
	if err != nil {
		return connectors.Page{}, fmt.Errorf("stream %s: read %s: %w", s.name, s.cfg.Table, err)
	}
	page := connectors.Page{Records: recs}
	if len(recs) > limit {
		page.Records, page.More = recs[:limit], true
	}
	return page, nil
}

// Get returns the records with the given keys, soft-deleted ones included.
func (s *stream) Get(ctx context.Context, ids []string) ([]connectors.Record, error) {
	recs, err := s.match(ctx, s.quotedKey, nil, s.key, ids)
	if err != nil {
		return nil, fmt.Errorf("stream %s: get by %s: %w", s.name, s.cfg.Key, err)
	}
	return recs, nil
}

// Find returns the records whose field equals one of values, compared
// through the field's lookup expression when one is configured. A dotted
// field whose first part is a json column compares the value at that path,
// as text ("profil.email").
func (s *stream) Find(ctx context.Context, field string, values []string) ([]connectors.Record, error) {
	expr, col := "", column{Type: TypeText}
	var exprArgs []any
	if l, ok := s.cfg.Lookup[field]; ok {
		expr = "(" + l + ")"
	} else if c, ok := s.byName[field]; ok {
		if c.Type == TypeTextArray || c.Type == TypeJSON {
			return nil, fmt.Errorf("stream %s: cannot find by %s, a %s column; configure a lookup expression for it", s.name, field, c.Type)
		}
		expr, col = quoteIdent(field), c
	} else if name, path, ok := strings.Cut(field, "."); ok && s.byName[name].Type == TypeJSON {
		exprArgs = []any{nil}
		expr, exprArgs[0] = s.d.jsonPath(quoteIdent(name), strings.Split(path, "."), 1)
	} else {
		return nil, fmt.Errorf("stream %s: cannot find by %q: it is neither a column of %s nor a configured lookup", s.name, field, s.cfg.Table)
	}
	recs, err := s.match(ctx, expr, exprArgs, col, values)
	if err != nil {
		return nil, fmt.Errorf("stream %s: find by %s: %w", s.name, field, err)
	}
	return recs, nil
}

// match selects the rows where expr (whose own parameters are exprArgs,
// numbered from 1) equals one of values, converted for col.
func (s *stream) match(ctx context.Context, expr string, exprArgs []any, col column, values []string) ([]connectors.Record, error) {
	seen := map[string]bool{}
	var vals []any
	for _, v := range values {
		if seen[v] {
			continue
		}
		seen[v] = true
		if p, ok := s.d.lookupValue(col, v); ok {
			vals = append(vals, p)
		}
	}
	var out []connectors.Record
	chunk := s.d.maxList()
	if chunk == 0 {
		chunk = len(vals)
	}
	for start := 0; start < len(vals); start += chunk {
		end := min(start+chunk, len(vals))
		cond, args := s.d.anyOf(expr, vals[start:end], append([]any(nil), exprArgs...))
		q := fmt.Sprintf("SELECT %s FROM %s%s ORDER BY %s, %s", s.selectList, s.table, s.where(cond), s.sortExpr, s.quotedKey)
		var err error
		if out, err = s.selectRows(ctx, s.db, q, args, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Write applies changes in one transaction, one savepoint per change, so a
// refused record is rolled back alone and reported as a RecordError.
func (s *stream) Write(ctx context.Context, changes []connectors.Change) ([]connectors.Result, error) {
	results := make([]connectors.Result, len(changes))
	if len(changes) == 0 {
		return results, nil
	}
	for _, ch := range changes {
		if ch.Op == connectors.OpCreate {
			if err := s.errCreateNotReplayable(ch); err != nil {
				return nil, err
			}
		}
	}
	tx, err := s.db.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream %s: begin write transaction: %w", s.name, err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.rollback(context.WithoutCancel(ctx))
		}
	}()
	for i, ch := range changes {
		q, args, err := s.statement(ch)
		if err != nil {
			results[i] = connectors.Result{ID: ch.ID, Err: &connectors.RecordError{Reason: fmt.Sprintf("%s %s: %v", ch.Op, ch.ID, err), Err: err}}
			continue
		}
		if _, err := tx.exec(ctx, "SAVEPOINT pipe_record", nil); err != nil {
			return nil, fmt.Errorf("stream %s: savepoint: %w", s.name, err)
		}
		var recs []connectors.Record
		if ch.Op == connectors.OpDestroy || (ch.Op == connectors.OpDelete && s.cfg.DeletedAt == "") {
			_, err = tx.exec(ctx, q, args)
		} else {
			recs, err = s.selectRows(ctx, tx, q, args, nil)
		}
		if err != nil {
			if _, rerr := tx.exec(ctx, "ROLLBACK TO SAVEPOINT pipe_record", nil); rerr != nil {
				return nil, fmt.Errorf("stream %s: %s %s failed (%v) and the transaction could not be recovered: %w", s.name, ch.Op, ch.ID, err, rerr)
			}
			if s.d.recordError(err) {
				err = &connectors.RecordError{Reason: fmt.Sprintf("%s %s refused by %s: %v", ch.Op, ch.ID, s.cfg.Table, err), Err: err}
			} else {
				err = fmt.Errorf("stream %s: %s %s: %w", s.name, ch.Op, ch.ID, err)
			}
			results[i] = connectors.Result{ID: ch.ID, Err: err}
			continue
		}
		if _, err := tx.exec(ctx, "RELEASE SAVEPOINT pipe_record", nil); err != nil {
			return nil, fmt.Errorf("stream %s: release savepoint: %w", s.name, err)
		}
		res := connectors.Result{ID: ch.ID}
		switch {
		case len(recs) > 0:
			r := recs[0]
			res.ID, res.Record = r.ID, &r
		case ch.Op == connectors.OpUpdate || ch.Op == connectors.OpRestore:
			res.Err = &connectors.RecordError{Reason: fmt.Sprintf("%s %s: no row with %s = %s in %s", ch.Op, ch.ID, s.cfg.Key, ch.ID, s.cfg.Table), Err: connectors.ErrNotFound}
		}
		results[i] = res
	}
	if err := tx.commit(ctx); err != nil {
		return nil, fmt.Errorf("stream %s: commit: %w", s.name, err)
	}
	done = true
	return results, nil
}

// errNoDeletedAt refuses a restore on a stream without soft deletes.
var errNoDeletedAt = errors.New("the stream has no deletedAt column, so nothing can be restored")

// statement builds the SQL of one change. Its errors refuse the record.
func (s *stream) statement(ch connectors.Change) (string, []any, error) {
	switch ch.Op {
	case connectors.OpCreate:
		if err := s.errNoUpsertValue(ch); err != nil {
			return "", nil, err
		}
		return s.insert(ch)
	case connectors.OpUpdate, connectors.OpRestore:
		if ch.Op == connectors.OpRestore && s.cfg.DeletedAt == "" {
			return "", nil, errNoDeletedAt
		}
		return s.update(ch)
	case connectors.OpDelete, connectors.OpDestroy:
		key, ok := s.d.lookupValue(s.key, ch.ID)
		if !ok {
			return "", nil, fmt.Errorf("%q is not a valid %s key", ch.ID, s.key.Type)
		}
		args := []any{key}
		if ch.Op == connectors.OpDelete && s.cfg.DeletedAt != "" {
			var now string
			now, args = s.d.now(s.del, args)
			var updNow string
			updNow, args = s.d.now(s.upd, args)
			del := quoteIdent(s.cfg.DeletedAt)
			return fmt.Sprintf("UPDATE %s SET %s = COALESCE(%s, %s), %s = %s WHERE %s = %s RETURNING %s",
				s.table, del, del, now, quoteIdent(s.cfg.UpdatedAt), updNow, s.quotedKey, s.d.param(1), s.selectList), args, nil
		}
		return fmt.Sprintf("DELETE FROM %s WHERE %s = %s", s.table, s.quotedKey, s.d.param(1)), args, nil
	}
	return "", nil, fmt.Errorf("unknown operation %q", ch.Op)
}

// values encodes the change's fields as (quoted column, parameter) pairs,
// in name order, leaving out the columns the connector sets itself.
func (s *stream) values(fields map[string]any, skip ...string) (cols []string, vals []any, err error) {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	var problems []string
outer:
	for _, n := range names {
		for _, sk := range skip {
			if n == sk {
				continue outer
			}
		}
		col, ok := s.byName[n]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s is not a column of %s", n, s.cfg.Table))
			continue
		}
		var v any
		if fields[n] != nil {
			if v, err = s.d.encode(col, fields[n]); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", n, err))
				continue
			}
		}
		cols = append(cols, quoteIdent(n))
		vals = append(vals, v)
	}
	if len(problems) > 0 {
		return nil, nil, errors.New(strings.Join(problems, "; "))
	}
	return cols, vals, nil
}

func (s *stream) insert(ch connectors.Change) (string, []any, error) {
	fields := ch.Fields
	if ch.ID != "" && s.keepsIDs() {
		fields = make(map[string]any, len(ch.Fields)+1)
		for k, v := range ch.Fields {
			fields[k] = v
		}
		fields[s.cfg.Key] = ch.ID
	}
	cols, args, err := s.values(fields, s.cfg.UpdatedAt)
	if err != nil {
		return "", nil, err
	}
	ps := make([]string, len(args))
	for i := range args {
		ps[i] = s.d.param(i + 1)
	}
	var now string
	now, args = s.d.now(s.upd, args)
	cols = append(cols, quoteIdent(s.cfg.UpdatedAt))
	ps = append(ps, now)
	targets := map[string]bool{s.quotedKey: true}
	quotedTargets := make([]string, len(s.cfg.UpsertOn))
	for i, t := range s.cfg.UpsertOn {
		quotedTargets[i] = quoteIdent(t)
		targets[quotedTargets[i]] = true
	}
	var set []string
	for _, c := range cols {
		if !targets[c] {
			set = append(set, fmt.Sprintf("%s = excluded.%s", c, c))
		}
	}
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO UPDATE SET %s RETURNING %s",
		s.table, strings.Join(cols, ", "), strings.Join(ps, ", "), strings.Join(quotedTargets, ", "), strings.Join(set, ", "), s.selectList), args, nil
}

func (s *stream) update(ch connectors.Change) (string, []any, error) {
	key, ok := s.d.lookupValue(s.key, ch.ID)
	if !ok {
		return "", nil, fmt.Errorf("%q is not a valid %s key", ch.ID, s.key.Type)
	}
	skip := []string{s.cfg.UpdatedAt, s.cfg.Key}
	if ch.Op == connectors.OpRestore {
		skip = append(skip, s.cfg.DeletedAt)
	}
	cols, args, err := s.values(ch.Fields, skip...)
	if err != nil {
		return "", nil, err
	}
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = fmt.Sprintf("%s = %s", c, s.d.param(i+1))
	}
	if ch.Op == connectors.OpRestore {
		set = append(set, quoteIdent(s.cfg.DeletedAt)+" = NULL")
	}
	var now string
	now, args = s.d.now(s.upd, args)
	set = append(set, fmt.Sprintf("%s = %s", quoteIdent(s.cfg.UpdatedAt), now))
	args = append(args, key)
	return fmt.Sprintf("UPDATE %s SET %s WHERE %s = %s RETURNING %s",
		s.table, strings.Join(set, ", "), s.quotedKey, s.d.param(len(args)), s.selectList), args, nil
}
