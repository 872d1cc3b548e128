// Package file is the "file" connector: streams kept in NDJSON or CSV files,
// for backfills, reviews and exports.
//
// A connection names either one file (path, one stream) or a directory (dir)
// holding one file per stream, <stream>.ndjson or <stream>.csv. Files are
// append-only logs: Write appends one line (NDJSON) or row (CSV, header
// written first) per change, and when a key appears on several lines the
// last one wins. Reads are incremental by (updatedAt, key) when records have
// the updated-at field; Get and Find scan the file.
//
// See docs/connectors/file.md.
package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/connectors/internal/jsonvalue"
)

// Formats.
const (
	NDJSON = "ndjson"
	CSV    = "csv"
)

func init() { connectors.Register("file", Open) }

// StreamConfig is one stream's config, from params.streams.<name>.
type StreamConfig struct {
	// Key is the field holding the record's key. Default "id".
	Key string `json:"key,omitempty"`
	// UpdatedAt is the field holding the last change time. Default
	// "updated_at". Records without it read with a zero UpdatedAt, in key
	// order.
	UpdatedAt string `json:"updatedAt,omitempty"`
	// DeletedAt is the field holding the soft-delete time; a record with a
	// value there is deleted. Deletes need it.
	DeletedAt string `json:"deletedAt,omitempty"`
	// Columns declares field types (uuid, text, int, float, bool,
	// timestamp, text[], json), used to convert CSV cells and JSON values,
	// and the CSV header of a new file. Fields not declared keep their
	// JSON type (CSV: text).
	Columns map[string]string `json:"columns,omitempty"`
}

// Open opens a "file" connection. Params:
//
//	path:    one file (one stream), relative to the config directory
//	dir:     a directory with one file per stream (<stream>.ndjson|.csv)
//	format:  "ndjson" or "csv"; when absent, it defaults from the path's
//	         extension (.csv, any case, is csv; anything else ndjson), and a
//	         dir's files are ndjson
//	streams: {<name>: StreamConfig}
func Open(_ context.Context, p connectors.OpenParams) (connectors.Connection, error) {
	path, _ := p.Config["path"].(string)
	dir, _ := p.Config["dir"].(string)
	if (path == "") == (dir == "") {
		return nil, fmt.Errorf("set exactly one of path (one file) and dir (one file per stream)")
	}
	format, _ := p.Config["format"].(string)
	if format == "" {
		format = NDJSON
		if strings.EqualFold(filepath.Ext(path), ".csv") {
			format = CSV
		}
	}
	if format != NDJSON && format != CSV {
		return nil, fmt.Errorf("format %q is not supported (use ndjson or csv)", format)
	}
	cfgs := map[string]StreamConfig{}
	if raw, ok := p.Config["streams"]; ok && raw != nil {
		b, err := json.Marshal(raw)
		if err != nil {
			return nil, fmt.Errorf("streams: %w", err)
		}
		if err := json.Unmarshal(b, &cfgs); err != nil {
			return nil, fmt.Errorf("streams: expected {<name>: {key, updatedAt, deletedAt, columns}}: %w", err)
		}
	}
	if path != "" && len(cfgs) > 1 {
		return nil, fmt.Errorf("path names one file, so one stream, but %d streams are configured; use dir", len(cfgs))
	}
	c := &conn{format: format, cfgs: cfgs, streams: map[string]*stream{}}
	if path != "" {
		c.path = p.Path(path)
	} else {
		c.dir = p.Path(dir)
		if st, err := os.Stat(c.dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("dir %s is not a directory (create it first)", c.dir)
		}
	}
	return c, nil
}

type conn struct {
	path, dir string
	format    string
	cfgs      map[string]StreamConfig

	mu      sync.Mutex
	streams map[string]*stream
}

// Close implements connectors.Connection.
func (c *conn) Close() error { return nil }

