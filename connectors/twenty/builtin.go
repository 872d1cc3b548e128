package twenty

import (
	"maps"
	"slices"
	"sort"

	"github.com/kelompok/pipe/schemas"
)

// builtinObjects is the offline knowledge of Twenty's standard objects,
// from the built-in catalog (schemas.Twenty), used only when the
// workspace's metadata cannot be read. The workspace's metadata, when
// reachable, always wins.
func builtinObjects() []Object {
	cat := schemas.Twenty()
	common := slices.Sorted(maps.Keys(cat.Common))
	var objs []Object
	for _, plural := range cat.Plurals() {
		o, _ := cat.Object(plural)
		unique := map[string]bool{}
		for _, u := range o.Unique {
			top := u
			for i := range u {
				if u[i] == '.' {
					top = u[:i]
					break
				}
			}
			unique[top] = true
		}
		obj := Object{NameSingular: o.Singular, NamePlural: plural, IsActive: true}
		for _, name := range common {
			obj.Fields = append(obj.Fields, Field{Name: name, Type: cat.Common[name], IsNullable: name == "deletedAt"})
		}
		names := slices.Sorted(maps.Keys(o.Fields))
		sort.Strings(names)
		for _, name := range names {
			obj.Fields = append(obj.Fields, Field{Name: name, Type: o.Fields[name], IsNullable: true, IsUnique: unique[name]})
		}
		objs = append(objs, obj)
	}
	return objs
}
