package secrets

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// DefaultVaultTTL is how long a Vault secret is cached when VaultConfig.TTL
// is zero.
const DefaultVaultTTL = 5 * time.Minute

// VaultConfig configures the Vault provider. Zero values defer to the Vault
// library's own environment handling: VAULT_ADDR, VAULT_TOKEN,
// VAULT_NAMESPACE, VAULT_CACERT and the rest.
type VaultConfig struct {
	// Address overrides VAULT_ADDR.
	Address string
	// Token overrides VAULT_TOKEN.
	Token Value
	// TTL is how long a read secret is cached; negative disables the
	// cache. Zero means DefaultVaultTTL.
	TTL time.Duration
	// Now is the clock for the cache; nil means time.Now.
	Now func() time.Time
}

// Vault resolves {vault: {path, key}} references from a Vault KV secrets
// engine, version 2 or 1.
//
// The path is the API path of the secret: "secret/data/kelompok" for KV v2
// (the answer's data.data is used) or "kv/kelompok" for KV v1 (the answer's
// data). A KV v2 secret may also be named without "data/" ("secret/kelompok"):
// when that path has no secret, the provider retries it as
// "<mount>/data/<rest>". Secrets are cached per path for the TTL, so a run
// reading many keys of one secret asks Vault once.
type Vault struct {
	client *vault.Client
	ttl    time.Duration
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]vaultEntry
}

type vaultEntry struct {
	data    map[string]any
	fetched time.Time
}

// NewVault creates the Vault provider. It does not contact Vault.
func NewVault(cfg VaultConfig) (*Vault, error) {
	vc := vault.DefaultConfig()
	if vc.Error != nil {
		return nil, fmt.Errorf("vault: %w", vc.Error)
	}
	if cfg.Address != "" {
		vc.Address = cfg.Address
	}
	vc.MaxRetries = 2
	client, err := vault.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("vault: create client for %s: %w", vc.Address, err)
	}
	if !cfg.Token.IsZero() {
		client.SetToken(cfg.Token.Reveal())
	}
	ttl := cfg.TTL
	if ttl == 0 {
		ttl = DefaultVaultTTL
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Vault{client: client, ttl: ttl, now: now, cache: map[string]vaultEntry{}}, nil
}

// Resolve implements Resolver.
func (v *Vault) Resolve(ctx context.Context, ref Ref) (Value, error) {
	if ref.Vault == nil {
		return Value{}, fmt.Errorf("secret %s is not a vault reference", ref)
	}
	if v.client.Token() == "" {
		return Value{}, fmt.Errorf("secret %s: no Vault token: set VAULT_TOKEN (and VAULT_ADDR, now %s)", ref, v.client.Address())
	}
	data, err := v.read(ctx, strings.Trim(ref.Vault.Path, "/"))
	if err != nil {
		return Value{}, fmt.Errorf("secret %s: %w", ref, err)
	}
	raw, ok := data[ref.Vault.Key]
	if !ok {
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return Value{}, fmt.Errorf("secret %s: the Vault secret has no key %q (its keys: %s)", ref, ref.Vault.Key, strings.Join(keys, ", "))
	}
	s, ok := raw.(string)
	if !ok {
		return Value{}, fmt.Errorf("secret %s: key %q holds a %T, not a string", ref, ref.Vault.Key, raw)
	}
	return New(s), nil
}

// Forget drops the cache, so the next Resolve of every path asks Vault.
func (v *Vault) Forget() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.cache = map[string]vaultEntry{}
}

func (v *Vault) read(ctx context.Context, path string) (map[string]any, error) {
	now := v.now()
	if v.ttl > 0 {
		v.mu.Lock()
		e, ok := v.cache[path]
		v.mu.Unlock()
		if ok && now.Sub(e.fetched) < v.ttl {
			return e.data, nil
		}
	}
	data, err := v.fetch(ctx, path)
	if err != nil {
		return nil, err
	}
	if v.ttl > 0 {
		v.mu.Lock()
		v.cache[path] = vaultEntry{data: data, fetched: now}
		v.mu.Unlock()
	}
	return data, nil
}

func (v *Vault) fetch(ctx context.Context, path string) (map[string]any, error) {
	sec, err := v.client.Logical().ReadWithContext(ctx, path)
	if err != nil {
		// The library's errors carry the URL and Vault's messages, never
		// secret data.
		return nil, fmt.Errorf("read %s from Vault at %s: %w", path, v.client.Address(), err)
	}
	if sec == nil && !strings.Contains(path, "/data/") {
		if mount, rest, ok := strings.Cut(path, "/"); ok {
			v2 := mount + "/data/" + rest
			sec, err = v.client.Logical().ReadWithContext(ctx, v2)
			if err != nil {
				return nil, fmt.Errorf("read %s from Vault at %s: %w", v2, v.client.Address(), err)
			}
		}
	}
	if sec == nil || sec.Data == nil {
		return nil, fmt.Errorf("no secret at %s in Vault at %s (check the path; KV v2 paths are <mount>/data/<name>)", path, v.client.Address())
	}
	// KV v2 wraps the values: {data: {...}, metadata: {...}}.
	if inner, ok := sec.Data["data"].(map[string]any); ok {
		if _, hasMeta := sec.Data["metadata"]; hasMeta {
			return inner, nil
		}
	}
	if _, hasMeta := sec.Data["metadata"]; hasMeta && sec.Data["data"] == nil {
		return nil, fmt.Errorf("the secret at %s in Vault at %s is deleted (KV v2 version without data)", path, v.client.Address())
	}
	return sec.Data, nil
}
