package emulator

import (
	"sort"
	"strings"

	"github.com/google/uuid"
)

// Field types, named as Twenty's metadata API names them.
const (
	typeUUID       = "UUID"
	typeText       = "TEXT"
	typeNumber     = "NUMBER"
	typeBoolean    = "BOOLEAN"
	typeDateTime   = "DATE_TIME"
	typeDate       = "DATE"
	typeSelect     = "SELECT"
	typeMulti      = "MULTI_SELECT"
	typeArray      = "ARRAY"
	typeRawJSON    = "RAW_JSON"
	typeRating     = "RATING"
	typePosition   = "POSITION"
	typeActor      = "ACTOR"
	typeFullName   = "FULL_NAME"
	typeEmails     = "EMAILS"
	typePhones     = "PHONES"
	typeLinks      = "LINKS"
	typeAddress    = "ADDRESS"
	typeCurrency   = "CURRENCY"
	typeRichTextV2 = "RICH_TEXT_V2"
	typeRelation   = "RELATION"
)

// subField is one sub-field of a composite type.
type subField struct {
	name string
	kind string // typeText, typeNumber, typeArray (JSON array of strings or objects)
}

// compositeTypes lists the sub-fields of every composite type, in Twenty's
// order. Defaults: text sub-fields "", number and array sub-fields null.
var compositeTypes = map[string][]subField{
	typeFullName: {{"firstName", typeText}, {"lastName", typeText}},
	typeEmails:   {{"primaryEmail", typeText}, {"additionalEmails", typeArray}},
	typePhones: {{"primaryPhoneNumber", typeText}, {"primaryPhoneCountryCode", typeText},
		{"primaryPhoneCallingCode", typeText}, {"additionalPhones", typeArray}},
	typeLinks: {{"primaryLinkUrl", typeText}, {"primaryLinkLabel", typeText}, {"secondaryLinks", typeArray}},
	typeAddress: {{"addressStreet1", typeText}, {"addressStreet2", typeText}, {"addressCity", typeText},
		{"addressPostcode", typeText}, {"addressState", typeText}, {"addressCountry", typeText},
		{"addressLat", typeNumber}, {"addressLng", typeNumber}},
	typeCurrency:   {{"amountMicros", typeNumber}, {"currencyCode", typeText}},
	typeRichTextV2: {{"blocknote", typeText}, {"markdown", typeText}},
	typeActor: {{"source", typeText}, {"workspaceMemberId", typeText}, {"name", typeText},
		{"context", typeRawJSON}},
}

func isComposite(t string) bool { _, ok := compositeTypes[t]; return ok }

// fieldDef describes one field of an object.
type fieldDef struct {
	ID         string
	Name       string
	Label      string
	Type       string
	IsNullable bool
	IsUnique   bool
	IsCustom   bool
	IsSystem   bool
	// ReadOnly fields are managed by the server (createdAt, updatedAt, ...);
	// values sent for them are ignored.
	ReadOnly bool
	// Options are the allowed values of a SELECT or MULTI_SELECT field.
	Options []string
	// Default is the value a create without this field stores; nil means
	// the type's default (see defaultValue).
	Default any
	// Target is the plural name of the object a UUID join column points at.
	Target string
	// EnumName is the Postgres enum type name used in error messages.
	EnumName string
}

// objectDef describes one object (standard or custom).
type objectDef struct {
	ID       string
	Singular string
	Plural   string
	Label    string
	IsCustom bool
	Fields   []*fieldDef
	byName   map[string]*fieldDef
}

func (o *objectDef) field(name string) *fieldDef { return o.byName[name] }

func (o *objectDef) addField(f *fieldDef) {
	if f.ID == "" {
		f.ID = stableID("field", o.Singular, f.Name)
	}
	if f.Label == "" {
		f.Label = f.Name
	}
	if f.Type == typeSelect && f.EnumName == "" {
		f.EnumName = o.Singular + "_" + f.Name + "_enum"
	}
	o.Fields = append(o.Fields, f)
	o.byName[f.Name] = f
}

// uniqueFields returns the dotted paths that are unique on o:
// emails.primaryEmail, domainName.primaryLinkUrl and custom isUnique fields.
func (o *objectDef) uniqueFields() []string {
	var out []string
	for _, f := range o.Fields {
		if !f.IsUnique || f.Name == "id" {
			continue
		}
		switch f.Type {
		case typeEmails:
			out = append(out, f.Name+".primaryEmail")
		case typeLinks:
			out = append(out, f.Name+".primaryLinkUrl")
		default:
			if !isComposite(f.Type) {
				out = append(out, f.Name)
			}
		}
	}
	return out
}

// namespace for the emulator's deterministic metadata ids.
var idSpace = uuid.MustParse("6f0c2a4e-9d1b-4c55-8a8e-2b1f0f6a7c11")

func stableID(parts ...string) string {
	return uuid.NewSHA1(idSpace, []byte(strings.Join(parts, "/"))).String()
}