// Stream implements connectors.Connection.
func (c *conn) Stream(_ context.Context, name string) (connectors.Stream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.streams[name]; ok {
		return s, nil
	}
	cfg, ok := c.cfgs[name]
	if !ok && len(c.cfgs) > 0 {
		return nil, fmt.Errorf("stream %q is not configured on this file connection", name)
	}
	if cfg.Key == "" {
		cfg.Key = "id"
	}
	if cfg.UpdatedAt == "" {
		cfg.UpdatedAt = "updated_at"
	}
	file := c.path
	if file == "" {
		ext := ".ndjson"
		if c.format == CSV {
			ext = ".csv"
		}
		file = filepath.Join(c.dir, name+ext)
	}
	s := &stream{name: name, file: file, format: c.format, cfg: cfg}
	c.streams[name] = s
	return s, nil
}

type stream struct {
	name   string
	file   string
	format string
	cfg    StreamConfig

	// fsync makes a file or directory durable: (*os.File).Sync, unless a
	// test in this package sets it to watch or fail the syncs.
	fsync func(*os.File) error

	mu sync.Mutex
	// cache of the parsed file, valid while size and mtime are unchanged.
	cacheSize int64
	cacheMod  time.Time
	cache     []connectors.Record // sorted by (UpdatedAt, ID), last line per key
}

// load returns the file's records, last line per key, sorted. A missing file
// is an empty stream.
func (s *stream) load() ([]connectors.Record, error) {
	st, err := os.Stat(s.file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if s.cache != nil && st.Size() == s.cacheSize && st.ModTime().Equal(s.cacheMod) {
		return s.cache, nil
	}
	f, err := os.Open(s.file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	latest := map[string]connectors.Record{}
	add := func(line int, fields map[string]any) error {
		r, err := s.record(fields)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", s.file, line, err)
		}
		latest[r.ID] = r
		return nil
	}
	if s.format == CSV {
		err = s.readCSV(f, add)
	} else {
		err = s.readNDJSON(f, add)
	}
	if err != nil {
		return nil, err
	}
	recs := make([]connectors.Record, 0, len(latest))
	for _, r := range latest {
		recs = append(recs, r)
	}
	sort.Slice(recs, func(i, j int) bool { return connectors.PositionOf(recs[i]).Before(connectors.PositionOf(recs[j])) })
	s.cache, s.cacheSize, s.cacheMod = recs, st.Size(), st.ModTime()
	return recs, nil
}

func (s *stream) readNDJSON(r io.Reader, add func(int, map[string]any) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var fields map[string]any
		if err := dec.Decode(&fields); err != nil {
			if line == 1 && looksLikeCSV(b) {
				return fmt.Errorf("%s:%d: not a JSON object: %w; the file looks like CSV: set format: \"csv\" on the connection", s.file, line, err)
			}
			return fmt.Errorf("%s:%d: not a JSON object: %w", s.file, line, err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return fmt.Errorf("%s:%d: not one JSON object: something follows it on the line", s.file, line)
		}
		if err := add(line, fields); err != nil {
			return err
		}
	}
	return sc.Err()
}

// looksLikeCSV reports whether a file's first line looks like a CSV header
// rather than JSON: it has commas and no '{'.
func looksLikeCSV(line []byte) bool {
	return bytes.IndexByte(line, ',') >= 0 && bytes.IndexByte(line, '{') < 0
}

func (s *stream) readCSV(r io.Reader, add func(int, map[string]any) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 0
	header, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: header: %w", s.file, err)
	}
	header[0] = strings.TrimPrefix(header[0], "\ufeff") // a BOM from spreadsheet exports
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.file, err)
		}
		line, _ := cr.FieldPos(0)
		fields := make(map[string]any, len(header))
		for i, h := range header {
			if row[i] == "" {
				fields[h] = nil
			} else {
				fields[h] = row[i]
			}
		}
		if err := add(line, fields); err != nil {
			return err
		}
	}
}

