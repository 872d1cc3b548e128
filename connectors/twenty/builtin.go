package twenty

// builtinObjects is the offline knowledge of Twenty's standard objects,
// used only when the workspace's metadata cannot be read. It lists the
// fields whose type changes how the connector reads or filters them
// (dates, selects, composites, relations); the workspace's metadata, when
// reachable, always wins.
//
// TODO(foundation): switch to schemas.TwentyCatalog() once the catalog data
// lands in package schemas, so there is one source of truth.
func builtinObjects() []Object {
	common := func(extra ...Field) []Field {
		f := []Field{
			{Name: "id", Type: "UUID"},
			{Name: "createdAt", Type: "DATE_TIME"},
			{Name: "updatedAt", Type: "DATE_TIME"},
			{Name: "deletedAt", Type: "DATE_TIME", IsNullable: true},
			{Name: "createdBy", Type: "ACTOR"},
			{Name: "updatedBy", Type: "ACTOR"},
			{Name: "position", Type: "POSITION"},
		}
		return append(f, extra...)
	}
	obj := func(singular, plural string, fields ...Field) Object {
		return Object{NameSingular: singular, NamePlural: plural, IsActive: true, Fields: common(fields...)}
	}
	return []Object{
		obj("person", "people",
			Field{Name: "name", Type: "FULL_NAME"},
			Field{Name: "emails", Type: "EMAILS", IsUnique: true},
			Field{Name: "phones", Type: "PHONES"},
			Field{Name: "linkedinLink", Type: "LINKS"},
			Field{Name: "xLink", Type: "LINKS"},
			Field{Name: "jobTitle", Type: "TEXT"},
			Field{Name: "city", Type: "TEXT"},
			Field{Name: "avatarUrl", Type: "TEXT"},
			Field{Name: "companyId", Type: "UUID", IsNullable: true},
			Field{Name: "company", Type: "RELATION"},
		),
		obj("company", "companies",
			Field{Name: "name", Type: "TEXT"},
			Field{Name: "domainName", Type: "LINKS", IsUnique: true},
			Field{Name: "address", Type: "ADDRESS"},
			Field{Name: "employees", Type: "NUMBER"},
			Field{Name: "linkedinLink", Type: "LINKS"},
			Field{Name: "xLink", Type: "LINKS"},
			Field{Name: "annualRecurringRevenue", Type: "CURRENCY"},
			Field{Name: "idealCustomerProfile", Type: "BOOLEAN"},
			Field{Name: "accountOwnerId", Type: "UUID", IsNullable: true},
			Field{Name: "accountOwner", Type: "RELATION"},
			Field{Name: "people", Type: "RELATION"},
		),
		obj("opportunity", "opportunities",
			Field{Name: "name", Type: "TEXT"},
			Field{Name: "amount", Type: "CURRENCY"},
			Field{Name: "closeDate", Type: "DATE_TIME"},
			Field{Name: "stage", Type: "SELECT"},
			Field{Name: "pointOfContactId", Type: "UUID", IsNullable: true},
			Field{Name: "companyId", Type: "UUID", IsNullable: true},
			Field{Name: "ownerId", Type: "UUID", IsNullable: true},
			Field{Name: "pointOfContact", Type: "RELATION"},
			Field{Name: "company", Type: "RELATION"},
			Field{Name: "owner", Type: "RELATION"},
		),
		obj("note", "notes",
			Field{Name: "title", Type: "TEXT"},
			Field{Name: "bodyV2", Type: "RICH_TEXT_V2"},
		),
		obj("task", "tasks",
			Field{Name: "title", Type: "TEXT"},
			Field{Name: "bodyV2", Type: "RICH_TEXT_V2"},
			Field{Name: "dueAt", Type: "DATE_TIME"},
			Field{Name: "status", Type: "SELECT"},
			Field{Name: "assigneeId", Type: "UUID", IsNullable: true},
		),
		obj("noteTarget", "noteTargets", Field{Name: "noteId", Type: "UUID"}),
		obj("taskTarget", "taskTargets", Field{Name: "taskId", Type: "UUID"}),
		obj("timelineActivity", "timelineActivities"),
		obj("workspaceMember", "workspaceMembers"),
		obj("attachment", "attachments"),
		obj("favorite", "favorites"),
	}
}
