package emulator

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkPushAndPage measures the emulator itself: 10,000 people created
// through POST /rest/batch/people (200 per call), then read back by
// updatedAt with cursor pages of 200, over HTTP on 127.0.0.1.
func BenchmarkPushAndPage(b *testing.B) {
	for b.Loop() {
		s := New(Config{APIKeys: []string{testKey}, RateLimit: RateLimit{Disabled: true}})
		u := s.Start()
		for batch := range 50 {
			var rows []string
			for i := range 200 {
				rows = append(rows, fmt.Sprintf(`{"name":{"firstName":"P%d"},"emails":{"primaryEmail":"p%d-%d@x.example"}}`, i, batch, i))
			}
			if r := callB(b, u, "POST", "/rest/batch/people", "["+strings.Join(rows, ",")+"]"); r.status != 201 {
				b.Fatal(r.body)
			}
		}
		seen, cursor := 0, ""
		for {
			path := "/rest/people?limit=200&order_by=updatedAt&filter=" + q(`updatedAt[gte]:"2000-01-01T00:00:00Z"`)
			if cursor != "" {
				path += "&starting_after=" + q(cursor)
			}
			r := callB(b, u, "GET", path, "")
			m := r.jsonB(b)
			seen += len(m["data"].(map[string]any)["people"].([]any))
			pi := m["pageInfo"].(map[string]any)
			if pi["hasNextPage"] != true {
				break
			}
			cursor = pi["endCursor"].(string)
		}
		if seen != 10000 {
			b.Fatalf("paged %d people, want 10000", seen)
		}
		b.ReportMetric(float64(s.Stats().Total), "requests/op")
		_ = s.Close()
	}
}