// record converts decoded fields to their declared types and builds the
// Record.
func (s *stream) record(fields map[string]any) (connectors.Record, error) {
	for k, v := range fields {
		typ := s.cfg.Columns[k]
		if k == s.cfg.UpdatedAt || k == s.cfg.DeletedAt {
			typ = "timestamp"
		}
		cv, err := jsonvalue.Convert(v, typ, s.format == CSV)
		if err != nil {
			return connectors.Record{}, fmt.Errorf("field %s: %w", k, err)
		}
		fields[k] = cv
	}
	var r connectors.Record
	r.Fields = fields
	switch id := fields[s.cfg.Key].(type) {
	case string:
		r.ID = id
	case int64:
		r.ID = strconv.FormatInt(id, 10)
	case float64:
		r.ID = strconv.FormatFloat(id, 'f', -1, 64)
	case nil:
		return r, fmt.Errorf("record has no %s (the key field)", s.cfg.Key)
	default:
		r.ID = fmt.Sprint(id)
	}
	if t, ok := fields[s.cfg.UpdatedAt].(time.Time); ok {
		r.UpdatedAt = t
	}
	if s.cfg.DeletedAt != "" {
		r.Deleted = fields[s.cfg.DeletedAt] != nil
	}
	return r, nil
}

// Read implements connectors.Stream.
func (s *stream) Read(_ context.Context, req connectors.ReadRequest) (connectors.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, err := s.load()
	if err != nil {
		return connectors.Page{}, fmt.Errorf("stream %s: %w", s.name, err)
	}
	start := 0
	if !req.After.IsZero() {
		start = sort.Search(len(recs), func(i int) bool { return req.After.Before(connectors.PositionOf(recs[i])) })
	}
	limit := req.Limit
	if limit <= 0 {
		limit = 500
	}
	var page connectors.Page
	for _, r := range recs[start:] {
		if r.Deleted && !req.IncludeDeleted {
			continue
		}
		if len(page.Records) == limit {
			page.More = true
			break
		}
		page.Records = append(page.Records, copyRecord(r))
	}
	return page, nil
}

func copyRecord(r connectors.Record) connectors.Record {
	f := make(map[string]any, len(r.Fields))
	for k, v := range r.Fields {
		f[k] = v
	}
	r.Fields = f
	return r
}

// Get implements connectors.Stream by scanning.
func (s *stream) Get(_ context.Context, ids []string) ([]connectors.Record, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	return s.scan(func(r connectors.Record) bool { return want[r.ID] })
}

// Find implements connectors.Stream by scanning; values compare with the
// field's value as text.
func (s *stream) Find(_ context.Context, field string, values []string) ([]connectors.Record, error) {
	want := map[string]bool{}
	for _, v := range values {
		want[v] = true
	}
	return s.scan(func(r connectors.Record) bool {
		v, ok := lookup(r.Fields, field)
		if !ok || v == nil {
			return false
		}
		return want[text(v)]
	})
}

func lookup(fields map[string]any, path string) (any, bool) {
	if v, ok := fields[path]; ok {
		return v, true
	}
	var cur any = fields
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case float64:
		if x == math.Trunc(x) {
			return strconv.FormatInt(int64(x), 10)
		}
	}
	return fmt.Sprint(v)
}

func (s *stream) scan(keep func(connectors.Record) bool) ([]connectors.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, err := s.load()
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", s.name, err)
	}
	var out []connectors.Record
	for _, r := range recs {
		if keep(r) {
			out = append(out, copyRecord(r))
		}
	}
	return out, nil
}