// standardObjects builds the catalog of standard objects the emulator serves.
func standardObjects() map[string]*objectDef {
	objs := map[string]*objectDef{}
	add := func(singular, plural, label string, fields ...*fieldDef) {
		o := &objectDef{ID: stableID("object", singular), Singular: singular, Plural: plural,
			Label: label, byName: map[string]*fieldDef{}}
		for _, f := range systemFields() {
			o.addField(f)
		}
		for _, f := range fields {
			o.addField(f)
		}
		objs[plural] = o
	}
	text := func(name string) *fieldDef { return &fieldDef{Name: name, Type: typeText} }
	rel := func(name, target string) *fieldDef {
		return &fieldDef{Name: name, Type: typeUUID, IsNullable: true, IsSystem: true, Target: target}
	}
	add("person", "people", "Person",
		&fieldDef{Name: "name", Type: typeFullName},
		&fieldDef{Name: "emails", Type: typeEmails, IsUnique: true},
		&fieldDef{Name: "phones", Type: typePhones},
		&fieldDef{Name: "linkedinLink", Type: typeLinks},
		&fieldDef{Name: "xLink", Type: typeLinks},
		text("jobTitle"), text("city"), text("avatarUrl"),
		rel("companyId", "companies"),
	)
	add("company", "companies", "Company",
		text("name"),
		&fieldDef{Name: "domainName", Type: typeLinks, IsUnique: true},
		&fieldDef{Name: "address", Type: typeAddress},
		&fieldDef{Name: "employees", Type: typeNumber, IsNullable: true},
		&fieldDef{Name: "linkedinLink", Type: typeLinks},
		&fieldDef{Name: "xLink", Type: typeLinks},
		&fieldDef{Name: "annualRecurringRevenue", Type: typeCurrency},
		&fieldDef{Name: "idealCustomerProfile", Type: typeBoolean, Default: false},
		&fieldDef{Name: "accountOwnerId", Type: typeUUID, IsNullable: true, IsSystem: true},
	)
	add("opportunity", "opportunities", "Opportunity",
		text("name"),
		&fieldDef{Name: "amount", Type: typeCurrency},
		&fieldDef{Name: "closeDate", Type: typeDateTime, IsNullable: true},
		&fieldDef{Name: "stage", Type: typeSelect, Default: "NEW",
			Options: []string{"NEW", "SCREENING", "MEETING", "PROPOSAL", "CUSTOMER"}},
		rel("pointOfContactId", "people"),
		rel("companyId", "companies"),
		&fieldDef{Name: "ownerId", Type: typeUUID, IsNullable: true, IsSystem: true},
	)
	add("note", "notes", "Note",
		text("title"),
		&fieldDef{Name: "bodyV2", Type: typeRichTextV2},
		&fieldDef{Name: "body", Type: typeText, IsNullable: true},
	)
	add("task", "tasks", "Task",
		text("title"),
		&fieldDef{Name: "bodyV2", Type: typeRichTextV2},
		&fieldDef{Name: "body", Type: typeText, IsNullable: true},
		&fieldDef{Name: "dueAt", Type: typeDateTime, IsNullable: true},
		&fieldDef{Name: "status", Type: typeSelect, Default: "TODO", IsNullable: true,
			Options: []string{"TODO", "IN_PROGRESS", "DONE"}},
		&fieldDef{Name: "assigneeId", Type: typeUUID, IsNullable: true, IsSystem: true},
	)
	targets := func(owner, ownerPlural string) []*fieldDef {
		return []*fieldDef{
			rel(owner+"Id", ownerPlural),
			rel("targetPersonId", "people"), rel("targetCompanyId", "companies"),
			rel("targetOpportunityId", "opportunities"),
		}
	}
	add("noteTarget", "noteTargets", "Note Target", targets("note", "notes")...)
	add("taskTarget", "taskTargets", "Task Target", targets("task", "tasks")...)
	return objs
}

// legacyTargetAliases maps the older noteTarget/taskTarget join column
// names to the current ones; both are accepted on writes and in filters.
var legacyTargetAliases = map[string]string{
	"personId":      "targetPersonId",
	"companyId":     "targetCompanyId",
	"opportunityId": "targetOpportunityId",
}

func systemFields() []*fieldDef {
	return []*fieldDef{
		{Name: "id", Type: typeUUID, IsSystem: true},
		{Name: "createdAt", Type: typeDateTime, IsSystem: true, ReadOnly: true},
		{Name: "updatedAt", Type: typeDateTime, IsSystem: true, ReadOnly: true},
		{Name: "deletedAt", Type: typeDateTime, IsSystem: true, IsNullable: true, ReadOnly: true},
		{Name: "createdBy", Type: typeActor, IsSystem: true, ReadOnly: true},
		{Name: "updatedBy", Type: typeActor, IsSystem: true, ReadOnly: true},
		{Name: "position", Type: typePosition, IsSystem: true},
	}
}

// defaultValue is what a create stores for a field it does not set, like
// Twenty's generated column defaults.
func defaultValue(f *fieldDef) any {
	if f.Default != nil {
		return cloneValue(f.Default)
	}
	if subs, ok := compositeTypes[f.Type]; ok {
		m := map[string]any{}
		for _, s := range subs {
			if s.kind == typeText && f.Type != typeRichTextV2 && f.Type != typeActor {
				m[s.name] = ""
			} else {
				m[s.name] = nil
			}
		}
		return m
	}
	if f.Type == typeText && !f.IsNullable {
		return ""
	}
	return nil
}

// sortedPlurals returns the plural names of objs in a stable order.
func sortedPlurals(objs map[string]*objectDef) []string {
	out := make([]string, 0, len(objs))
	for p := range objs {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
