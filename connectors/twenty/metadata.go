package twenty

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Object is what the workspace's metadata says about one object.
type Object struct {
	ID           string  `json:"id"`
	NameSingular string  `json:"nameSingular"`
	NamePlural   string  `json:"namePlural"`
	LabelPlural  string  `json:"labelPlural,omitempty"`
	IsCustom     bool    `json:"isCustom"`
	IsActive     bool    `json:"isActive"`
	Fields       []Field `json:"fields"`
}

// Field is one field of an object.
type Field struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Label      string `json:"label"`
	Type       string `json:"type"` // TEXT, EMAILS, FULL_NAME, SELECT, DATE_TIME, RELATION, ...
	IsCustom   bool   `json:"isCustom"`
	IsNullable bool   `json:"isNullable"`
	IsUnique   bool   `json:"isUnique"`
}

// Field returns the named field, or nil.
func (o *Object) Field(name string) *Field {
	if o == nil {
		return nil
	}
	for i := range o.Fields {
		if o.Fields[i].Name == name {
			return &o.Fields[i]
		}
	}
	return nil
}

// fieldType is the Twenty type of the top-level field of a dotted path, ""
// when unknown.
func (o *Object) fieldType(path string) string {
	top, _, _ := strings.Cut(path, ".")
	if f := o.Field(top); f != nil {
		return f.Type
	}
	return ""
}

// catalog is the set of objects known for a connection, either read from
// the workspace (live) or the offline fallback.
type catalog struct {
	live    bool
	objects []Object
}

func (c *catalog) byPlural(name string) *Object {
	for i := range c.objects {
		if c.objects[i].NamePlural == name {
			return &c.objects[i]
		}
	}
	return nil
}

func (c *catalog) bySingular(name string) *Object {
	for i := range c.objects {
		if c.objects[i].NameSingular == name {
			return &c.objects[i]
		}
	}
	return nil
}

func (c *catalog) plurals() []string {
	var out []string
	for _, o := range c.objects {
		if o.IsActive || !c.live {
			out = append(out, o.NamePlural)
		}
	}
	sort.Strings(out)
	return out
}

// Objects returns the workspace's objects with their fields, read from the
// metadata API (cached for the connection's life; see Refresh).
func (c *Conn) Objects(ctx context.Context) ([]Object, error) {
	objs, err := c.fetchObjects(ctx)
	if err != nil {
		return nil, err
	}
	c.metaMu.Lock()
	c.meta = &catalog{live: true, objects: objs}
	c.metaMu.Unlock()
	return objs, nil
}

// metadataRetryAfter is how long the offline catalog stands in after the
// metadata could not be read, before it is asked again.
const metadataRetryAfter = time.Minute

// catalog returns the cached catalog, loading it on first use. When the
// metadata cannot be read it returns the offline catalog and the error.
func (c *Conn) catalog(ctx context.Context) (*catalog, error) {
	c.metaMu.Lock()
	if c.meta != nil {
		m := c.meta
		c.metaMu.Unlock()
		return m, nil
	}
	failedAt, failure := c.metaFailedAt, c.metaErr
	c.metaMu.Unlock()
	if !failedAt.IsZero() && time.Since(failedAt) < metadataRetryAfter {
		return c.offlineCatalog(), fmt.Errorf("the workspace's metadata could not be read recently: %w", failure)
	}
	objs, err := c.fetchObjects(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.metaMu.Lock()
			c.metaFailedAt, c.metaErr = time.Now(), err
			c.metaMu.Unlock()
		}
		return c.offlineCatalog(), err
	}
	m := &catalog{live: true, objects: objs}
	c.metaMu.Lock()
	c.meta = m
	c.metaMu.Unlock()
	return m, nil
}

// offlineCatalog is the standard objects plus the custom fields the config
// declares, for when the workspace cannot be asked.
func (c *Conn) offlineCatalog() *catalog {
	objs := builtinObjects()
	for _, cf := range c.params.CustomFields {
		found := false
		for i := range objs {
			if objs[i].NamePlural == cf.Object {
				objs[i].Fields = append(objs[i].Fields, Field{Name: cf.Name, Label: cf.Label, Type: cf.Type, IsCustom: true, IsNullable: true, IsUnique: cf.Unique})
				found = true
			}
		}
		if !found {
			objs = append(objs, Object{NamePlural: cf.Object, IsCustom: true, IsActive: true,
				Fields: []Field{{Name: cf.Name, Label: cf.Label, Type: cf.Type, IsCustom: true, IsNullable: true, IsUnique: cf.Unique}}})
		}
	}
	return &catalog{objects: objs}
}

