// Command memplugin is a small example of an exec connector plugin: an
// in-memory store speaking pipe's JSON-lines protocol
// (docs/connectors/exec.md) on stdin and stdout. It uses only the standard
// library, to show that a plugin needs nothing from pipe.
//
// Its streams are those of the connection's config (config.streams), plus
// the one named by the environment variable MEMPLUGIN_EXTRA_STREAM; initial
// records come from config.seed.{stream}. To let tests exercise failures, a
// find on the field "__crash" makes it exit with status 3, and one on
// "__hang" never answers.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

type record struct {
	ID        string         `json:"id"`
	UpdatedAt string         `json:"updatedAt,omitempty"`
	Deleted   bool           `json:"deleted,omitempty"`
	Fields    map[string]any `json:"fields"`
}

type request struct {
	ID     int64           `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

type rpcError struct {
	Message  string `json:"message"`
	Record   bool   `json:"record,omitempty"`
	NotFound bool   `json:"notFound,omitempty"`
}

type store map[string]map[string]*record // stream -> id -> record

func main() {
	fmt.Fprintln(os.Stderr, "memplugin started")
	data := store{}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			fmt.Fprintln(os.Stderr, "bad request:", err)
			os.Exit(2)
		}
		result, rerr := data.handle(req)
		resp := map[string]any{"id": req.ID}
		if rerr != nil {
			resp["error"] = rerr
		} else {
			resp["result"] = result
		}
		if err := out.Encode(resp); err != nil {
			os.Exit(2)
		}
		if req.Method == "close" {
			return
		}
	}
}

func (s store) handle(req request) (any, *rpcError) {
	var p struct {
		Config struct {
			Streams map[string]any      `json:"streams"`
			Seed    map[string][]record `json:"seed"`
		} `json:"config"`
		Stream         string   `json:"stream"`
		Limit          int      `json:"limit"`
		IncludeDeleted bool     `json:"includeDeleted"`
		After          *record  `json:"after"`
		IDs            []string `json:"ids"`
		Field          string   `json:"field"`
		Values         []string `json:"values"`
		Changes        []struct {
			Op     string         `json:"op"`
			ID     string         `json:"id"`
			Fields map[string]any `json:"fields"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(req.Params, &p); err != nil {
		return nil, &rpcError{Message: "bad params: " + err.Error()}
	}
	if req.Method != "streams" && req.Method != "close" {
		if _, ok := s[p.Stream]; !ok {
			return nil, &rpcError{Message: fmt.Sprintf("no stream %q", p.Stream)}
		}
	}
	switch req.Method {
	case "streams":
		names := []string{}
		for name := range p.Config.Streams {
			names = append(names, name)
		}
		if extra := os.Getenv("MEMPLUGIN_EXTRA_STREAM"); extra != "" {
			names = append(names, extra)
		}
		sort.Strings(names)
		for _, name := range names {
			s[name] = map[string]*record{}
			for _, r := range p.Config.Seed[name] {
				r := r
				s[name][r.ID] = &r
			}
		}
		return map[string]any{"streams": names}, nil
	case "read":
		all := s.sorted(p.Stream)
		limit := p.Limit
		if limit <= 0 {
			limit = 100
		}
		page := []*record{}
		more := false
		for _, r := range all {
			if p.After != nil && !after(r, p.After) {
				continue
			}
			if r.Deleted && !p.IncludeDeleted {
				continue
			}
			if len(page) == limit {
				more = true
				break
			}
			page = append(page, r)
		}
		return map[string]any{"records": page, "more": more}, nil
	case "get":
		found := []*record{}
		for _, id := range p.IDs {
			if r, ok := s[p.Stream][id]; ok {
				found = append(found, r)
			}
		}
		return map[string]any{"records": found}, nil
	case "find":
		if p.Field == "__crash" {
			fmt.Fprintln(os.Stderr, "memplugin: crashing as asked")
			os.Exit(3)
		}
		if p.Field == "__hang" {
			time.Sleep(time.Hour)
		}
		want := map[string]bool{}
		for _, v := range p.Values {
			want[v] = true
		}
		found := []*record{}
		for _, r := range s.sorted(p.Stream) {
			if v, ok := r.Fields[p.Field]; ok && v != nil && want[fmt.Sprint(v)] {
				found = append(found, r)
			}
		}
		return map[string]any{"records": found}, nil
	case "write":
		results := []map[string]any{}
		for _, ch := range p.Changes {
			r, err := s.apply(p.Stream, ch.Op, ch.ID, ch.Fields)
			if err != nil {
				results = append(results, map[string]any{"id": ch.ID, "error": err})
				continue
			}
			results = append(results, map[string]any{"id": r.ID, "record": r})
		}
		return map[string]any{"results": results}, nil
	case "close":
		return nil, nil
	}
	return nil, &rpcError{Message: fmt.Sprintf("unknown method %q", req.Method)}
}

func (s store) apply(stream, op, id string, fields map[string]any) (*record, *rpcError) {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if email, ok := fields["email"].(string); ok && !strings.Contains(email, "@") {
		return nil, &rpcError{Message: fmt.Sprintf("email %q has no @", email), Record: true}
	}
	r, exists := s[stream][id]
	switch op {
	case "create":
		r = &record{ID: id, Fields: map[string]any{}}
		s[stream][id] = r
	case "update", "delete", "restore":
		if !exists {
			return nil, &rpcError{Message: "no record " + id, NotFound: true}
		}
	case "destroy":
		delete(s[stream], id)
		return &record{ID: id, Deleted: true, UpdatedAt: now, Fields: map[string]any{}}, nil
	default:
		return nil, &rpcError{Message: "unknown op " + op, Record: true}
	}
	for k, v := range fields {
		r.Fields[k] = v
	}
	r.UpdatedAt = now
	r.Fields["updated_at"] = now
	switch op {
	case "delete":
		r.Deleted = true
	case "restore":
		r.Deleted = false
	}
	return r, nil
}

func (s store) sorted(stream string) []*record {
	var all []*record
	for _, r := range s[stream] {
		all = append(all, r)
	}
	sort.Slice(all, func(i, j int) bool { return after(all[j], all[i]) })
	return all
}

// after reports whether r sorts after the position p by (updatedAt, id).
// Timestamps are compared as times, not as text.
func after(r, p *record) bool {
	rt, _ := time.Parse(time.RFC3339Nano, r.UpdatedAt)
	pt, _ := time.Parse(time.RFC3339Nano, p.UpdatedAt)
	if !rt.Equal(pt) {
		return rt.After(pt)
	}
	return r.ID > p.ID
}
