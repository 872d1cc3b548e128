package mapping

import "strings"

// Get returns the value at a dotted path in nested maps ("name.firstName"),
// and whether it is present. A key that itself contains dots is found too
// (m["name.firstName"]), so flat and nested forms both work.
func Get(m map[string]any, path string) (any, bool) {
	if v, ok := m[path]; ok {
		return v, true
	}
	cur := m
	for {
		head, rest, more := strings.Cut(path, ".")
		v, ok := cur[head]
		if !ok {
			return nil, false
		}
		if !more {
			return v, true
		}
		next, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, path = next, rest
	}
}

// Set stores v at a dotted path, creating (or replacing non-map values with)
// the nested maps on the way.
func Set(m map[string]any, path string, v any) {
	setPath(m, strings.Split(path, "."), v)
}

func setPath(m map[string]any, path []string, v any) {
	for _, seg := range path[:len(path)-1] {
		next, ok := m[seg].(map[string]any)
		if !ok {
			next = make(map[string]any, 4)
			m[seg] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// Flatten returns the leaves of nested maps by dotted path:
// {"name": {"firstName": "Budi"}} gives {"name.firstName": "Budi"}.
// Lists are leaves.
func Flatten(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	flatten(out, "", m)
	return out
}

func flatten(out map[string]any, prefix string, m map[string]any) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			flatten(out, prefix+k+".", sub)
			continue
		}
		out[prefix+k] = v
	}
}