// fetchObjects reads GET /rest/metadata/objects. The answer is
// {data: {objects: [...]}}; fields come as a list or, in versions that
// mirror GraphQL, as {edges: [{node}]}. Both are accepted.
func (c *Conn) fetchObjects(ctx context.Context) ([]Object, error) {
	const path = "/rest/metadata/objects"
	resp, err := c.call(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	_, raw, err := decodeEnvelope(http.MethodGet, path, resp.Body)
	if err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if err := unmarshalList(raw, &items); err != nil {
		return nil, fmt.Errorf("twenty GET %s: objects: %w", path, err)
	}
	objs := make([]Object, 0, len(items))
	for _, it := range items {
		var o struct {
			Object
			Fields json.RawMessage `json:"fields"`
		}
		if err := json.Unmarshal(it, &o); err != nil {
			return nil, fmt.Errorf("twenty GET %s: object: %w", path, err)
		}
		obj := o.Object
		obj.Fields = nil
		if len(o.Fields) > 0 && string(o.Fields) != "null" {
			var fields []json.RawMessage
			if err := unmarshalList(o.Fields, &fields); err != nil {
				return nil, fmt.Errorf("twenty GET %s: fields of %s: %w", path, obj.NamePlural, err)
			}
			for _, fr := range fields {
				var f Field
				if err := json.Unmarshal(fr, &f); err != nil {
					return nil, fmt.Errorf("twenty GET %s: field of %s: %w", path, obj.NamePlural, err)
				}
				obj.Fields = append(obj.Fields, f)
			}
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// unmarshalList decodes a JSON list, or a GraphQL-style {edges: [{node}]}.
func unmarshalList(raw json.RawMessage, out *[]json.RawMessage) error {
	if err := json.Unmarshal(raw, out); err == nil {
		return nil
	}
	var conn struct {
		Edges []struct {
			Node json.RawMessage `json:"node"`
		} `json:"edges"`
	}
	if err := json.Unmarshal(raw, &conn); err != nil {
		return fmt.Errorf("expected a list: %w", err)
	}
	for _, e := range conn.Edges {
		*out = append(*out, e.Node)
	}
	return nil
}

// EnsureField makes sure the object (plural name) has a custom field with
// the given name, creating it as a unique, nullable TEXT field when it is
// missing. It reads the metadata first, so running it again is harmless;
// created reports whether this call created the field.
func (c *Conn) EnsureField(ctx context.Context, object, name, label string) (created bool, err error) {
	return c.EnsureCustomField(ctx, CustomField{Object: object, Name: name, Label: label, Type: "TEXT", Unique: true})
}

// EnsureCustomField is EnsureField for any declared custom field.
func (c *Conn) EnsureCustomField(ctx context.Context, cf CustomField) (created bool, err error) {
	if cf.Object == "" || cf.Name == "" {
		return false, fmt.Errorf("connection %q: a custom field needs an object and a name", c.name)
	}
	if cf.Type == "" {
		cf.Type = "TEXT"
	}
	if cf.Label == "" {
		cf.Label = labelFor(cf.Name)
	}
	objs, err := c.Objects(ctx)
	if err != nil {
		return false, fmt.Errorf("connection %q: reading the workspace's objects: %w", c.name, err)
	}
	cat := &catalog{live: true, objects: objs}
	obj := cat.byPlural(cf.Object)
	if obj == nil {
		if s := cat.bySingular(cf.Object); s != nil {
			return false, fmt.Errorf("connection %q: object '%s' not found. Did you mean '%s'?", c.name, cf.Object, s.NamePlural)
		}
		return false, fmt.Errorf("connection %q: the workspace has no object %q (known: %s)", c.name, cf.Object, strings.Join(cat.plurals(), ", "))
	}
	if f := obj.Field(cf.Name); f != nil {
		if !strings.EqualFold(f.Type, cf.Type) {
			return false, fmt.Errorf("connection %q: %s.%s exists with type %s, not %s; rename the field in the config or in Twenty",
				c.name, cf.Object, cf.Name, f.Type, cf.Type)
		}
		return false, nil
	}
	if obj.ID == "" {
		return false, fmt.Errorf("connection %q: the metadata of %s has no id to attach a field to", c.name, cf.Object)
	}
	body := map[string]any{
		"objectMetadataId": obj.ID,
		"type":             cf.Type,
		"name":             cf.Name,
		"label":            cf.Label,
		"isNullable":       true,
		"isUnique":         cf.Unique,
	}
	if _, err := c.call(ctx, http.MethodPost, "/rest/metadata/fields", nil, body); err != nil {
		// A retried POST may have created the field already: look again.
		if objs, err2 := c.Objects(ctx); err2 == nil {
			if o := (&catalog{objects: objs}).byPlural(cf.Object); o.Field(cf.Name) != nil {
				return true, nil
			}
		}
		return false, fmt.Errorf("connection %q: creating the field %s.%s: %w", c.name, cf.Object, cf.Name, err)
	}
	// Refresh the cache so streams opened from now on see the field.
	if _, err := c.Objects(ctx); err != nil {
		c.log.Warn("field created but the metadata could not be re-read", "err", err)
	}
	return true, nil
}

// labelFor turns kelompokId into "Kelompok Id".
func labelFor(name string) string {
	var b strings.Builder
	for i, r := range name {
		if i == 0 {
			b.WriteString(strings.ToUpper(string(r)))
			continue
		}
		if r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}
