package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// benchPipeline is a push pipeline with a 10-field mapping compiled as
// config.Load compiles it (expr programs with the function registry).
func benchPipeline(tb testing.TB, batch int) *config.Pipeline {
	env := map[string]any{}
	for _, f := range []string{"first", "last", "email", "phone", "city", "title", "org", "street", "zip", "note"} {
		env[f] = ""
	}
	exprs := [][2]string{
		{"name.firstName", "first"},
		{"name.lastName", "last"},
		{"emails.primaryEmail", "lower(trim(email))"},
		{"phones.primaryPhoneNumber", "phone"},
		{"city", "city"},
		{"jobTitle", "title"},
		{"companyName", "org"},
		{"address.addressStreet1", "street"},
		{"address.addressPostcode", "zip"},
		{"note", "note + \"\""},
	}
	m := &config.Mapping{}
	for _, e := range exprs {
		prog, err := config.CompileExpr(e[1], env, false)
		if err != nil {
			tb.Fatalf("compile %s: %v", e[1], err)
		}
		m.Fields = append(m.Fields, config.FieldMapping{Target: e[0], Expr: e[1], Program: prog})
	}
	return &config.Pipeline{
		Name:        "bench",
		Source:      config.StreamRef{Connection: "kelompok", Stream: "members"},
		Sink:        config.StreamRef{Connection: "crm", Stream: "people"},
		Direction:   config.Push,
		Push:        m,
		Conflict:    config.Conflict{Policy: config.ConflictSourceOfTruth, Side: "source"},
		Delete:      config.Delete{Policy: config.DeleteSoft},
		BatchSize:   batch,
		Concurrency: 2,
	}
}

func benchRecord(i int) connectors.Record {
	return connectors.Record{
		ID:        fmt.Sprintf("g%08d", i),
		UpdatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Microsecond),
		Fields: map[string]any{
			"first": "Budi", "last": fmt.Sprint("Santoso", i), "email": fmt.Sprintf(" Budi%d@Kelompok.ID ", i),
			"phone": "+6281234567", "city": "Kota Bandung", "title": "Anggota", "org": "Kelompok Tani",
			"street": "Jl. Merdeka 1", "zip": "40111", "note": "-",
		},
	}
}

