package twenty_test

// Benchmarks behind the figures in docs/performance.md (section "Twenty
// connector"). Run once each:
//
//	go test ./connectors/twenty -run '^$' -bench . -benchtime 1x -v
//
// They print a table line with b.Logf and report the same numbers as
// custom metrics.

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/connectors/twenty/emulator"
)

// BenchmarkPush10000People counts the requests needed to push 10,000 new
// people the way a sync run does: identity lookups by email (batches of
// 600 emails, chunked by the connector to keep URLs short) and batch
// creates with client ids.
func BenchmarkPush10000People(b *testing.B) {
	const n = 10000
	for _, batch := range []int{60, 200} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			for range b.N {
				e := newEnv(b, emulator.Config{}, map[string]any{"batchSize": float64(batch)})
				s := e.stream(b, "people")
				people := make([]connectors.Change, n)
				for i := range people {
					people[i] = newPerson(i)
				}
				start := time.Now()
				_, pending, err := pushPeople(context.Background(), s, people, 600)
				if err != nil || pending != 0 {
					b.Fatalf("push: %d pending, %v", pending, err)
				}
				el := time.Since(start)
				st := e.emu.Stats()
				creates := st.ByRoute["POST /rest/batch/people"]
				lookups := st.ByRoute["GET /rest/people"]
				total := st.Total
				bound := int(math.Ceil(float64(n)/float64(batch))) + lookups
				perRecord := 2 * n // one lookup and one create per record
				if got := len(e.emu.Records("people")); got != n {
					b.Fatalf("%d people stored, want %d", got, n)
				}
				b.ReportMetric(float64(total), "requests")
				b.ReportMetric(float64(total)/float64(bound), "ratio_to_bound")
				b.ReportMetric(float64(total)/float64(perRecord), "ratio_to_per_record")
				b.Logf("| %d | %d | %d | %d | %d | %.3f | %.4f | %s |", batch, creates, lookups, total, bound,
					float64(total)/float64(bound), float64(total)/float64(perRecord), el.Round(time.Millisecond))
			}
		})
	}
}

// BenchmarkRateLimitBudget measures how much of a scaled-up Twenty rate
// limit (600 requests per 10 s in both buckets) the connector uses in
// steady state, and the 429s it meets, with the client's own limit below,
// at and above the server's. The server's buckets are drained first, so
// the window measures the refill rate, not the initial burst.
func BenchmarkRateLimitBudget(b *testing.B) {
	const (
		serverTokens = 600
		serverWindow = 10 * time.Second
		measure      = 10 * time.Second
	)
	for _, clientShare := range []float64{0.95, 1.0, 1.2} {
		b.Run(fmt.Sprintf("client=%.0f%%", clientShare*100), func(b *testing.B) {
			for range b.N {
				rl := emulator.RateLimit{ShortLimit: serverTokens, ShortWindow: serverWindow, LongLimit: serverTokens, LongWindow: serverWindow}
				e := newEnv(b, emulator.Config{RateLimit: rl}, map[string]any{
					"batchSize": float64(10),
					"rateLimit": map[string]any{"requests": float64(serverTokens) * clientShare, "per": serverWindow.String()},
					"retry":     map[string]any{"maxAttempts": float64(8), "initialBackoff": "100ms", "maxBackoff": "2s", "maxElapsed": "1m"},
				})
				s := e.stream(b, "people")
				ctx := context.Background()
				// Empty the server's buckets with unthrottled GETs.
				for e.emu.Stats().ByStatus[429] == 0 {
					if err := e.burst(50); err != nil {
						b.Fatal(err)
					}
				}
				e.emu.ResetStats()
				before := e.conn.Stats()
				next := 0
				failed := 0
				start := time.Now()
				for time.Since(start) < measure {
					changes := make([]connectors.Change, 40)
					for k := range changes {
						changes[k] = newPerson(next)
						next++
					}
					res, err := s.Write(ctx, changes)
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range res {
						if r.Err != nil {
							failed++
						}
					}
				}
				el := time.Since(start)
				st := e.emu.Stats()
				ok := st.ByStatus[201]
				budget := float64(serverTokens) * el.Seconds() / serverWindow.Seconds()
				use := float64(ok) / budget
				after := e.conn.Stats()
				b.ReportMetric(use*100, "budget_used_%")
				b.ReportMetric(float64(st.ByStatus[429]), "429s")
				b.ReportMetric(float64(failed), "failed_records")
				b.Logf("| %.0f%% | %s | %d | %.0f | %.1f%% | %d | %d | %d |", clientShare*100, el.Round(time.Millisecond), ok, budget,
					use*100, st.ByStatus[429], after.RateLimited-before.RateLimited, failed)
			}
		})
	}
}

// BenchmarkConvergeUnderFaults pushes 2,000 people while 10% of requests
// fail (5xx before and after applying, 429, dropped connections, and
// timeouts with the write applied late), then pushes the same records
// again until nothing is pending, and checks for duplicates and losses.
// Retries are off (maxAttempts 1) so that failures reach the sync level:
// the repeated pushes, not the HTTP retries, have to converge.
func BenchmarkConvergeUnderFaults(b *testing.B) {
	const n = 2000
	for range b.N {
		e := newEnv(b, emulator.Config{Faults: emulator.Faults{
			Seed: 11, ErrorRate: 0.025, ErrorAfterApplyRate: 0.025, RateLimitRate: 0.015, DropRate: 0.01,
		}}, map[string]any{
			"batchSize": float64(10),
			"timeout":   "300ms",
			"retry":     map[string]any{"maxAttempts": float64(1), "initialBackoff": "1ms", "maxBackoff": "5ms"},
		}, timeouts(40, 400*time.Millisecond))
		s := e.stream(b, "people")
		people := make([]connectors.Change, n)
		for i := range people {
			people[i] = newPerson(i)
		}
		ctx := context.Background()
		pushes, pendingFirst := 0, -1
		for {
			pushes++
			if pushes > 20 {
				b.Fatal("no convergence after 20 pushes")
			}
			_, pending, err := pushPeople(ctx, s, people, 100)
			if pendingFirst < 0 {
				pendingFirst = pending
				if err != nil {
					pendingFirst = n
				}
			}
			if err == nil && pending == 0 {
				break
			}
		}
		faults := e.emu.Stats()
		recs := e.emu.Records("people")
		ids := map[string]bool{}
		for _, r := range recs {
			ids[r["id"].(string)] = true
		}
		lost := 0
		for _, p := range people {
			if !ids[p.ID] {
				lost++
			}
		}
		dup := len(recs) - len(ids)
		fired := 0
		for _, k := range faults.Faults {
			fired += k
		}
		cs := e.conn.Stats()
		b.ReportMetric(float64(pushes), "pushes")
		b.ReportMetric(float64(dup), "duplicates")
		b.ReportMetric(float64(lost), "lost")
		b.Logf("| %d | %d | %d | %v | %d | %d | %d | %d | %d | %d |", n, faults.Total, fired, faults.Faults, cs.NetworkErrors, pendingFirst, pushes, len(recs), dup, lost)
		if dup != 0 || lost != 0 || len(recs) != n {
			b.Fatalf("%d records, %d duplicates, %d lost", len(recs), dup, lost)
		}
	}
}