// Write appends one line or row per change. Creates and updates write the
// record's fields (an update merged over the current record); deletes and
// destroys need a deletedAt field and append the record with it set;
// restores append it with deletedAt empty. Each record is encoded before
// anything is appended: one that cannot be (a value JSON cannot hold, such
// as NaN; in a CSV, a field outside the file's header) is refused alone, as
// a RecordError, and the others are written.
func (s *stream) Write(_ context.Context, changes []connectors.Change) ([]connectors.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	current, err := s.load()
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", s.name, err)
	}
	var header []string // an existing CSV's header; nil for a new file
	if s.format == CSV {
		if header, err = s.csvHeader(); err != nil {
			return nil, fmt.Errorf("stream %s: header of %s: %w", s.name, s.file, err)
		}
	}
	byID := make(map[string]connectors.Record, len(current))
	for _, r := range current {
		byID[r.ID] = r
	}
	results := make([]connectors.Result, len(changes))
	var rows []row
	now := time.Now().UTC()
	refuse := func(i int, ch connectors.Change, err error) {
		results[i] = connectors.Result{ID: ch.ID, Err: &connectors.RecordError{Reason: fmt.Sprintf("%s %s: %v", ch.Op, ch.ID, err), Err: err}}
	}
	for i, ch := range changes {
		fields, err := s.apply(ch, byID, now)
		if err != nil {
			refuse(i, ch, err)
			continue
		}
		r, err := s.record(cloneFields(fields))
		if err != nil {
			refuse(i, ch, err)
			continue
		}
		enc, err := s.encode(fields, header)
		if err != nil {
			refuse(i, ch, err)
			continue
		}
		byID[r.ID] = r
		rows = append(rows, enc)
		rec := copyRecord(r)
		results[i] = connectors.Result{ID: r.ID, Record: &rec}
	}
	if len(rows) == 0 {
		return results, nil
	}
	if err := s.appendRows(rows, header); err != nil {
		return nil, fmt.Errorf("stream %s: append to %s: %w", s.name, s.file, err)
	}
	return results, nil
}

// row is one encoded record, ready to append.
type row struct {
	fields map[string]any    // as written, for a new CSV's header
	line   []byte            // NDJSON: the JSON object, without newline
	cells  map[string]string // CSV: the cell of each field
}

// encode encodes one record's fields for the file. A CSV row is checked
// against the existing file's header (nil: a new file, whose header will
// hold every field written).
func (s *stream) encode(fields map[string]any, header []string) (row, error) {
	if s.format != CSV {
		b, err := json.Marshal(fields)
		if err != nil {
			return row{}, unencodable(fields, err)
		}
		return row{fields: fields, line: b}, nil
	}
	if header != nil {
		known := make(map[string]bool, len(header))
		for _, h := range header {
			known[h] = true
		}
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			if !known[k] && fields[k] != nil {
				return row{}, fmt.Errorf("field %s is not a column of the CSV header %v", k, header)
			}
		}
	}
	cells := make(map[string]string, len(fields))
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		cell, err := csvCell(fields[k])
		if err != nil {
			return row{}, fmt.Errorf("field %s: %w", k, err)
		}
		cells[k] = cell
	}
	return row{fields: fields, cells: cells}, nil
}

// unencodable names the first field (by name) JSON cannot encode.
func unencodable(fields map[string]any, err error) error {
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if _, ferr := json.Marshal(fields[k]); ferr != nil {
			return fmt.Errorf("field %s: %w", k, ferr)
		}
	}
	return err
}

func cloneFields(f map[string]any) map[string]any {
	out := make(map[string]any, len(f))
	for k, v := range f {
		out[k] = v
	}
	return out
}

func (s *stream) apply(ch connectors.Change, byID map[string]connectors.Record, now time.Time) (map[string]any, error) {
	fields := map[string]any{}
	cur, exists := byID[ch.ID]
	switch ch.Op {
	case connectors.OpCreate:
	case connectors.OpUpdate, connectors.OpRestore, connectors.OpDelete, connectors.OpDestroy:
		if !exists {
			return nil, fmt.Errorf("no record %s in %s: %w", ch.ID, s.file, connectors.ErrNotFound)
		}
		for k, v := range cur.Fields {
			fields[k] = v
		}
	default:
		return nil, fmt.Errorf("unknown operation %q", ch.Op)
	}
	for k, v := range ch.Fields {
		fields[k] = v
	}
	if ch.ID != "" {
		fields[s.cfg.Key] = ch.ID
	}
	if fields[s.cfg.Key] == nil {
		return nil, fmt.Errorf("no key: give the change an id or a %s field", s.cfg.Key)
	}
	fields[s.cfg.UpdatedAt] = now
	switch ch.Op {
	case connectors.OpDelete, connectors.OpDestroy:
		if s.cfg.DeletedAt == "" {
			return nil, fmt.Errorf("the stream has no deletedAt field, and file streams are append-only: configure deletedAt to record deletes")
		}
		if fields[s.cfg.DeletedAt] == nil {
			fields[s.cfg.DeletedAt] = now
		}
	case connectors.OpRestore:
		if s.cfg.DeletedAt == "" {
			return nil, fmt.Errorf("the stream has no deletedAt field, so nothing can be restored")
		}
		fields[s.cfg.DeletedAt] = nil
	}
	return fields, nil
}