// benchEnv builds an engine with the real mapping package over two memory
// streams, the source holding n records.
func benchEnv(b testing.TB, n int) *env {
	e := newEnv(b, storeKinds[0].open, benchPipeline(b, 1000))
	eng, err := engine.New(engine.Config{Config: e.cfg, Store: e.store, Registry: registryOf(e), Now: e.clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	e.eng = eng
	recs := make([]connectors.Record, n)
	for i := range recs {
		recs[i] = benchRecord(i)
	}
	e.src.S("members").Put(recs...)
	return e
}

func benchRun(b *testing.B, e *env, params engine.RunParams) engine.Result {
	res, err := e.eng.Run(context.Background(), params)
	if err != nil || res[0].Status != state.RunSucceeded {
		b.Fatalf("run: %v %+v", err, res)
	}
	return res[0]
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInitialSync100k: 100,000 new records, mapped (10 fields),
// created on the sink, linked, committed in batches of 1,000 to SQLite.
func BenchmarkInitialSync100k(b *testing.B) {
	const n = 100_000
	var total, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		e := benchEnv(b, n)
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		res := benchRun(b, e, engine.RunParams{Pipelines: []string{"bench"}})
		total += time.Since(start)
		cpu += cpuTime() - cpu0
		if res.Counts.Created != n {
			b.Fatalf("created %d", res.Counts.Created)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "records/s")
	b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds(), "records/cpu-s")
}

// BenchmarkNoChangeRerun100k: a --full rerun over 100,000 linked records
// that changed nowhere: every record is read, paired, mapped, compared and
// skipped; nothing is written.
func BenchmarkNoChangeRerun100k(b *testing.B) {
	const n = 100_000
	e := benchEnv(b, n)
	benchRun(b, e, engine.RunParams{Pipelines: []string{"bench"}})
	writes := e.snk.Writes()
	var total, cpu time.Duration
	for b.Loop() {
		start, cpu0 := time.Now(), cpuTime()
		res := benchRun(b, e, engine.RunParams{Pipelines: []string{"bench"}, Full: true})
		total += time.Since(start)
		cpu += cpuTime() - cpu0
		if res.Counts.Skipped != n || e.snk.Writes() != writes {
			b.Fatalf("rerun: %+v, %d writes", res.Counts, e.snk.Writes()-writes)
		}
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/rerun")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/rerun")
}

// genConn is a connection whose source stream generates records on the fly
// and whose sink discards writes: nothing is held in memory, so the process's
// peak RSS is the engine's (and the state store's).
type genConn struct{ n int }

type genStream struct {
	n    int
	sink bool
}

func (c genConn) Stream(_ context.Context, name string) (connectors.Stream, error) {
	return &genStream{n: c.n, sink: name == "people"}, nil
}
func (genConn) Close() error { return nil }

func (s *genStream) Read(_ context.Context, req connectors.ReadRequest) (connectors.Page, error) {
	if s.sink {
		return connectors.Page{}, nil
	}
	start := 0
	if req.After.ID != "" {
		i, _ := strconv.Atoi(strings.TrimPrefix(req.After.ID, "g"))
		start = i + 1
	}
	var p connectors.Page
	for i := start; i < s.n && len(p.Records) < req.Limit; i++ {
		p.Records = append(p.Records, benchRecord(i))
	}
	p.More = start+len(p.Records) < s.n
	return p, nil
}

func (s *genStream) Get(context.Context, []string) ([]connectors.Record, error) { return nil, nil }
func (s *genStream) Find(context.Context, string, []string) ([]connectors.Record, error) {
	return nil, nil
}
func (s *genStream) Write(_ context.Context, cs []connectors.Change) ([]connectors.Result, error) {
	out := make([]connectors.Result, len(cs))
	for i, c := range cs {
		out[i] = connectors.Result{ID: c.ID}
	}
	return out, nil
}

// vmHWM returns the process's peak resident set size from /proc.
func vmHWM(tb testing.TB) string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// BenchmarkPeakRSS runs one initial sync of PIPE_BENCH_RECORDS generated
// records (default 1,000,000) from a generator to a discarding sink, with
// links committed to SQLite, and reports the process's peak RSS (VmHWM).
// Run it alone, once per size, to compare:
//
//	PIPE_BENCH_RECORDS=100000 go test ./engine -run '^$' -bench PeakRSS -benchtime 1x
//	PIPE_BENCH_RECORDS=1000000 go test ./engine -run '^$' -bench PeakRSS -benchtime 1x
func BenchmarkPeakRSS(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("PIPE_BENCH_RECORDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("PIPE_BENCH_RECORDS=%q: %v", v, err)
		}
	}
	st := storeKinds[0].open(b)
	p := benchPipeline(b, 1000)
	cfg := &config.Config{
		Connections: map[string]*config.Connection{"kelompok": {Name: "kelompok", Kind: "gen"}, "crm": {Name: "crm", Kind: "gen"}},
		Pipelines:   map[string]*config.Pipeline{"bench": p},
	}
	reg := &connectors.Registry{}
	reg.Register("gen", func(context.Context, connectors.OpenParams) (connectors.Connection, error) { return genConn{n: n}, nil })
	eng, err := engine.New(engine.Config{Config: cfg, Store: st, Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		start := time.Now()
		res, err := eng.Run(context.Background(), engine.RunParams{All: true, Full: true})
		if err != nil || res[0].Status != state.RunSucceeded || res[0].Counts.Created != n {
			b.Fatalf("run: %v %+v", err, res)
		}
		b.Logf("%d records in %s (%.0f records/s), peak RSS (VmHWM) %s", n, time.Since(start).Round(time.Millisecond),
			float64(n)/time.Since(start).Seconds(), vmHWM(b))
	}
}
