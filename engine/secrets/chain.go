package secrets

import (
	"context"
	"fmt"
	"sync"
)

// Chain is the Resolver a program uses: it dispatches each reference to the
// provider of its source. A nil provider makes references of that source an
// error saying so.
type Chain struct {
	Env   Resolver
	File  Resolver
	Vault Resolver
}

// NewChain returns a Chain with the environment and file providers (relative
// files taken from dir) and the given Vault provider, which may be nil when
// no configuration uses Vault.
func NewChain(dir string, vault Resolver) Chain {
	return Chain{Env: Env{}, File: File{Dir: dir}, Vault: vault}
}

// Resolve implements Resolver.
func (c Chain) Resolve(ctx context.Context, ref Ref) (Value, error) {
	if err := checkRef(ref); err != nil {
		return Value{}, err
	}
	var p Resolver
	var name string
	switch {
	case ref.Vault != nil:
		p, name = c.Vault, "vault"
	case ref.Env != "":
		p, name = c.Env, "env"
	default:
		p, name = c.File, "file"
	}
	if p == nil {
		return Value{}, fmt.Errorf("secret %s: no %s secret provider is configured", ref, name)
	}
	return p.Resolve(ctx, ref)
}

// Default is the Resolver for a configuration directory: environment
// variables, files relative to dir, and Vault configured from the
// environment (VAULT_ADDR, VAULT_TOKEN, ...) with the default cache TTL. The
// Vault client is created on the first Vault reference, so configurations
// without one never need Vault settings.
func Default(dir string) Chain {
	return NewChain(dir, &lazyVault{})
}

// lazyVault creates the Vault provider on first use.
type lazyVault struct {
	once sync.Once
	v    *Vault
	err  error
}

func (l *lazyVault) Resolve(ctx context.Context, ref Ref) (Value, error) {
	l.once.Do(func() { l.v, l.err = NewVault(VaultConfig{}) })
	if l.err != nil {
		return Value{}, fmt.Errorf("secret %s: %w", ref, l.err)
	}
	return l.v.Resolve(ctx, ref)
}
