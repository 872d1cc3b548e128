// Package exec is the "exec" connector: a connector implemented by an
// external program that speaks pipe's JSON-lines protocol on its standard
// input and output (docs/connectors/exec.md).
//
// The program is started on first use and kept running. Calls are sent one
// at a time, each a line {"id":N,"method":...,"params":...} answered by one
// line {"id":N,"result":...} or {"id":N,"error":{...}}. When the program
// exits or breaks the protocol, the call in flight fails and the program is
// started again on the next call; what it writes to standard error goes to
// the connection's logger.
package exec

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	osexec "os/exec"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/connectors/internal/jsonvalue"
	"github.com/kelompok/pipe/engine/secrets"
)

func init() { connectors.Register("exec", Open) }

// ProtocolVersion is sent in the params of the first call ("streams") after
// every start of the program.
const ProtocolVersion = 1

// maxLine is the longest response line accepted (64 MiB).
const maxLine = 64 << 20

// outputGrace is how long the program's output is read after it exited: a
// child of the program may hold stdout or stderr open, and it is not waited
// for longer.
const outputGrace = 2 * time.Second

// DefaultHandshakeTimeout is how long the program has to answer its
// "streams" handshake after a start, unless handshakeTimeout says otherwise.
const DefaultHandshakeTimeout = 30 * time.Second

// StreamConfig is one stream's declaration, from params.streams.<name>. The
// program receives it too (in config.streams).
type StreamConfig struct {
	// Key is the field holding the record's key. Default "id".
	Key string `json:"key,omitempty"`
	// UpdatedAt and DeletedAt name the timestamp fields, converted to
	// times when records come back.
	UpdatedAt string `json:"updatedAt,omitempty"`
	DeletedAt string `json:"deletedAt,omitempty"`
	// Columns declares field types (uuid, text, int, float, bool,
	// timestamp, text[], json) used to convert the JSON values the program
	// returns.
	Columns map[string]string `json:"columns,omitempty"`
}

// Open opens an "exec" connection. Params:
//
//	command: [program, args...]; a relative program path is taken from the
//	         config directory when it contains a slash
//	env:     {NAME: value or #Secret}, added to pipe's environment
//	config:  {...}, the program's own settings, sent to it as is in the
//	         config of the "streams" handshake (beside streams, so config
//	         may not have a key "streams")
//	streams: {<name>: StreamConfig}, also sent to the program, in
//	         config.streams
//	handshakeTimeout: how long the program has to answer its "streams"
//	         handshake after each start, a Go duration such as "30s"
//	         (default DefaultHandshakeTimeout)
//
// Other keys are not sent to the program.
//
// The program is not started until the first call.
func Open(ctx context.Context, p connectors.OpenParams) (connectors.Connection, error) {
	raw, _ := p.Config["command"].([]any)
	var argv []string
	for _, a := range raw {
		s, ok := a.(string)
		if !ok {
			return nil, fmt.Errorf("command must be a list of strings, got a %T in it", a)
		}
		argv = append(argv, s)
	}
	if s, ok := p.Config["command"].([]string); ok {
		argv = s
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("command is missing: set command to [program, args...]")
	}
	if strings.Contains(argv[0], "/") {
		argv[0] = p.Path(argv[0])
	}
	env := os.Environ()
	if rawEnv, ok := p.Config["env"].(map[string]any); ok {
		names := make([]string, 0, len(rawEnv))
		for k := range rawEnv {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, name := range names {
			v, err := envValue(ctx, p, name, rawEnv[name])
			if err != nil {
				return nil, err
			}
			env = append(env, name+"="+v)
		}
	}
	cfgs := map[string]StreamConfig{}
	if rawStreams, ok := p.Config["streams"]; ok && rawStreams != nil {
		b, err := json.Marshal(rawStreams)
		if err != nil {
			return nil, fmt.Errorf("streams: %w", err)
		}
		if err := json.Unmarshal(b, &cfgs); err != nil {
			return nil, fmt.Errorf("streams: expected {<name>: {key, updatedAt, deletedAt, columns}}: %w", err)
		}
	}
	config, err := handshakeConfig(p.Config)
	if err != nil {
		return nil, err
	}
	handshakeTimeout, err := durationParam(p.Config, "handshakeTimeout", DefaultHandshakeTimeout)
	if err != nil {
		return nil, err
	}
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Conn{argv: argv, env: env, dir: p.Dir, cfgs: cfgs, config: config, handshakeTimeout: handshakeTimeout, log: log.With("plugin", argv[0])}, nil
}

// durationParam reads a positive duration parameter: a Go duration string
// (or a time.Duration, from Go); def when absent.
func durationParam(params map[string]any, name string, def time.Duration) (time.Duration, error) {
	raw, ok := params[name]
	if !ok || raw == nil {
		return def, nil
	}
	var d time.Duration
	var err error
	switch x := raw.(type) {
	case string:
		d, err = time.ParseDuration(x)
	case time.Duration:
		d = x
	default:
		err = fmt.Errorf("a %T", raw)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: invalid duration %v: write a positive Go duration such as \"30s\" or \"2m\"", name, raw)
	}
	return d, nil
}

