package emulator

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// seedOrder creates objects that others point at first.
var seedOrder = []string{"companies", "people", "opportunities", "notes", "tasks", "noteTargets", "taskTargets"}

// LoadSeedFile reads a JSON file of records by plural name
// ({"companies": [...], "people": [...]}) and stores them; see Seed.
func (s *Server) LoadSeedFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read Twenty emulator seed: %w", err)
	}
	var data map[string][]map[string]any
	if err := json.Unmarshal(b, &data); err != nil {
		return fmt.Errorf("seed file %s: expected {\"people\": [...], \"companies\": [...]}: %w", path, err)
	}
	if err := s.Seed(data); err != nil {
		return fmt.Errorf("seed file %s: %w", path, err)
	}
	return nil
}

// Seed stores records by plural name, validated like API creates, without
// firing webhooks or counting requests. A record may carry createdAt,
// updatedAt and deletedAt (kept as given) and createdBy/updatedBy.
func (s *Server) Seed(data map[string][]map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var plurals []string
	seen := map[string]bool{}
	for _, p := range seedOrder {
		if _, ok := data[p]; ok {
			plurals = append(plurals, p)
			seen[p] = true
		}
	}
	var rest []string
	for p := range data {
		if !seen[p] {
			rest = append(rest, p)
		}
	}
	sort.Strings(rest)
	plurals = append(plurals, rest...)
	for _, p := range plurals {
		t := s.tables[p]
		if t == nil {
			if sp, ok := s.singulars[p]; ok {
				return fmt.Errorf("no object %q: use the plural name %q", p, sp)
			}
			return fmt.Errorf("no object %q (objects: %s)", p, strings.Join(sortedPlurals(s.objects), ", "))
		}
		for i, in := range data[p] {
			kept := map[string]any{}
			body := map[string]any{}
			for k, v := range in {
				switch k {
				case "createdAt", "updatedAt", "deletedAt", "createdBy", "updatedBy":
					kept[k] = v
				default:
					body[k] = v
				}
			}
			at := s.stamp()
			r, err := s.prepareCreate(t, body, at, "API")
			if err != nil {
				return fmt.Errorf("%s[%d]: %s", p, i, strings.Join(err.Messages, "; "))
			}
			for k, v := range kept {
				switch k {
				case "createdBy", "updatedBy":
					r[k] = v
				default:
					if v == nil {
						r[k] = nil
						continue
					}
					str, _ := v.(string)
					tm, perr := parseTime(str)
					if perr != nil {
						return fmt.Errorf("%s[%d].%s: %v", p, i, k, perr)
					}
					r[k] = formatTime(tm)
					if tm.After(s.lastStamp) {
						s.lastStamp = tm.Truncate(time.Millisecond)
					}
				}
			}
			s.insert(t, r)
		}
	}
	return nil
}
