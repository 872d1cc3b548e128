package emulator

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// tri is SQL's three-valued logic: a comparison with NULL is unknown, and
// unknown rows are not returned (so NULL never matches neq or not(...)).
type tri int8

const (
	triFalse tri = iota
	triTrue
	triUnknown
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

type filterNode interface {
	eval(r map[string]any) tri
}

type andNode []filterNode

func (n andNode) eval(r map[string]any) tri {
	out := triTrue
	for _, c := range n {
		switch c.eval(r) {
		case triFalse:
			return triFalse
		case triUnknown:
			out = triUnknown
		}
	}
	return out
}

type orNode []filterNode

func (n orNode) eval(r map[string]any) tri {
	out := triFalse
	for _, c := range n {
		switch c.eval(r) {
		case triTrue:
			return triTrue
		case triUnknown:
			out = triUnknown
		}
	}
	return out
}

type notNode struct{ inner filterNode }

func (n notNode) eval(r map[string]any) tri {
	switch n.inner.eval(r) {
	case triTrue:
		return triFalse
	case triFalse:
		return triTrue
	}
	return triUnknown
}

// leaf is one field[op]:value comparison.
type leaf struct {
	path   string
	kind   string // the leaf's type: TEXT, NUMBER, UUID, DATE_TIME, BOOLEAN, SELECT, ARRAY, ...
	op     string
	value  any   // converted operand
	values []any // for in, containsAny, containsExactly
	isNull bool  // for is: NULL (true) or NOT_NULL (false)
	re     *regexp.Regexp
}

func (l *leaf) eval(r map[string]any) tri {
	v, _ := lookupPath(r, l.path)
	if l.op == "is" {
		return triOf((v == nil) == l.isNull)
	}
	if v == nil {
		return triUnknown
	}
	switch l.op {
	case "eq":
		return triOf(compareValues(l.kind, v, l.value) == 0)
	case "neq":
		return triOf(compareValues(l.kind, v, l.value) != 0)
	case "gt":
		return triOf(compareValues(l.kind, v, l.value) > 0)
	case "gte":
		return triOf(compareValues(l.kind, v, l.value) >= 0)
	case "lt":
		return triOf(compareValues(l.kind, v, l.value) < 0)
	case "lte":
		return triOf(compareValues(l.kind, v, l.value) <= 0)
	case "in":
		for _, w := range l.values {
			if compareValues(l.kind, v, w) == 0 {
				return triTrue
			}
		}
		return triFalse
	case "containsAny", "containsExactly":
		arr, _ := v.([]any)
		have := map[string]bool{}
		for _, e := range arr {
			have[fmt.Sprint(e)] = true
		}
		want := map[string]bool{}
		any := false
		for _, w := range l.values {
			want[fmt.Sprint(w)] = true
			if have[fmt.Sprint(w)] {
				any = true
			}
		}
		if l.op == "containsAny" {
			return triOf(any)
		}
		if len(have) != len(want) {
			return triFalse
		}
		for k := range want {
			if !have[k] {
				return triFalse
			}
		}
		return triTrue
	case "startsWith", "endsWith", "like", "ilike":
		s, _ := v.(string)
		return triOf(l.re.MatchString(s))
	}
	return triFalse
}

// compareValues orders two non-nil values of one leaf type.
func compareValues(kind string, a, b any) int {
	switch kind {
	case typeNumber, typePosition, typeRating:
		x, _ := a.(float64)
		y, _ := b.(float64)
		return cmpOrdered(x, y)
	case typeBoolean:
		x, _ := a.(bool)
		y, _ := b.(bool)
		return cmpOrdered(boolInt(x), boolInt(y))
	case typeDateTime:
		// stored values and cursors use one canonical layout: compare as text
		if x, ok := a.(string); ok && len(x) == len(timeLayout) {
			if y, ok := b.(string); ok && len(y) == len(timeLayout) {
				return strings.Compare(x, y)
			}
		}
		x, y := asTime(a), asTime(b)
		return x.Compare(y)
	}
	if x, ok := a.(string); ok {
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cmpOrdered[T int | float64 | string](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func asTime(v any) time.Time {
	switch x := v.(type) {
	case time.Time:
		return x
	case string:
		t, _ := parseTime(x)
		return t
	}
	return time.Time{}
}

// filterParser parses Twenty's REST filter syntax.
type filterParser struct {
	obj             *objectDef
	src             string
	pos             int
	mentionsDeleted bool
}

// parseFilter compiles a filter query parameter against object o. The
// second result tells whether the filter mentions deletedAt (then
// soft-deleted rows are not excluded).
func parseFilter(o *objectDef, src string) (filterNode, bool, *apiError) {
	p := &filterParser{obj: o, src: src}
	n, err := p.list()
	if err != nil {
		return nil, false, err
	}
	if p.pos != len(p.src) {
		return nil, false, badRequest("Invalid filter %q: unexpected %q at position %d", src, p.src[p.pos:], p.pos)
	}
	return n, p.mentionsDeleted, nil
}

func (p *filterParser) errf(format string, args ...any) *apiError {
	return badRequest("Invalid filter %q: %s", p.src, fmt.Sprintf(format, args...))
}

func (p *filterParser) list() (filterNode, *apiError) {
	var terms andNode
	for {
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		break
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *filterParser) term() (filterNode, *apiError) {
	for _, conj := range []string{"and(", "or(", "not("} {
		if strings.HasPrefix(p.src[p.pos:], conj) {
			p.pos += len(conj)
			inner, err := p.list()
			if err != nil {
				return nil, err
			}
			if p.pos >= len(p.src) || p.src[p.pos] != ')' {
				return nil, p.errf("missing ')' after %s", conj)
			}
			p.pos++
			switch conj {
			case "and(":
				return inner, nil
			case "or(":
				if a, ok := inner.(andNode); ok {
					return orNode(a), nil
				}
				return orNode{inner}, nil
			default:
				return notNode{inner}, nil
			}
		}
	}
	// field[op]:value
	open := strings.IndexByte(p.src[p.pos:], '[')
	if open <= 0 {
		return nil, p.errf("expected field[operator]:value at position %d", p.pos)
	}
	field := p.src[p.pos : p.pos+open]
	p.pos += open + 1
	closeIdx := strings.IndexByte(p.src[p.pos:], ']')
	if closeIdx < 0 {
		return nil, p.errf("missing ']' after operator")
	}
	op := p.src[p.pos : p.pos+closeIdx]
	p.pos += closeIdx + 1
	if p.pos >= len(p.src) || p.src[p.pos] != ':' {
		return nil, p.errf("missing ':' after %s[%s]", field, op)
	}
	p.pos++
	raw := p.value()
	return p.leaf(field, op, raw)
}

// value reads a raw operand up to the next ',' or ')' outside quotes and
// brackets.
func (p *filterParser) value() string {
	start := p.pos
	depth := 0
	inQuote := false
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case inQuote:
			if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == '[':
			depth++
		case c == ']':
			depth--
		case (c == ',' || c == ')') && depth <= 0:
			return p.src[start:p.pos]
		}
		p.pos++
	}
	return p.src[start:p.pos]
}

func unquote(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1], true
	}
	return s, false
}

var filterOps = map[string]bool{"eq": true, "neq": true, "in": true, "containsAny": true,
	"containsExactly": true, "is": true, "gt": true, "gte": true, "lt": true, "lte": true,
	"startsWith": true, "endsWith": true, "like": true, "ilike": true}

func (p *filterParser) leaf(field, op, raw string) (filterNode, *apiError) {
	if !filterOps[op] {
		return nil, badRequest("Invalid filter %q: unknown operator %q (use eq, neq, in, containsAny, containsExactly, is, gt, gte, lt, lte, startsWith, endsWith, like or ilike)", p.src, op)
	}
	kind, path, err := resolvePath(p.obj, field)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(path, "deletedAt") {
		p.mentionsDeleted = true
	}
	l := &leaf{path: path, kind: kind, op: op}
	switch op {
	case "is":
		v, _ := unquote(raw)
		switch strings.ToUpper(v) {
		case "NULL":
			l.isNull = true
		case "NOT_NULL":
		default:
			return nil, p.errf("the is operator takes NULL or NOT_NULL, not %q", raw)
		}
		return l, nil
	case "in", "containsAny", "containsExactly":
		s := strings.TrimSpace(raw)
		if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
			return nil, p.errf("%s[%s] takes a list like [a,b], not %q", field, op, raw)
		}
		if op != "in" && kind != typeArray && kind != typeMulti {
			return nil, p.errf("%s[%s] needs an array field; %s is %s", field, op, field, kind)
		}
		itemKind := kind
		if op != "in" {
			itemKind = typeText
		}
		for _, item := range splitList(s[1 : len(s)-1]) {
			v, err := convertOperand(field, itemKind, p.obj, path, item)
			if err != nil {
				return nil, err
			}
			l.values = append(l.values, v)
		}
		return l, nil
	case "startsWith", "endsWith", "like", "ilike":
		if kind != typeText && kind != typeUUID && kind != typeSelect {
			return nil, badRequest("operator does not exist: %s ~~ unknown (%s[%s] needs a text field)", strings.ToLower(kind), field, op)
		}
		v, _ := unquote(raw)
		var pattern string
		switch op {
		case "startsWith":
			pattern = "^" + regexp.QuoteMeta(v)
		case "endsWith":
			pattern = regexp.QuoteMeta(v) + "$"
		default:
			pattern = likeToRegexp(v)
			if op == "ilike" {
				pattern = "(?is)" + pattern
			} else {
				pattern = "(?s)" + pattern
			}
		}
		l.re = regexp.MustCompile(pattern)
		return l, nil
	}
	if kind == typeArray || kind == typeMulti || kind == typeRawJSON {
		return nil, p.errf("%s[%s] cannot compare a %s field; use containsAny", field, op, kind)
	}
	v, err := convertOperand(field, kind, p.obj, path, raw)
	if err != nil {
		return nil, err
	}
	l.value = v
	return l, nil
}

