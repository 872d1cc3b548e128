package mapping

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
)

// TestResult is the outcome of one config test (config.Test).
type TestResult struct {
	Pipeline string
	Name     string
	// Pos is where the test is declared.
	Pos config.Pos
	// Failures says what did not match, one line each; empty when the test
	// passed.
	Failures []string
	// Output is the mapped record (nil when the mapping rejected it).
	Output map[string]any
	// Rejected is the rejection reason, if the mapping rejected the record.
	Rejected string
	// Warnings are what the mapping noticed without rejecting the record
	// (SDG tags it left out).
	Warnings []string
}

// Passed reports whether the test passed.
func (r TestResult) Passed() bool { return len(r.Failures) == 0 }

// RunTests runs the tests of the named pipelines (all pipelines when names
// is empty), in pipeline name order then declaration order. An unknown
// pipeline name is an error.
func RunTests(cfg *config.Config, names []string) ([]TestResult, error) {
	if len(names) == 0 {
		for n := range cfg.Pipelines {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	var out []TestResult
	for _, n := range names {
		p, ok := cfg.Pipelines[n]
		if !ok {
			known := make([]string, 0, len(cfg.Pipelines))
			for k := range cfg.Pipelines {
				known = append(known, k)
			}
			sort.Strings(known)
			return nil, fmt.Errorf("unknown pipeline %q: the configured ones are %s", n, strings.Join(known, ", "))
		}
		for _, t := range p.Tests {
			out = append(out, RunTest(p, t))
		}
	}
	return out, nil
}

// RunTest maps t.Input through the pipeline's mapping for t.Direction (after
// its filter for that side) and compares the result with t.Expect (on the
// paths it gives; nested or dotted) or, when t.Reject is set, checks that
// the record is rejected with a reason containing it.
//
// Input keys id (string), updatedAt (RFC 3339) and deleted (bool) become the
// record's key, timestamp and deleted flag.
func RunTest(p *config.Pipeline, t config.Test) TestResult {
	res := TestResult{Pipeline: p.Name, Name: t.Name, Pos: t.Pos}
	fail := func(format string, args ...any) { res.Failures = append(res.Failures, fmt.Sprintf(format, args...)) }
	m, filter := p.Push, p.Filter.SourceProgram
	if t.Direction == config.Pull {
		m, filter = p.Pull, p.Filter.SinkProgram
	}
	dir := t.Direction
	if dir == "" {
		dir = config.Push
	}
	mp, err := New(m, p.Sensitive)
	if err != nil {
		fail("%s mapping: %v", dir, err)
		return res
	}
	rec, err := testRecord(t.Input)
	if err != nil {
		fail("input: %v", err)
		return res
	}
	if ok, err := NewFilter(filter, p.Sensitive).Keep(rec); err != nil {
		fail("%v", err)
		return res
	} else if !ok {
		fail("the %s filter drops this record, so it would not be mapped", map[string]string{config.Push: "source", config.Pull: "sink"}[dir])
		return res
	}
	out, err := mp.Map(rec)
	if err != nil {
		res.Rejected = err.Error()
		if t.Reject == "" {
			fail("rejected: %s", res.Rejected)
		} else if !strings.Contains(res.Rejected, t.Reject) {
			fail("rejected with %q, want a reason containing %q", res.Rejected, t.Reject)
		}
		return res
	}
	res.Output = out
	res.Warnings = append([]string(nil), mp.Warnings()...)
	if t.Reject != "" {
		fail("mapped without rejection, want a rejection containing %q; output: %s", t.Reject, show(out))
	}
	want := Flatten(t.Expect)
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	// Compare in canonical form, so that structured results (a ref) can be
	// expected as objects: companyId: {pipeline: "organizations", key: "..."}.
	canon, _ := Canonical(out).(map[string]any)
	for _, path := range paths {
		got, ok := Get(canon, path)
		switch {
		case !ok && want[path] != nil:
			fail("%s: not mapped, want %s", path, show(want[path]))
		case !Equal(got, want[path]):
			fail("%s: got %s, want %s", path, show(got), show(want[path]))
		}
	}
	return res
}

func testRecord(in map[string]any) (connectors.Record, error) {
	rec := connectors.Record{ID: "test", Fields: make(map[string]any, len(in))}
	for k, v := range in {
		rec.Fields[k] = v
	}
	if v, ok := in["id"]; ok {
		s, isStr := v.(string)
		if !isStr {
			return rec, fmt.Errorf("id is %T, want a string", v)
		}
		rec.ID = s
		delete(rec.Fields, "id")
	}
	if v, ok := in["updatedAt"]; ok {
		s, _ := v.(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return rec, fmt.Errorf("updatedAt %v: want an RFC 3339 time such as 2026-03-01T10:00:00Z", v)
		}
		rec.UpdatedAt = t
		delete(rec.Fields, "updatedAt")
	}
	if v, ok := in["deleted"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return rec, fmt.Errorf("deleted is %T, want true or false", v)
		}
		rec.Deleted = b
		delete(rec.Fields, "deleted")
	}
	return rec, nil
}

// show renders a value as JSON for messages.
func show(v any) string {
	b, err := json.Marshal(Canonical(v))
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
