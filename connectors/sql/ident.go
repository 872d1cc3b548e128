package sql

import (
	"fmt"
	"strings"
)

// quoteIdent quotes one identifier for PostgreSQL and SQLite: always
// double-quoted, embedded quotes doubled. Names are therefore used exactly
// as written (case-sensitive), whatever they contain ("order", "full name").
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// splitQualified splits a possibly schema-qualified name on the dots that are
// outside double quotes: `kelompok.members` -> [kelompok members],
// `"my.schema"."Members"` -> [my.schema Members]. Quoted parts lose their
// quotes ("" becomes ").
func splitQualified(name string) ([]string, error) {
	var parts []string
	var cur strings.Builder
	inQuotes, quoted := false, false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case inQuotes && c == '"':
			if i+1 < len(name) && name[i+1] == '"' {
				cur.WriteByte('"')
				i++
			} else {
				inQuotes = false
			}
		case inQuotes:
			cur.WriteByte(c)
		case c == '"':
			inQuotes, quoted = true, true
		case c == '.':
			if cur.Len() == 0 && !quoted {
				return nil, fmt.Errorf("table name %q has an empty part", name)
			}
			parts = append(parts, cur.String())
			cur.Reset()
			quoted = false
		default:
			cur.WriteByte(c)
		}
	}
	if inQuotes {
		return nil, fmt.Errorf("table name %q has an unclosed double quote", name)
	}
	if cur.Len() == 0 && !quoted {
		return nil, fmt.Errorf("table name %q has an empty part", name)
	}
	parts = append(parts, cur.String())
	if len(parts) > 2 {
		return nil, fmt.Errorf("table name %q has %d parts; use table or schema.table", name, len(parts))
	}
	return parts, nil
}

// quoteQualified quotes every part of a split name and joins them with dots.
func quoteQualified(parts []string) string {
	q := make([]string, len(parts))
	for i, p := range parts {
		q[i] = quoteIdent(p)
	}
	return strings.Join(q, ".")
}