func splitList(s string) []string {
	var out []string
	inQuote := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			inQuote = !inQuote
		case s[i] == ',' && !inQuote:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" || len(out) > 0 {
		out = append(out, rest)
	}
	return out
}

// likeToRegexp turns a SQL LIKE pattern into an anchored regexp.
func likeToRegexp(p string) string {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		case '\\':
			if i+1 < len(p) {
				i++
				b.WriteString(regexp.QuoteMeta(string(p[i])))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return b.String()
}

// convertOperand turns a raw filter operand into a value comparable with
// the stored ones. Quotes are stripped, except for enum (SELECT) fields,
// where the quoted value is passed on and rejected like Postgres does.
func convertOperand(field, kind string, o *objectDef, path, raw string) (any, *apiError) {
	if kind == typeSelect {
		f := o.field(strings.SplitN(path, ".", 2)[0])
		v := strings.TrimSpace(raw)
		if !contains(f.Options, v) {
			return nil, badRequest("invalid input value for enum %s: %q", f.EnumName, v)
		}
		return v, nil
	}
	v, _ := unquote(raw)
	switch kind {
	case typeNumber, typePosition, typeRating:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, badRequest("invalid input syntax for type double precision: %q (filter on %s)", v, field)
		}
		return n, nil
	case typeBoolean:
		switch strings.ToLower(v) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, badRequest("invalid input syntax for type boolean: %q (filter on %s)", v, field)
	case typeUUID:
		if _, err := uuid.Parse(v); err != nil || len(v) != 36 {
			return nil, badRequest("invalid input syntax for type uuid: %q (filter on %s)", v, field)
		}
		return strings.ToLower(v), nil
	case typeDateTime, typeDate:
		t, err := parseTime(v)
		if err != nil {
			return nil, badRequest("%s (filter on %s)", err.Error(), field)
		}
		if kind == typeDate {
			return t.Format("2006-01-02"), nil
		}
		return formatTime(t), nil // the stored layout, compared as text
	}
	return v, nil
}

// resolvePath checks a field reference (name or composite.sub) and returns
// the type of the value it designates and the canonical path.
func resolvePath(o *objectDef, ref string) (string, string, *apiError) {
	head, sub, nested := strings.Cut(ref, ".")
	if strings.HasSuffix(o.Plural, "Targets") {
		if alias, ok := legacyTargetAliases[head]; ok && o.field(head) == nil {
			head = alias
		}
	}
	f := o.field(head)
	if f == nil {
		return "", "", badRequest("field '%s' does not exist in '%s' object", head, o.Singular)
	}
	subs, composite := compositeTypes[f.Type]
	if !composite {
		if nested {
			return "", "", badRequest("field '%s' of '%s' is not a composite field; '%s' is not valid", head, o.Singular, ref)
		}
		return f.Type, head, nil
	}
	if !nested {
		return "", "", badRequest("composite field '%s' of '%s' needs a sub-field, like %s.%s", head, o.Singular, head, subs[0].name)
	}
	for _, s := range subs {
		if s.name == sub {
			return s.kind, head + "." + sub, nil
		}
	}
	return "", "", badRequest("field '%s.%s' does not exist in '%s' object", head, sub, o.Singular)
}
