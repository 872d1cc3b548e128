package emulator

import (
	"maps"
	"net/http"
	"regexp"
	"strings"
)

func (s *Server) routeMetadata(w http.ResponseWriter, r *http.Request, segs []string) {
	switch {
	case len(segs) == 1 && segs[0] == "objects" && r.Method == http.MethodGet:
		s.handleObjects(w)
	case len(segs) == 1 && segs[0] == "fields" && r.Method == http.MethodPost:
		s.handleCreateField(w, r)
	case len(segs) >= 1 && segs[0] == "webhooks":
		s.routeWebhooks(w, r, segs[1:])
	default:
		writeError(w, notFound("Cannot "+r.Method+" "+r.URL.Path))
	}
}

func renderField(o *objectDef, f *fieldDef) map[string]any {
	m := map[string]any{
		"id": f.ID, "name": f.Name, "label": f.Label, "type": f.Type,
		"isNullable": f.IsNullable, "isUnique": f.IsUnique, "isCustom": f.IsCustom,
		"isSystem": f.IsSystem, "isActive": true, "objectMetadataId": o.ID,
		"defaultValue": defaultValue(f),
	}
	if len(f.Options) > 0 {
		opts := make([]any, len(f.Options))
		for i, v := range f.Options {
			opts[i] = map[string]any{"value": v, "label": capitalize(strings.ToLower(strings.ReplaceAll(v, "_", " "))), "position": i}
		}
		m["options"] = opts
	}
	return m
}

// relationField is the RELATION field describing a join column, as newer
// Twenty versions list them (the UUID join column itself is listed too,
// as older versions did).
func (s *Server) relationField(o *objectDef, f *fieldDef) map[string]any {
	name := strings.TrimSuffix(f.Name, "Id")
	target := s.objects[f.Target]
	return map[string]any{
		"id": stableID("relation", o.Singular, name), "name": name, "label": capitalize(name),
		"type": typeRelation, "isNullable": true, "isUnique": false, "isCustom": false,
		"isSystem": false, "isActive": true, "objectMetadataId": o.ID, "defaultValue": nil,
		"settings": map[string]any{"joinColumnName": f.Name, "relationType": "MANY_TO_ONE"},
		"relation": map[string]any{
			"type": "MANY_TO_ONE",
			"targetObjectMetadata": map[string]any{"id": target.ID, "nameSingular": target.Singular,
				"namePlural": target.Plural},
		},
	}
}

func (s *Server) handleObjects(w http.ResponseWriter) {
	s.mu.Lock()
	var objs []any
	for _, p := range sortedPlurals(s.objects) {
		o := s.objects[p]
		var fields []any
		for _, f := range o.Fields {
			fields = append(fields, renderField(o, f))
			if f.Target != "" {
				fields = append(fields, s.relationField(o, f))
			}
		}
		objs = append(objs, map[string]any{
			"id": o.ID, "nameSingular": o.Singular, "namePlural": o.Plural,
			"labelSingular": o.Label, "labelPlural": o.Label, "isCustom": o.IsCustom,
			"isActive": true, "isSystem": false, "fields": fields,
		})
	}
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{
		"data":       map[string]any{"objects": objs},
		"totalCount": len(objs),
		"pageInfo":   map[string]any{"hasNextPage": false, "startCursor": nil, "endCursor": nil},
	})
}

var fieldNameRE = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// customFieldTypes are the field types POST /rest/metadata/fields accepts.
var customFieldTypes = map[string]bool{typeText: true, typeNumber: true, typeBoolean: true,
	typeDateTime: true, typeDate: true, typeUUID: true, typeSelect: true, typeMulti: true,
	typeArray: true, typeRawJSON: true, typeFullName: true, typeEmails: true, typePhones: true,
	typeLinks: true, typeAddress: true, typeCurrency: true, typeRichTextV2: true}

// fieldInput is the body of POST /rest/metadata/fields.
type fieldInput struct {
	ObjectMetadataID string `json:"objectMetadataId"`
	Type             string `json:"type"`
	Name             string `json:"name"`
	Label            string `json:"label"`
	Description      string `json:"description"`
	IsNullable       *bool  `json:"isNullable"`
	IsUnique         bool   `json:"isUnique"`
	DefaultValue     any    `json:"defaultValue"`
	Options          []struct {
		Value string `json:"value"`
	} `json:"options"`
}

func (s *Server) handleCreateField(w http.ResponseWriter, r *http.Request) {
	var in fieldInput
	if err := readBody(r, &in); err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var o *objectDef
	for _, obj := range s.objects {
		if obj.ID == in.ObjectMetadataID {
			o = obj
		}
	}
	switch {
	case o == nil:
		writeError(w, notFound("Object metadata does not exist: "+in.ObjectMetadataID))
		return
	case !fieldNameRE.MatchString(in.Name):
		writeError(w, badRequest("%q is not a valid field name: use camelCase letters and digits, starting with a lower-case letter", in.Name))
		return
	case o.field(in.Name) != nil:
		writeError(w, badRequest("Field name %q is not available: %s already has a field with this name", in.Name, o.Singular))
		return
	case !customFieldTypes[in.Type]:
		writeError(w, badRequest("Field type %q is not supported for custom fields", in.Type))
		return
	case in.Label == "":
		writeError(w, badRequest("label is required"))
		return
	}
	f := &fieldDef{Name: in.Name, Label: in.Label, Type: in.Type, IsNullable: true, IsUnique: in.IsUnique, IsCustom: true}
	if in.IsNullable != nil {
		f.IsNullable = *in.IsNullable
	}
	for _, opt := range in.Options {
		f.Options = append(f.Options, opt.Value)
	}
	if (in.Type == typeSelect || in.Type == typeMulti) && len(f.Options) == 0 {
		writeError(w, badRequest("a %s field needs options", in.Type))
		return
	}
	if in.DefaultValue != nil {
		v, err := coerceField(o, f, in.DefaultValue)
		if err != nil {
			writeError(w, err)
			return
		}
		f.Default = v
	}
	o.addField(f)
	t := s.tables[o.Plural]
	for id, row := range t.rows {
		nr := maps.Clone(row) // stored maps are never modified in place
		nr[f.Name] = defaultValue(f)
		t.rows[id] = nr
	}
	if f.IsUnique {
		t.rebuildIndex()
	}
	t.dropIndexes()
	writeJSON(w, 201, map[string]any{"data": map[string]any{"createOneField": renderField(o, f)}})
}
