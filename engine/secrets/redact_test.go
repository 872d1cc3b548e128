package secrets_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kelompok/pipe/engine/secrets"
)

const planted = "hunter2-PLANTED-secret"

// TestValueRedacts prints a Value every way a program might and checks the
// secret never appears.
func TestValueRedacts(t *testing.T) {
	v := secrets.New(planted)
	type conn struct {
		Name   string
		APIKey secrets.Value
		Ptr    *secrets.Value
	}
	c := conn{Name: "twenty", APIKey: v, Ptr: &v}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s", "%T %v"} {
		outputs = append(outputs, fmt.Sprintf(verb, v), fmt.Sprintf(verb, c), fmt.Sprintf(verb, &c))
	}
	outputs = append(outputs, fmt.Sprint(v, c), fmt.Sprintln([]secrets.Value{v}), fmt.Sprintf("%v", map[string]any{"k": v}))
	outputs = append(outputs, fmt.Errorf("connect with %v: %w", v, errors.New("refused")).Error())
	// fmt prefers Format, so String and GoString are only reached by callers
	// that use them directly (error types, pretty-printers).
	outputs = append(outputs, v.String(), v.GoString())

	for _, h := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
	} {
		var buf bytes.Buffer
		log := slog.New(h.new(&buf))
		log.Info("opened", "apiKey", v, "conn", c, slog.Any("ptr", &v), slog.Group("g", "k", v))
		log.With("apiKey", v).Warn("again", "list", []secrets.Value{v})
		if !strings.Contains(buf.String(), "[REDACTED]") {
			t.Errorf("slog %s output has no [REDACTED] marker: %s", h.name, buf.String())
		}
		outputs = append(outputs, buf.String())
	}

	for _, x := range []any{v, &v, c, map[string]any{"apiKey": v}, []secrets.Value{v}} {
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", x, err)
		}
		outputs = append(outputs, string(b))
	}
	text, _ := v.MarshalText()
	outputs = append(outputs, string(text))

	for _, out := range outputs {
		if strings.Contains(out, planted) || strings.Contains(out, fmt.Sprintf("%x", planted)) {
			t.Errorf("secret printed: %s", out)
		}
	}
	if v.Reveal() != planted {
		t.Fatalf("Reveal lost the value")
	}
}

// TestProviderErrorsNeverContainValues provokes every provider error next to
// a real secret value and checks no message carries it.
func TestProviderErrorsNeverContainValues(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeVault(t)
	f.v2["planted"] = map[string]any{"url": planted, "count": 3}
	f.v1["planted"] = map[string]any{"apiKey": planted}
	vault, err := secrets.NewVault(secrets.VaultConfig{Address: srv.URL, Token: secrets.New(f.token), TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	badToken, err := secrets.NewVault(secrets.VaultConfig{Address: srv.URL, Token: secrets.New(planted)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte(planted+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PIPE_PLANTED", planted)
	chain := secrets.NewChain(dir, vault)

	cases := []struct {
		name string
		r    secrets.Resolver
		ref  secrets.Ref
	}{
		{"vault missing key", vault, secrets.Ref{Vault: &secrets.VaultRef{Path: "secret/data/planted", Key: "password"}}},
		{"vault non-string", vault, secrets.Ref{Vault: &secrets.VaultRef{Path: "secret/data/planted", Key: "count"}}},
		{"vault v1 missing key", vault, secrets.Ref{Vault: &secrets.VaultRef{Path: "kv/planted", Key: "url"}}},
		{"vault bad token", badToken, secrets.Ref{Vault: &secrets.VaultRef{Path: "secret/data/planted", Key: "url"}}},
		{"vault missing path", vault, secrets.Ref{Vault: &secrets.VaultRef{Path: "secret/data/absent", Key: "url"}}},
		{"env as file", secrets.Env{}, secrets.Ref{File: "secret"}},
		{"file as env", secrets.File{Dir: dir}, secrets.Ref{Env: "PIPE_PLANTED"}},
		{"file is a directory", secrets.File{Dir: dir}, secrets.Ref{File: "adir"}},
		{"chain two sources", chain, secrets.Ref{Env: "PIPE_PLANTED", File: "secret"}},
		{"chain without vault", secrets.NewChain(dir, nil), secrets.Ref{Vault: &secrets.VaultRef{Path: "kv/planted", Key: "apiKey"}}},
	}
	for _, tc := range cases {
		_, err := tc.r.Resolve(ctx, tc.ref)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if strings.Contains(err.Error(), planted) || strings.Contains(fmt.Sprintf("%+v", err), planted) {
			t.Errorf("%s: error contains the secret: %v", tc.name, err)
		}
	}
	// The successful paths do find the planted value (so the cases above
	// were next to a real secret).
	for _, ref := range []secrets.Ref{
		{Env: "PIPE_PLANTED"}, {File: "secret"},
		{Vault: &secrets.VaultRef{Path: "secret/data/planted", Key: "url"}},
		{Vault: &secrets.VaultRef{Path: "kv/planted", Key: "apiKey"}},
	} {
		v, err := chain.Resolve(ctx, ref)
		if err != nil || v.Reveal() != planted {
			t.Errorf("Resolve(%s) = %v, want the planted value", ref, err)
		}
	}
}
