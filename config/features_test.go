package config_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/kelompok/pipe/config"
)

// writeDir writes files into a fresh directory.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestUserFilesUseSchemaDefinitions: user files may name #Secret,
// #Pipeline and their own definitions, and may omit the package clause.
func TestUserFilesUseSchemaDefinitions(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"conn.cue": `package pipe
#Key: #Secret & {vault: {path: "secret/data/pipe", key: "twenty"}}
state: {kind: "postgres", url: #Secret & {env: "PIPE_STATE_DATABASE_URL"}}
server: adminToken: {file: "/run/secrets/admin"}
connections: {
	src: {kind: "sqlite", path: "src.db", streams: people: {table: "main.people", columns: {id: "uuid", mail: "text", born: "timestamp", tags: "text[]"}}}
	twenty: {kind: "twenty", url: "https://crm.example.org", apiKey: #Key, customFields: companies: kelompokId: "TEXT"}
}
`,
		"people.cue": `// no package clause
#Base: #Pipeline & {direction: "push", batchSize: 50}
pipelines: people: #Base & {
	source: "src.people"
	sink:   "twenty.people"
	push: {"emails.primaryEmail": "mail", "city": #"join(tags, ",")"#}
}
`,
	})
	cfg, err := config.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.State.Kind != "postgres" || cfg.State.URL == nil || cfg.State.URL.Env != "PIPE_STATE_DATABASE_URL" {
		t.Errorf("state = %+v", cfg.State)
	}
	if cfg.Server.AdminToken == nil || cfg.Server.AdminToken.File != "/run/secrets/admin" || cfg.Server.Addr != "127.0.0.1:8484" {
		t.Errorf("server = %+v", cfg.Server)
	}
	tw := cfg.Connections["twenty"]
	key, _ := tw.Params["apiKey"].(map[string]any)
	vault, _ := key["vault"].(map[string]any)
	if vault["key"] != "twenty" {
		t.Errorf("apiKey = %#v", tw.Params["apiKey"])
	}
	if fmt.Sprintf("%T %v", tw.Params["batchSize"], tw.Params["batchSize"]) != "int64 60" {
		t.Errorf("twenty batchSize default = %T %v", tw.Params["batchSize"], tw.Params["batchSize"])
	}
	if tw.Streams["companies"].Fields["kelompokId"] != "string" {
		t.Errorf("custom field not added: %v", tw.Streams["companies"].Fields["kelompokId"])
	}
	p := cfg.Pipelines["people"]
	if p.BatchSize != 50 || p.Concurrency != 4 || p.Delete.MaxCount != 50 || p.Delete.MaxFraction != 0.1 || p.Unresolved != "wait" || p.Conflict.Policy != config.ConflictSourceOfTruth {
		t.Errorf("defaults not applied: %+v", p)
	}
	src := cfg.Connections["src"]
	if src.Streams["people"].Fields["born"] != "time" || src.Params["streams"].(map[string]any)["people"].(map[string]any)["key"] != "id" {
		t.Errorf("sqlite stream: %+v / %+v", src.Streams["people"], src.Params["streams"])
	}
}

// TestShippedURLOverride: the Twenty URL of the shipped connections is a
// default that another file of the directory can override.
func TestShippedURLOverride(t *testing.T) {
	files := map[string]string{"local.cue": "package pipe\nconnections: twenty: url: \"https://crm.example.org\"\n"}
	shipped, _ := filepath.Glob(filepath.Join("..", "pipelines", "*.cue"))
	for _, p := range shipped {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = string(src)
	}
	cfg, err := config.Load(context.Background(), writeDir(t, files))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Connections["twenty"].Params["url"]; got != "https://crm.example.org" {
		t.Errorf("url = %v", got)
	}
}

// TestAllErrorsTogether: semantic problems in several pipelines and files
// come back in one list, sorted by position.
func TestAllErrorsTogether(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"conn.cue": `package pipe
connections: mem: {kind: "memory", streams: a: columns: {id: "uuid", n: "int"}}
`,
		"a.cue": `package pipe
pipelines: a: {source: "mem.a", sink: "mem.a", push: {n: "n + x"}, trigger: schedule: "often"}
`,
		"b.cue": `package pipe
pipelines: b: {source: "mem.b", sink: "mem.a", push: {m: "n"}, dependsOn: ["c"]}
`,
	})
	_, err := config.Load(context.Background(), dir)
	errs, ok := err.(config.Errors)
	if !ok {
		t.Fatalf("err = %T %v", err, err)
	}
	if len(errs) != 5 {
		t.Fatalf("want 5 errors (unknown name x, bad duration, unknown stream, unknown target m, unknown dependency c), got %d:\n%v", len(errs), err)
	}
	for i := 1; i < len(errs); i++ {
		a, b := errs[i-1].Pos, errs[i].Pos
		if a.File > b.File || a.File == b.File && a.Line > b.Line {
			t.Errorf("errors not sorted: %s before %s", a, b)
		}
	}
}

func TestConfigLookups(t *testing.T) {
	cfg, err := config.Load(context.Background(), filepath.Join("..", "pipelines"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(cfg.PipelineNames()); got != "[events members organizations]" {
		t.Errorf("PipelineNames = %s", got)
	}
	s, ok := cfg.Stream(cfg.Pipelines["members"].Sink)
	if !ok || !s.HasPath("emails.primaryEmail") || s.HasPath("emails.primary") {
		t.Errorf("members sink stream: %v %+v", ok, s)
	}
	if _, ok := cfg.Stream(config.StreamRef{Connection: "kelompok", Stream: "nope"}); ok {
		t.Error("unknown stream found")
	}
	if _, ok := cfg.Stream(config.StreamRef{Connection: "nope", Stream: "members"}); ok {
		t.Error("unknown connection found")
	}
}

// TestFileStreamKeyAndTimesAreFields: a file record carries its key and
// timestamps as fields (connectors/file), so match rules, mappings and
// filters may name them without declaring them as columns; a field that is
// neither is still refused.
func TestFileStreamKeyAndTimesAreFields(t *testing.T) {
	files := func(match string) map[string]string {
		return map[string]string{"p.cue": `package pipe
connections: {
	review: {kind: "file", dir: ".", streams: {
		people: {columns: {mail: "text"}}
		orgs: {key: "org_id", updatedAt: "changed", deletedAt: "gone", columns: {name: "text"}}
	}}
	crm: {kind: "file", dir: ".", streams: contacts: {columns: {email: "text", ref: "text"}}}
}
pipelines: people: {
	source: "review.people"
	sink:   "crm.contacts"
	match: [{source: "` + match + `", sink: "ref"}]
	push: {email: "mail", ref: "id"}
	filter: source: "updated_at != nil"
}
pipelines: orgs: {
	source: "review.orgs"
	sink:   "crm.contacts"
	match: [{source: "org_id", sink: "ref"}]
	push: {ref: "org_id"}
	filter: source: "gone == nil && changed != nil"
}
`}
	}
	cfg, err := config.Load(context.Background(), writeDir(t, files("id")))
	if err != nil {
		t.Fatal(err)
	}
	if f := cfg.Connections["review"].Streams["orgs"].Fields; f["org_id"] == nil || f["changed"] == nil || f["gone"] == nil || f["id"] != nil {
		t.Errorf("orgs fields = %v", f)
	}
	if _, err := config.Load(context.Background(), writeDir(t, files("nosuch"))); err == nil {
		t.Error("a match on an undeclared field loaded")
	}
}
