package sql

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/secrets"
)

// Column types a stream's columns can be declared with.
const (
	TypeUUID      = "uuid"
	TypeText      = "text"
	TypeInt       = "int"
	TypeFloat     = "float"
	TypeBool      = "bool"
	TypeTimestamp = "timestamp"
	TypeTextArray = "text[]"
	TypeJSON      = "json"
)

var knownTypes = []string{TypeUUID, TypeText, TypeInt, TypeFloat, TypeBool, TypeTimestamp, TypeTextArray, TypeJSON}

// StreamConfig maps one stream onto one table. It is read from the
// connection's params, under streams.<name>; every field has a default so
// that a stream named like its table needs no config at all.
type StreamConfig struct {
	// Table is the table name, optionally schema-qualified
	// ("kelompok.members"). Names are used exactly as written (quoted, so
	// case-sensitive). Default: the stream name.
	Table string `json:"table,omitempty"`
	// Key is the primary-key column. Default "id".
	Key string `json:"key,omitempty"`
	// UpdatedAt is the last-change timestamp column, the first half of the
	// read order. It must never be NULL. Default "updated_at".
	UpdatedAt string `json:"updatedAt,omitempty"`
	// DeletedAt is the soft-delete timestamp column; empty means deletes
	// are hard (DELETE).
	DeletedAt string `json:"deletedAt,omitempty"`
	// Columns restricts the columns read to these, with their types (one of
	// uuid, text, int, float, bool, timestamp, text[], json). Default: every
	// column of the table, with types from the database catalog. The key,
	// updated-at and deleted-at columns are always read.
	Columns map[string]string `json:"columns,omitempty"`
	// Where is an SQL condition limiting the stream to some rows, written
	// by the operator in the config (e.g. "kind <> 'test'"). It is pasted
	// into every read as (where); it is config, never user data.
	Where string `json:"where,omitempty"`
	// UpsertOn are the columns of the unique constraint creates upsert on
	// (ON CONFLICT). Default: the key. A single string is accepted too.
	UpsertOn Columns `json:"upsertOn,omitempty"`
	// Lookup gives, per field, the SQL expression Find compares values to,
	// for matching messy data: {email: "lower(trim(email))"}. Fields without
	// one compare the column as stored.
	Lookup map[string]string `json:"lookup,omitempty"`
}

func (c StreamConfig) withDefaults(name string) StreamConfig {
	if c.Table == "" {
		c.Table = name
	}
	if c.Key == "" {
		c.Key = "id"
	}
	if c.UpdatedAt == "" {
		c.UpdatedAt = "updated_at"
	}
	if len(c.UpsertOn) == 0 {
		c.UpsertOn = Columns{c.Key}
	}
	return c
}

func (c StreamConfig) check() error {
	var problems []string
	for col, typ := range c.Columns {
		if !validType(typ) {
			problems = append(problems, fmt.Sprintf("column %q has unknown type %q (use one of %s)", col, typ, strings.Join(knownTypes, ", ")))
		}
	}
	for field, expr := range c.Lookup {
		if strings.TrimSpace(expr) == "" {
			problems = append(problems, fmt.Sprintf("lookup for %q is empty", field))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return fmt.Errorf("%s", strings.Join(problems, "; "))
}

// Columns is a list of column names; in config it may also be written as a
// single string.
type Columns []string

// UnmarshalJSON accepts "col" as well as ["a", "b"].
func (c *Columns) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*c = Columns{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a column name or a list of column names")
	}
	*c = many
	return nil
}

func validType(t string) bool {
	for _, k := range knownTypes {
		if t == k {
			return true
		}
	}
	return false
}

// streamConfigs decodes params["streams"].
func streamConfigs(params map[string]any) (map[string]StreamConfig, error) {
	raw, ok := params["streams"]
	if !ok || raw == nil {
		return map[string]StreamConfig{}, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("streams: %w", err)
	}
	var out map[string]StreamConfig
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("streams: expected {<name>: {table, key, updatedAt, deletedAt, columns, where, upsertOn, lookup}}: %w", err)
	}
	for name, sc := range out {
		if err := sc.check(); err != nil {
			return nil, fmt.Errorf("stream %q: %w", name, err)
		}
	}
	return out, nil
}

// resolveString reads params[key], which may be a plain string or a
// #Secret reference, and returns its value. The second result is false when
// the key is absent.
func resolveString(ctx context.Context, p connectors.OpenParams, key string) (secrets.Value, bool, error) {
	v, ok := p.Config[key]
	if !ok || v == nil {
		return secrets.Value{}, false, nil
	}
	if s, isStr := v.(string); isStr {
		return secrets.New(s), true, nil
	}
	ref, err := secrets.ParseRef(v)
	if err != nil {
		return secrets.Value{}, true, fmt.Errorf("%s: %w", key, err)
	}
	if p.Secrets == nil {
		return secrets.Value{}, true, fmt.Errorf("%s is a secret reference (%s) but no secret resolver was given", key, ref)
	}
	val, err := p.Secrets.Resolve(ctx, ref)
	if err != nil {
		return secrets.Value{}, true, fmt.Errorf("%s (%s): %w", key, ref, err)
	}
	return val, true, nil
}
