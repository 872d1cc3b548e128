package secrets_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kelompok/pipe/engine/secrets"
)

func TestEnv(t *testing.T) {
	ctx := context.Background()
	t.Setenv("PIPE_TEST_SECRET", "s3cr3t-env-value")
	t.Setenv("PIPE_TEST_EMPTY", "")
	v, err := secrets.Env{}.Resolve(ctx, secrets.Ref{Env: "PIPE_TEST_SECRET"})
	if err != nil || v.Reveal() != "s3cr3t-env-value" {
		t.Fatalf("Resolve = %q, %v", v.Reveal(), err)
	}
	for name, want := range map[string]string{
		"PIPE_TEST_UNSET_VARIABLE": "export PIPE_TEST_UNSET_VARIABLE=",
		"PIPE_TEST_EMPTY":          "set but empty",
	} {
		_, err := secrets.Env{}.Resolve(ctx, secrets.Ref{Env: name})
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), want) {
			t.Errorf("Resolve(env %s): err = %v, want the variable named and %q", name, err, want)
		}
	}
	if _, err := (secrets.Env{}).Resolve(ctx, secrets.Ref{File: "x"}); err == nil {
		t.Errorf("Env resolved a file reference")
	}
}

func TestFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("secrets/db-url", "postgres://pipe:pw@db/kelompok\n")
	write("crlf", "token-crlf\r\n")
	write("two-newlines", "token\n\n")
	write("spaces", "  token with spaces  ")
	write("empty", "\n")
	f := secrets.File{Dir: dir}
	for _, tc := range []struct{ path, want string }{
		{"secrets/db-url", "postgres://pipe:pw@db/kelompok"},
		{filepath.Join(dir, "secrets/db-url"), "postgres://pipe:pw@db/kelompok"}, // absolute
		{"crlf", "token-crlf"},
		{"two-newlines", "token\n"},
		{"spaces", "  token with spaces  "},
	} {
		v, err := f.Resolve(ctx, secrets.Ref{File: tc.path})
		if err != nil || v.Reveal() != tc.want {
			t.Errorf("Resolve(file %s) = %q, %v; want %q", tc.path, v.Reveal(), err, tc.want)
		}
	}
	if _, err := f.Resolve(ctx, secrets.Ref{File: "nope"}); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "nope")) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing file: err = %v, want the full path and 'does not exist'", err)
	}
	if _, err := f.Resolve(ctx, secrets.Ref{File: "empty"}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty file: err = %v", err)
	}
}

// fakeVault speaks the parts of Vault's HTTP API the provider uses: KV v2
// under /v1/secret/data/, KV v1 under /v1/kv/, X-Vault-Token checked.
type fakeVault struct {
	token string
	mu    sync.Mutex
	reads map[string]int
	v2    map[string]map[string]any
	v1    map[string]map[string]any
}

