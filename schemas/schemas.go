// Package schemas holds the CUE schemas of a pipe configuration directory
// (#Config's top level, #Connection, #Pipeline, #Mapping, #Secret, ...) and
// the built-in catalog of Twenty's standard objects, both embedded in the
// binary. Package config unifies the user's files with these schemas.
package schemas

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"sync"
)

//go:embed *.cue
var cueFS embed.FS

//go:embed twenty/catalog.json
var twentyCatalogJSON []byte

// File is one embedded schema file.
type File struct {
	// Name is the file name, e.g. "pipeline.cue".
	Name string
	// Source is the CUE text.
	Source []byte
}

// Files returns the embedded schema files, sorted by name.
func Files() []File {
	entries, err := fs.ReadDir(cueFS, ".")
	if err != nil {
		panic(fmt.Sprintf("schemas: reading embedded files: %v", err)) // cannot happen: embed.FS
	}
	var files []File
	for _, e := range entries {
		src, err := cueFS.ReadFile(e.Name())
		if err != nil {
			panic(fmt.Sprintf("schemas: reading embedded %s: %v", e.Name(), err))
		}
		files = append(files, File{Name: e.Name(), Source: src})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files
}

// TwentyCatalog is Twenty's standard data model as far as pipe needs it:
// objects by plural name with their fields' Twenty types, and the
// sub-fields of composite types.
type TwentyCatalog struct {
	// Common are the fields every object has (id, createdAt, updatedAt,
	// deletedAt, createdBy, updatedBy, position).
	Common map[string]string `json:"common"`
	// Composites maps a composite type (FULL_NAME, EMAILS, PHONES, LINKS,
	// ADDRESS, CURRENCY, ACTOR, RICH_TEXT_V2) to its sub-fields and their
	// types.
	Composites map[string]map[string]string `json:"composites"`
	// Objects are the standard objects by plural name (people, companies,
	// opportunities, ...).
	Objects map[string]*TwentyObject `json:"objects"`
}

// TwentyObject is one standard Twenty object.
type TwentyObject struct {
	// Singular is the singular name used in response envelopes (person).
	Singular string `json:"singular"`
	// Fields maps the object's own fields (not the common ones) to their
	// Twenty type (TEXT, FULL_NAME, RELATION, ...).
	Fields map[string]string `json:"fields"`
	// Unique lists the unique field paths (upsert match keys).
	Unique []string `json:"unique,omitempty"`
	// Options lists the allowed values of SELECT fields.
	Options map[string][]string `json:"options,omitempty"`
}

var (
	catalogOnce sync.Once
	catalog     *TwentyCatalog
)

// Twenty returns the built-in catalog of Twenty's standard objects. The
// result is shared: do not modify it.
func Twenty() *TwentyCatalog {
	catalogOnce.Do(func() {
		var c TwentyCatalog
		if err := json.Unmarshal(twentyCatalogJSON, &c); err != nil {
			panic(fmt.Sprintf("schemas: embedded twenty/catalog.json is invalid: %v", err))
		}
		catalog = &c
	})
	return catalog
}

// Object returns the object with the given plural name.
func (c *TwentyCatalog) Object(plural string) (*TwentyObject, bool) {
	o, ok := c.Objects[plural]
	return o, ok
}

// FieldType returns the Twenty type of a field of an object, common fields
// included ("" when unknown).
func (c *TwentyCatalog) FieldType(plural, field string) string {
	if t, ok := c.Common[field]; ok {
		return t
	}
	if o, ok := c.Objects[plural]; ok {
		return o.Fields[field]
	}
	return ""
}

// Value types of config.Stream.Fields, the types expressions are checked
// against.
const (
	TypeString = "string"
	TypeNumber = "number"
	TypeInt    = "int"
	TypeBool   = "bool"
	TypeTime   = "time"
	TypeList   = "list"
	TypeObject = "object"
)

// ValueType returns the config.Stream.Fields type of a Twenty field type: a
// string such as "string" or "time", or, for a composite type, a
// map[string]any of its sub-fields' types.
func (c *TwentyCatalog) ValueType(twentyType string) any {
	if sub, ok := c.Composites[twentyType]; ok {
		m := make(map[string]any, len(sub))
		for name, t := range sub {
			m[name] = c.ValueType(t)
		}
		return m
	}
	switch twentyType {
	case "NUMBER", "RATING", "POSITION":
		return TypeNumber
	case "BOOLEAN":
		return TypeBool
	case "DATE_TIME", "DATE":
		return TypeTime
	case "MULTI_SELECT", "ARRAY":
		return TypeList
	case "RAW_JSON":
		return TypeObject
	default: // TEXT, UUID, SELECT, RELATION, and unknown types read as text
		return TypeString
	}
}

// StreamFields returns the typed fields of an object (common fields, the
// object's own and the given custom fields, by name to Twenty type), in the
// form of config.Stream.Fields. ok is false when the object is not in the
// catalog and custom is empty.
func (c *TwentyCatalog) StreamFields(plural string, custom map[string]string) (fields map[string]any, ok bool) {
	o, known := c.Objects[plural]
	if !known && len(custom) == 0 {
		return nil, false
	}
	fields = make(map[string]any)
	for name, t := range c.Common {
		fields[name] = c.ValueType(t)
	}
	if known {
		for name, t := range o.Fields {
			fields[name] = c.ValueType(t)
		}
	}
	for name, t := range custom {
		fields[name] = c.ValueType(t)
	}
	return fields, true
}

// Plurals returns the catalog's object plural names, sorted.
func (c *TwentyCatalog) Plurals() []string {
	names := make([]string, 0, len(c.Objects))
	for n := range c.Objects {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