// handshakeConfig is the config the program receives in the "streams"
// handshake: the connection's config field as is, plus its streams.
func handshakeConfig(params map[string]any) (map[string]any, error) {
	config := map[string]any{}
	if raw, ok := params["config"]; ok && raw != nil {
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("config must be an object of the plugin's settings, got a %T", raw)
		}
		if _, ok := m["streams"]; ok {
			return nil, fmt.Errorf("config.streams is taken: the plugin receives the connection's streams there; give the setting another name")
		}
		for k, v := range m {
			config[k] = v
		}
	}
	if streams, ok := params["streams"]; ok {
		config["streams"] = streams
	}
	return config, nil
}

func envValue(ctx context.Context, p connectors.OpenParams, name string, v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	ref, err := secrets.ParseRef(v)
	if err != nil {
		return "", fmt.Errorf("env %s: %w", name, err)
	}
	if p.Secrets == nil {
		return "", fmt.Errorf("env %s is a secret reference (%s) but no secret resolver was given", name, ref)
	}
	val, err := p.Secrets.Resolve(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("env %s: %w", name, err)
	}
	return val.Reveal(), nil
}

// Conn is an exec connection: one child process, restarted when it dies.
type Conn struct {
	argv   []string
	env    []string
	dir    string
	cfgs   map[string]StreamConfig
	config map[string]any
	log    *slog.Logger
	// handshakeTimeout bounds the wait for the "streams" handshake.
	handshakeTimeout time.Duration

	mu      sync.Mutex // serializes calls
	proc    *process
	nextID  int64
	streams []string // as the program declared them
	starts  int
}

// process is one running child.
type process struct {
	cmd    *osexec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte   // response lines; closed at EOF
	quit   chan struct{} // closed by kill, so the reader stops
	exited chan struct{} // closed when the child has exited
	err    error         // exit status, valid after exited
	done   chan struct{} // closed after exited, once its output is read
}

// rpcError is the error object of a response.
type rpcError struct {
	Message string `json:"message"`
	// Record marks a refusal of one record (a RecordError).
	Record bool `json:"record,omitempty"`
	// NotFound marks a record that does not exist (wraps ErrNotFound).
	NotFound bool `json:"notFound,omitempty"`
}

func (e *rpcError) err(prefix string) error {
	var base error = errors.New(prefix + e.Message)
	if e.NotFound {
		base = fmt.Errorf("%s%s: %w", prefix, e.Message, connectors.ErrNotFound)
	}
	if e.Record || e.NotFound {
		return &connectors.RecordError{Reason: e.Message, Err: base}
	}
	return base
}

