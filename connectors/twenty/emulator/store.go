package emulator

import (
	"maps"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

// table holds the records of one object and its unique indexes. A stored
// record map is never modified: a write stores a new map (see set).
type table struct {
	obj     *objectDef
	rows    map[string]map[string]any
	uniques map[string]map[string]string // dotted path -> normalized value -> id
	hashes  map[string]*hashIndex        // list indexes, built when first useful (index.go)
	orders  map[string]*orderIndex
}

func newTable(o *objectDef) *table {
	t := &table{obj: o, rows: map[string]map[string]any{}, uniques: map[string]map[string]string{}}
	for _, p := range o.uniqueFields() {
		t.uniques[p] = map[string]string{}
	}
	return t
}

// uniqueKey is the value indexed for a unique path, "" when the record has
// none (empty strings and NULLs never collide, as in Twenty's partial
// unique indexes).
func uniqueKey(r map[string]any, path string) string {
	v, _ := lookupPath(r, path)
	switch x := v.(type) {
	case string:
		if strings.HasSuffix(path, ".primaryEmail") {
			return normalizeEmail(x)
		}
		if strings.HasSuffix(path, ".primaryLinkUrl") {
			return normalizeLinkURL(x)
		}
		return x
	case nil:
		return ""
	default:
		b, _ := jsonMarshal(x)
		return string(b)
	}
}

func (t *table) index(r map[string]any) {
	id := r["id"].(string)
	for p, idx := range t.uniques {
		if k := uniqueKey(r, p); k != "" {
			idx[k] = id
		}
	}
}

func (t *table) unindex(r map[string]any) {
	id := r["id"].(string)
	for p, idx := range t.uniques {
		if k := uniqueKey(r, p); k != "" && idx[k] == id {
			delete(idx, k)
		}
	}
}

// rebuildIndex recomputes the unique indexes (after a custom unique field
// is added).
func (t *table) rebuildIndex() {
	t.uniques = map[string]map[string]string{}
	for _, p := range t.obj.uniqueFields() {
		t.uniques[p] = map[string]string{}
	}
	for _, r := range t.rows {
		t.index(r)
	}
}

// duplicateOf reports the id of another record holding one of r's unique
// values, looking at stored rows (soft-deleted included).
func (t *table) duplicateOf(r map[string]any) (string, bool) {
	id, _ := r["id"].(string)
	for p, idx := range t.uniques {
		k := uniqueKey(r, p)
		if k == "" {
			continue
		}
		if other, ok := idx[k]; ok && other != id {
			return other, true
		}
	}
	return "", false
}

// event is a change to announce to webhooks.
type event struct {
	obj           *objectDef
	action        string // created, updated, deleted, destroyed, restored, upserted
	record        map[string]any
	updatedFields []string
	at            time.Time
}

// stamp returns the timestamp of the next write: the clock's time in
// milliseconds, strictly after the previous write's.
func (s *Server) stamp() time.Time {
	now := s.cfg.Clock().UTC().Truncate(time.Millisecond)
	if !now.After(s.lastStamp) {
		now = s.lastStamp.Add(time.Millisecond)
	}
	s.lastStamp = now
	return now
}

func (s *Server) actor(source string) map[string]any {
	name := "API"
	if source == "MANUAL" {
		name = "Emulator user"
	}
	return map[string]any{"source": source, "workspaceMemberId": nil, "name": name, "context": map[string]any{}}
}

// prepareCreate validates input and builds the record to insert, without
// storing it.
func (s *Server) prepareCreate(t *table, input map[string]any, at time.Time, source string) (map[string]any, *apiError) {
	vals, err := s.coerceInput(t.obj, input)
	if err != nil {
		return nil, err
	}
	r := map[string]any{}
	for _, f := range t.obj.Fields {
		r[f.Name] = defaultValue(f)
	}
	for k, v := range vals {
		if sub, ok := v.(map[string]any); ok && isComposite(t.obj.field(k).Type) {
			base := r[k].(map[string]any)
			for sk, sv := range sub {
				base[sk] = sv
			}
			continue
		}
		r[k] = v
	}
	id, _ := r["id"].(string)
	if id == "" {
		id = uuid.NewString()
		r["id"] = id
	}
	if _, exists := t.rows[id]; exists {
		return nil, badRequest("Record already exists")
	}
	r["createdAt"] = formatTime(at)
	r["updatedAt"] = formatTime(at)
	r["deletedAt"] = nil
	r["createdBy"] = s.actor(source)
	r["updatedBy"] = s.actor(source)
	if r["position"] == nil {
		s.position++
		r["position"] = float64(s.position)
	}
	if err := s.checkRelations(t.obj, r); err != nil {
		return nil, err
	}
	if _, dup := t.duplicateOf(r); dup {
		return nil, duplicateError()
	}
	return r, nil
}

func duplicateError() *apiError {
	return badRequest("A duplicate entry was detected")
}

// coerceInput validates every key of a write body.
func (s *Server) coerceInput(o *objectDef, input map[string]any) (map[string]any, *apiError) {
	out := map[string]any{}
	for k, v := range input {
		name := k
		if strings.HasSuffix(o.Plural, "Targets") {
			if alias, ok := legacyTargetAliases[k]; ok {
				name = alias
			}
		}
		f := o.field(name)
		if f == nil {
			return nil, badRequest("Object %s doesn't have any \"%s\" field.", o.Singular, k)
		}
		if f.ReadOnly {
			continue
		}
		cv, err := coerceField(o, f, v)
		if err != nil {
			return nil, err
		}
		if name == "id" && cv == nil {
			continue
		}
		out[name] = cv
	}
	return out, nil
}

// checkRelations enforces the foreign keys of r's join columns: the target
// must exist (soft-deleted targets count, as in Postgres).
func (s *Server) checkRelations(o *objectDef, r map[string]any) *apiError {
	for _, f := range o.Fields {
		if f.Target == "" {
			continue
		}
		id, _ := r[f.Name].(string)
		if id == "" {
			continue
		}
		if _, ok := s.tables[f.Target].rows[id]; !ok {
			return badRequest("insert or update on table %q violates foreign key constraint \"FK_%s_%s\": Key (%s)=(%s) is not present in table %q",
				o.Singular, o.Singular, f.Name, f.Name, id, s.tables[f.Target].obj.Singular)
		}
	}
	return nil
}

func (s *Server) insert(t *table, r map[string]any) {
	t.set(r)
}

// applyUpdate merges vals (already coerced) into a copy of old and returns
// it with the names of the fields whose value changed.
func applyUpdate(o *objectDef, old map[string]any, vals map[string]any) (map[string]any, []string) {
	r := cloneRecord(old)
	var changed []string
	for k, v := range vals {
		if k == "id" {
			continue
		}
		if sub, ok := v.(map[string]any); ok && isComposite(o.field(k).Type) {
			base, _ := r[k].(map[string]any)
			if base == nil {
				base = map[string]any{}
			}
			for sk, sv := range sub {
				base[sk] = sv
			}
			r[k] = base
		} else {
			r[k] = v
		}
		if !reflect.DeepEqual(old[k], r[k]) {
			changed = append(changed, k)
		}
	}
	sort.Strings(changed)
	return r, changed
}

// update changes the live (not soft-deleted) record id of t. It returns the
// new record and the event to announce.
func (s *Server) update(t *table, id string, input map[string]any, source string, includeDeleted bool, at time.Time) (map[string]any, *event, *apiError) {
	old, ok := t.rows[id]
	if !ok || (old["deletedAt"] != nil && !includeDeleted) {
		return nil, nil, notFound("Record not found")
	}
	vals, err := s.coerceInput(t.obj, input)
	if err != nil {
		return nil, nil, err
	}
	if nid, ok := vals["id"]; ok && nid != id {
		return nil, nil, badRequest("The id of a record cannot be changed")
	}
	r, changed := applyUpdate(t.obj, old, vals)
	if err := s.checkRelations(t.obj, r); err != nil {
		return nil, nil, err
	}
	if _, dup := t.duplicateOf(r); dup {
		return nil, nil, duplicateError()
	}
	if at.IsZero() {
		at = s.stamp()
	}
	r["updatedAt"] = formatTime(at)
	r["updatedBy"] = s.actor(source)
	t.set(r)
	return r, &event{obj: t.obj, action: "updated", record: r, updatedFields: changed, at: at}, nil
}

// softDelete marks a live record deleted.
func (s *Server) softDelete(t *table, id string) (*event, *apiError) {
	r, ok := t.rows[id]
	if !ok || r["deletedAt"] != nil {
		return nil, notFound("Record not found")
	}
	at := s.stamp()
	nr := maps.Clone(r)
	nr["deletedAt"] = formatTime(at)
	nr["updatedAt"] = formatTime(at)
	t.set(nr)
	// webhooks carry the record as it was before a delete
	return &event{obj: t.obj, action: "deleted", record: r, at: at}, nil
}

// destroy removes a record for good (soft-deleted or not) and nulls the
// join columns pointing at it, like ON DELETE SET NULL.
func (s *Server) destroy(t *table, id string) ([]*event, *apiError) {
	r, ok := t.rows[id]
	if !ok {
		return nil, notFound("Record not found")
	}
	at := s.stamp()
	t.remove(id)
	evs := []*event{{obj: t.obj, action: "destroyed", record: r, at: at}}
	for _, ot := range s.tables {
		for _, f := range ot.obj.Fields {
			if f.Target != t.obj.Plural {
				continue
			}
			var hit []map[string]any
			for _, row := range ot.rows {
				if row[f.Name] == id {
					hit = append(hit, row)
				}
			}
			for _, row := range hit {
				nr := maps.Clone(row)
				nr[f.Name] = nil
				ot.set(nr)
			}
		}
	}
	return evs, nil
}

// restore clears deletedAt of a soft-deleted record.
func (s *Server) restore(t *table, id string) (map[string]any, *event, *apiError) {
	r, ok := t.rows[id]
	if !ok {
		return nil, nil, notFound("Record not found")
	}
	if r["deletedAt"] == nil {
		return r, nil, nil
	}
	at := s.stamp()
	nr := maps.Clone(r)
	nr["deletedAt"] = nil
	nr["updatedAt"] = formatTime(at)
	t.set(nr)
	return nr, &event{obj: t.obj, action: "restored", record: nr, at: at}, nil
}

// upsertMatch finds the stored records (soft-deleted included) that match
// input on id or on a unique field.
func (s *Server) upsertMatch(t *table, input map[string]any) ([]string, *apiError) {
	vals, err := s.coerceInput(t.obj, input)
	if err != nil {
		return nil, err
	}
	probe := map[string]any{}
	for k, v := range vals {
		probe[k] = v
	}
	seen := map[string]bool{}
	var ids []string
	if id, _ := probe["id"].(string); id != "" {
		if _, ok := t.rows[id]; ok {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	paths := make([]string, 0, len(t.uniques))
	for p := range t.uniques {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		k := uniqueKey(probe, p)
		if k == "" {
			continue
		}
		if id, ok := t.uniques[p][k]; ok && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}