func (f *fakeVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.reads[r.URL.Path]++
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte(`{"errors":["unsupported method"]}`))
		return
	}
	if r.Header.Get("X-Vault-Token") != f.token {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":["permission denied"]}`))
		return
	}
	if name, ok := strings.CutPrefix(r.URL.Path, "/v1/secret/data/"); ok {
		if data, ok := f.v2[name]; ok {
			_ = json.NewEncoder(w).Encode(map[string]any{
				"request_id": "r1", "lease_duration": 0, "renewable": false,
				"data": map[string]any{
					"data":     data,
					"metadata": map[string]any{"created_time": "2024-05-01T10:00:00Z", "version": 3, "destroyed": false},
				},
			})
			return
		}
	}
	if name, ok := strings.CutPrefix(r.URL.Path, "/v1/kv/"); ok {
		if data, ok := f.v1[name]; ok {
			_ = json.NewEncoder(w).Encode(map[string]any{"request_id": "r2", "lease_duration": 2764800, "data": data})
			return
		}
	}
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"errors":[]}`))
}

func (f *fakeVault) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads[path]
}

func newFakeVault(t *testing.T) (*fakeVault, *httptest.Server) {
	f := &fakeVault{
		token: "hvs.test-token",
		reads: map[string]int{},
		v2: map[string]map[string]any{
			"kelompok": {"url": "postgres://pipe:v2-password@db/kelompok", "apiKey": "v2-api-key", "port": 5432},
		},
		v1: map[string]map[string]any{
			"twenty": {"apiKey": "v1-api-key"},
		},
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func TestVault(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeVault(t)
	clock := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	v, err := secrets.NewVault(secrets.VaultConfig{
		Address: srv.URL, Token: secrets.New(f.token), TTL: time.Minute, Now: func() time.Time { return clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, key, want string }{
		{"secret/data/kelompok", "url", "postgres://pipe:v2-password@db/kelompok"},
		{"secret/data/kelompok", "apiKey", "v2-api-key"},
		{"/secret/data/kelompok/", "apiKey", "v2-api-key"},
		{"secret/kelompok", "apiKey", "v2-api-key"}, // KV v2 named without data/
		{"kv/twenty", "apiKey", "v1-api-key"},       // KV v1
	} {
		got, err := v.Resolve(ctx, secrets.Ref{Vault: &secrets.VaultRef{Path: tc.path, Key: tc.key}})
		if err != nil || got.Reveal() != tc.want {
			t.Errorf("Resolve(%s#%s) = %q, %v; want %q", tc.path, tc.key, got.Reveal(), err, tc.want)
		}
	}
	if n := f.count("/v1/secret/data/kelompok"); n != 2 {
		// Once for secret/data/kelompok (cached for the second key and the
		// slash-trimmed form), once through the secret/kelompok fallback.
		t.Errorf("Vault read secret/data/kelompok %d times, want 2 (cache)", n)
	}

	// After the TTL the secret is read again.
	clock = clock.Add(2 * time.Minute)
	if _, err := v.Resolve(ctx, secrets.Ref{Vault: &secrets.VaultRef{Path: "secret/data/kelompok", Key: "url"}}); err != nil {
		t.Fatal(err)
	}
	if n := f.count("/v1/secret/data/kelompok"); n != 3 {
		t.Errorf("after the TTL: %d reads, want 3", n)
	}

	for _, tc := range []struct {
		path, key string
		want      []string
	}{
		{"secret/data/kelompok", "password", []string{`no key "password"`, "apiKey, port, url"}},
		{"secret/data/kelompok", "port", []string{"not a string"}},
		{"secret/data/nope", "url", []string{"no secret at secret/data/nope", srv.URL}},
	} {
		_, err := v.Resolve(ctx, secrets.Ref{Vault: &secrets.VaultRef{Path: tc.path, Key: tc.key}})
		if err == nil {
			t.Errorf("Resolve(%s#%s) succeeded, want an error", tc.path, tc.key)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Resolve(%s#%s): err %q does not contain %q", tc.path, tc.key, err, w)
			}
		}
	}
}

// TestVaultFromEnvironment: with no address or token configured, the
// provider takes VAULT_ADDR and VAULT_TOKEN as the Vault library does; a
// wrong token is a permission error.
func TestVaultFromEnvironment(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeVault(t)
	t.Setenv("VAULT_ADDR", srv.URL)
	t.Setenv("VAULT_TOKEN", f.token)
	v, err := secrets.NewVault(secrets.VaultConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Resolve(ctx, secrets.Ref{Vault: &secrets.VaultRef{Path: "kv/twenty", Key: "apiKey"}})
	if err != nil || got.Reveal() != "v1-api-key" {
		t.Fatalf("Resolve = %q, %v", got.Reveal(), err)
	}
	t.Setenv("VAULT_TOKEN", "hvs.wrong")
	v, err = secrets.NewVault(secrets.VaultConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Resolve(ctx, secrets.Ref{Vault: &secrets.VaultRef{Path: "kv/twenty", Key: "apiKey"}}); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("wrong token: err = %v, want permission denied", err)
	}
	t.Setenv("VAULT_TOKEN", "")
	v, err = secrets.NewVault(secrets.VaultConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Resolve(ctx, secrets.Ref{Vault: &secrets.VaultRef{Path: "kv/twenty", Key: "apiKey"}}); err == nil || !strings.Contains(err.Error(), "VAULT_TOKEN") {
		t.Errorf("no token: err = %v, want one naming VAULT_TOKEN", err)
	}
}

func TestChainDispatches(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeVault(t)
	vault, err := secrets.NewVault(secrets.VaultConfig{Address: srv.URL, Token: secrets.New(f.token)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "key"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PIPE_TEST_CHAIN", "from-env")
	c := secrets.NewChain(dir, vault)
	for _, tc := range []struct {
		ref  secrets.Ref
		want string
	}{
		{secrets.Ref{Env: "PIPE_TEST_CHAIN"}, "from-env"},
		{secrets.Ref{File: "key"}, "from-file"},
		{secrets.Ref{Vault: &secrets.VaultRef{Path: "kv/twenty", Key: "apiKey"}}, "v1-api-key"},
	} {
		v, err := c.Resolve(ctx, tc.ref)
		if err != nil || v.Reveal() != tc.want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", tc.ref, v.Reveal(), err, tc.want)
		}
	}
	noVault := secrets.NewChain(dir, nil)
	if _, err := noVault.Resolve(ctx, secrets.Ref{Vault: &secrets.VaultRef{Path: "kv/twenty", Key: "apiKey"}}); err == nil || !strings.Contains(err.Error(), "no vault secret provider") {
		t.Errorf("vault ref without provider: err = %v", err)
	}
	if _, err := c.Resolve(ctx, secrets.Ref{Env: "A", File: "b"}); err == nil || !strings.Contains(err.Error(), "exactly one") {
		t.Errorf("ref with two sources: err = %v", err)
	}
	if _, err := c.Resolve(ctx, secrets.Ref{}); err == nil {
		t.Errorf("empty ref resolved")
	}
}

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string // Ref.String(), or "error: <substring>"
	}{
		{map[string]any{"env": "KELOMPOK_URL"}, "env:KELOMPOK_URL"},
		{map[string]any{"file": "secrets/url"}, "file:secrets/url"},
		{map[string]any{"vault": map[string]any{"path": "secret/data/k", "key": "url"}}, "vault:secret/data/k#url"},
		{secrets.Ref{Env: "X"}, "env:X"},
		{map[string]any{"vault": map[string]any{"path": "secret/data/k"}}, "error: needs both path and key"},
		{map[string]any{"env": "A", "file": "b"}, "error: exactly one"},
		{map[string]any{"aws": "x"}, `error: unknown source "aws"`},
		{map[string]any{}, "error: empty"},
		{"postgres://u:p@h/db", "error: must be an object"},
		{nil, "error: missing"},
	} {
		ref, err := secrets.ParseRef(tc.in)
		if w, isErr := strings.CutPrefix(tc.want, "error: "); isErr {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("ParseRef(%v): err = %v, want %q", tc.in, err, w)
			}
			if err != nil && strings.Contains(err.Error(), "u:p@h") {
				t.Errorf("ParseRef error repeats the plain value: %v", err)
			}
			continue
		}
		if err != nil || ref.String() != tc.want {
			t.Errorf("ParseRef(%v) = %s, %v; want %s", tc.in, ref, err, tc.want)
		}
	}
	if !secrets.IsRef(map[string]any{"env": "X"}) || secrets.IsRef(map[string]any{"env": "X", "other": 1}) || secrets.IsRef("x") {
		t.Errorf("IsRef misclassifies")
	}
}

// TestDefault: the default chain resolves env and file references without
// any Vault settings, and Vault references from VAULT_ADDR/VAULT_TOKEN.
func TestDefault(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "k"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VAULT_ADDR", "")
	t.Setenv("VAULT_TOKEN", "")
	t.Setenv("PIPE_TEST_DEFAULT", "from-env")
	c := secrets.Default(dir)
	for ref, want := range map[secrets.Ref]string{{Env: "PIPE_TEST_DEFAULT"}: "from-env", {File: "k"}: "from-file"} {
		if v, err := c.Resolve(ctx, ref); err != nil || v.Reveal() != want {
			t.Errorf("Resolve(%s) = %q, %v", ref, v.Reveal(), err)
		}
	}
	f, srv := newFakeVault(t)
	t.Setenv("VAULT_ADDR", srv.URL)
	t.Setenv("VAULT_TOKEN", f.token)
	c = secrets.Default(dir)
	if v, err := c.Resolve(ctx, secrets.Ref{Vault: &secrets.VaultRef{Path: "kv/twenty", Key: "apiKey"}}); err != nil || v.Reveal() != "v1-api-key" {
		t.Errorf("vault through Default: %q, %v", v.Reveal(), err)
	}
}