type response struct {
	ID     int64           `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

// Starts reports how many times the program has been started.
func (c *Conn) Starts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.starts
}

// start runs the program and performs the "streams" handshake; c.mu held.
func (c *Conn) start(ctx context.Context) error {
	cmd := osexec.Command(c.argv[0], c.argv[1:]...)
	cmd.Env = c.env
	cmd.Dir = c.dir
	ownGroup(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	// Pipes of our own for stdout and stderr (not StdoutPipe and
	// StderrPipe, which Wait closes): they are read to their end after the
	// child exited, for at most outputGrace.
	stdout, stdoutW, err := os.Pipe()
	if err != nil {
		_ = stdin.Close()
		return err
	}
	stderr, stderrW, err := os.Pipe()
	if err != nil {
		_ = stdin.Close()
		closeAll(stdout, stdoutW)
		return err
	}
	cmd.Stdout, cmd.Stderr = stdoutW, stderrW
	err = cmd.Start()
	closeAll(stdoutW, stderrW) // the child's ends
	if err != nil {
		closeAll(stdout, stderr)
		return fmt.Errorf("start plugin %s: %w", c.argv[0], err)
	}
	c.starts++
	p := &process{cmd: cmd, stdin: stdin, lines: make(chan []byte, 1), quit: make(chan struct{}), exited: make(chan struct{}), done: make(chan struct{})}
	var pipes sync.WaitGroup
	pipes.Add(2)
	go func() { // stdout: one response per line
		defer pipes.Done()
		defer close(p.lines)
		r := bufio.NewReaderSize(stdout, 64<<10)
		for {
			line, err := readLine(r)
			if len(bytes.TrimSpace(line)) > 0 {
				select {
				case p.lines <- line:
				case <-p.quit:
					return
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
					c.log.Warn("plugin output unreadable", "err", err)
					killGroup(cmd)
				}
				return
			}
		}
	}()
	go func() { // stderr: to the log
		defer pipes.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			c.log.Info("plugin: " + sc.Text())
		}
	}()
	go func() {
		p.err = cmd.Wait()
		// What the plugin started goes with it.
		killGroup(cmd)
		close(p.exited)
		read := make(chan struct{})
		go func() {
			pipes.Wait()
			close(read)
		}()
		select {
		case <-read:
		case <-time.After(outputGrace):
			closeAll(stdout, stderr) // ends the readers
			<-read
		}
		closeAll(stdout, stderr)
		close(p.done)
	}()
	c.proc = p
	var hello struct {
		Streams []string `json:"streams"`
	}
	params := map[string]any{"protocol": ProtocolVersion, "config": c.config}
	// A plugin that starts but never answers must not hold the call until
	// the caller's context ends: the handshake has a deadline of its own.
	hctx, cancel := context.WithTimeout(ctx, c.handshakeTimeout)
	defer cancel()
	if err := c.roundTrip(hctx, "streams", params, &hello); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && hctx.Err() != nil && ctx.Err() == nil {
			// The handshake's own deadline, not the caller's: roundTrip
			// has killed the plugin.
			return fmt.Errorf("plugin %s did not answer its handshake within %v (it will be restarted on the next call)", c.argv[0], c.handshakeTimeout)
		}
		return fmt.Errorf("plugin %s handshake: %w", c.argv[0], err)
	}
	c.streams = hello.Streams
	return nil
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}

func readLine(r *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return nil, fmt.Errorf("response line longer than %d bytes", maxLine)
		}
		if err != nil || !isPrefix {
			return buf, err
		}
	}
}

// kill stops the child; c.mu held.
func (c *Conn) kill() {
	p := c.proc
	c.proc = nil
	if p == nil {
		return
	}
	close(p.quit)
	_ = p.stdin.Close()
	killGroup(p.cmd)
	<-p.done
}

// call sends one request, starting the program first if it is not running.
func (c *Conn) call(ctx context.Context, method string, params any, result any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		if err := c.start(ctx); err != nil {
			c.kill()
			return err
		}
	}
	return c.roundTrip(ctx, method, params, result)
}

// roundTrip writes one request and waits for its response; c.mu held. Any
// failure other than an error response leaves the child killed, to be
// restarted by the next call.
func (c *Conn) roundTrip(ctx context.Context, method string, params any, result any) error {
	p := c.proc
	c.nextID++
	id := c.nextID
	req, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		return fmt.Errorf("plugin %s: encode %s request: %w", c.argv[0], method, err)
	}
	fail := func(err error) error {
		c.kill()
		return fmt.Errorf("plugin %s: %s: %w (it will be restarted on the next call)", c.argv[0], method, err)
	}
	// A plugin that does not read its input blocks the write once the pipe
	// is full: when the context ends, closing stdin ends the write.
	stop := context.AfterFunc(ctx, func() { _ = p.stdin.Close() })
	_, werr := p.stdin.Write(append(req, '\n'))
	if !stop() {
		return fail(ctx.Err())
	}
	if werr != nil {
		return fail(c.exitReason(p, werr))
	}
	var line []byte
	select {
	case l, ok := <-p.lines:
		if !ok {
			return fail(c.exitReason(p, io.ErrUnexpectedEOF))
		}
		line = l
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		return fail(fmt.Errorf("response is not a JSON object: %w (line: %.200s)", err, line))
	}
	if resp.ID != id {
		return fail(fmt.Errorf("response id %d, want %d", resp.ID, id))
	}
	if resp.Error != nil {
		return resp.Error.err(fmt.Sprintf("plugin %s: %s: ", c.argv[0], method))
	}
	if result == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(resp.Result))
	dec.UseNumber()
	if err := dec.Decode(result); err != nil {
		return fail(fmt.Errorf("result does not match the protocol: %w", err))
	}
	return nil
}

// exitReason waits briefly for the child to exit and reports how it did.
func (c *Conn) exitReason(p *process, cause error) error {
	select {
	case <-p.exited:
		if p.err != nil {
			return fmt.Errorf("plugin exited: %v", p.err)
		}
		return fmt.Errorf("plugin exited")
	case <-time.After(2 * time.Second):
		return cause
	}
}

// Close asks the program to stop (method "close"), then ends it.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.proc
	if p == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.roundTrip(ctx, "close", map[string]any{}, nil)
	if c.proc == nil { // roundTrip failed and killed it
		return nil
	}
	_ = p.stdin.Close()
	close(p.quit)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		killGroup(p.cmd)
		<-p.done
	}
	c.proc = nil
	return nil
}

// Stream returns the named stream if the program serves it.
func (c *Conn) Stream(ctx context.Context, name string) (connectors.Stream, error) {
	c.mu.Lock()
	if c.proc == nil {
		if err := c.start(ctx); err != nil {
			c.kill()
			c.mu.Unlock()
			return nil, err
		}
	}
	served := c.streams
	c.mu.Unlock()
	for _, s := range served {
		if s == name {
			cfg := c.cfgs[name]
			if cfg.Key == "" {
				cfg.Key = "id"
			}
			return &stream{c: c, name: name, cfg: cfg}, nil
		}
	}
	return nil, fmt.Errorf("plugin %s does not serve stream %q (it serves: %s)", c.argv[0], name, strings.Join(served, ", "))
}

type stream struct {
	c    *Conn
	name string
	cfg  StreamConfig
}

// wireRecord is a Record on the wire.
type wireRecord struct {
	ID        string         `json:"id"`
	UpdatedAt string         `json:"updatedAt,omitempty"`
	Deleted   bool           `json:"deleted,omitempty"`
	Fields    map[string]any `json:"fields"`
}

func (s *stream) records(in []wireRecord) ([]connectors.Record, error) {
	out := make([]connectors.Record, len(in))
	for i, w := range in {
		r := connectors.Record{ID: w.ID, Deleted: w.Deleted, Fields: w.Fields}
		if r.Fields == nil {
			r.Fields = map[string]any{}
		}
		if w.UpdatedAt != "" {
			t, err := jsonvalue.ParseTime(w.UpdatedAt)
			if err != nil {
				return nil, fmt.Errorf("plugin %s: stream %s: record %s: updatedAt: %w", s.c.argv[0], s.name, w.ID, err)
			}
			r.UpdatedAt = t
		}
		for k, v := range r.Fields {
			typ := s.cfg.Columns[k]
			if k == s.cfg.UpdatedAt || k == s.cfg.DeletedAt {
				typ = "timestamp"
			}
			cv, err := jsonvalue.Convert(v, typ, false)
			if err != nil {
				return nil, fmt.Errorf("plugin %s: stream %s: record %s: field %s: %w", s.c.argv[0], s.name, w.ID, k, err)
			}
			r.Fields[k] = cv
		}
		out[i] = r
	}
	return out, nil
}

// Read implements connectors.Stream (method "read").
func (s *stream) Read(ctx context.Context, req connectors.ReadRequest) (connectors.Page, error) {
	params := map[string]any{"stream": s.name, "limit": req.Limit, "includeDeleted": req.IncludeDeleted}
	if !req.After.IsZero() {
		params["after"] = map[string]any{"updatedAt": req.After.UpdatedAt.UTC().Format(time.RFC3339Nano), "id": req.After.ID}
	}
	var res struct {
		Records []wireRecord `json:"records"`
		More    bool         `json:"more"`
	}
	if err := s.c.call(ctx, "read", params, &res); err != nil {
		return connectors.Page{}, err
	}
	recs, err := s.records(res.Records)
	if err != nil {
		return connectors.Page{}, err
	}
	return connectors.Page{Records: recs, More: res.More}, nil
}

// Get implements connectors.Stream (method "get").
func (s *stream) Get(ctx context.Context, ids []string) ([]connectors.Record, error) {
	var res struct {
		Records []wireRecord `json:"records"`
	}
	if err := s.c.call(ctx, "get", map[string]any{"stream": s.name, "ids": ids}, &res); err != nil {
		return nil, err
	}
	return s.records(res.Records)
}

// Find implements connectors.Stream (method "find").
func (s *stream) Find(ctx context.Context, field string, values []string) ([]connectors.Record, error) {
	var res struct {
		Records []wireRecord `json:"records"`
	}
	if err := s.c.call(ctx, "find", map[string]any{"stream": s.name, "field": field, "values": values}, &res); err != nil {
		return nil, err
	}
	return s.records(res.Records)
}

// Write implements connectors.Stream (method "write").
func (s *stream) Write(ctx context.Context, changes []connectors.Change) ([]connectors.Result, error) {
	type wireChange struct {
		Op     connectors.Op  `json:"op"`
		ID     string         `json:"id"`
		Fields map[string]any `json:"fields,omitempty"`
	}
	wc := make([]wireChange, len(changes))
	for i, ch := range changes {
		wc[i] = wireChange{Op: ch.Op, ID: ch.ID, Fields: ch.Fields}
	}
	var res struct {
		Results []struct {
			ID     string      `json:"id"`
			Record *wireRecord `json:"record"`
			Error  *rpcError   `json:"error"`
		} `json:"results"`
	}
	if err := s.c.call(ctx, "write", map[string]any{"stream": s.name, "changes": wc}, &res); err != nil {
		return nil, err
	}
	if len(res.Results) != len(changes) {
		return nil, fmt.Errorf("plugin %s: write to %s: %d results for %d changes", s.c.argv[0], s.name, len(res.Results), len(changes))
	}
	out := make([]connectors.Result, len(changes))
	for i, r := range res.Results {
		out[i].ID = r.ID
		if out[i].ID == "" {
			out[i].ID = changes[i].ID
		}
		if r.Error != nil {
			out[i].Err = r.Error.err("")
			continue
		}
		if r.Record != nil {
			recs, err := s.records([]wireRecord{*r.Record})
			if err != nil {
				return nil, err
			}
			out[i].Record = &recs[0]
		}
	}
	return out, nil
}