// appendRows appends the rows and makes them durable: the file is synced, and
// so is the directory of a file it created (and of each directory it
// created). When anything fails, the file is cut back to its size before the
// call, so that a failed write leaves no partial rows behind.
func (s *stream) appendRows(rows []row, header []string) (err error) {
	dir := filepath.Dir(s.file)
	// The directories whose entries change: the file's, when the file is
	// new, and the parent of each directory created for it.
	var syncDirs []string
	if _, err := os.Stat(s.file); errors.Is(err, fs.ErrNotExist) {
		for d := dir; ; d = filepath.Dir(d) {
			syncDirs = append(syncDirs, d)
			if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
				break
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(s.file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Truncate(st.Size())
		}
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	w := bufio.NewWriter(f)
	if s.format == CSV {
		if err := s.appendCSV(w, rows, header); err != nil {
			return err
		}
	} else {
		for _, r := range rows {
			_, _ = w.Write(r.line) // errors surface at Flush
			_ = w.WriteByte('\n')
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := s.sync(f); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	for _, d := range syncDirs {
		if err := s.syncDir(d); err != nil {
			return fmt.Errorf("sync directory %s: %w", d, err)
		}
	}
	return nil
}

func (s *stream) sync(f *os.File) error {
	if s.fsync != nil {
		return s.fsync(f)
	}
	return f.Sync()
}

// syncDir makes a directory's entries durable; Windows cannot sync a
// directory (and does not need to).
func (s *stream) syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return s.sync(d)
}

// appendCSV writes the encoded rows, after a header when the file is new
// (header nil).
func (s *stream) appendCSV(w *bufio.Writer, rows []row, header []string) error {
	cw := csv.NewWriter(w)
	if header == nil {
		all := make([]map[string]any, len(rows))
		for i, r := range rows {
			all[i] = r.fields
		}
		header = s.newHeader(all)
		if err := cw.Write(header); err != nil {
			return err
		}
	}
	for _, r := range rows {
		cells := make([]string, len(header))
		for i, h := range header {
			cells[i] = r.cells[h]
		}
		if err := cw.Write(cells); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvHeader reads the header of an existing file; nil for a missing or
// empty one.
func (s *stream) csvHeader() ([]string, error) {
	f, err := os.Open(s.file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := csv.NewReader(f).Read()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	h[0] = strings.TrimPrefix(h[0], "\ufeff")
	return h, nil
}

// newHeader is key, updatedAt, deletedAt, then the declared columns or the
// fields written, sorted.
func (s *stream) newHeader(rows []map[string]any) []string {
	header := []string{s.cfg.Key, s.cfg.UpdatedAt}
	if s.cfg.DeletedAt != "" {
		header = append(header, s.cfg.DeletedAt)
	}
	seen := map[string]bool{}
	for _, h := range header {
		seen[h] = true
	}
	var rest []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			rest = append(rest, k)
		}
	}
	for k := range s.cfg.Columns {
		add(k)
	}
	for _, row := range rows {
		for k := range row {
			add(k)
		}
	}
	sort.Strings(rest)
	return append(header, rest...)
}

func csvCell(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	case []any, []string, map[string]any:
		b, err := json.Marshal(x)
		return string(b), err
	}
	return text(v), nil
}
