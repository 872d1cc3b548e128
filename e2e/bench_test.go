package e2e

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kelompok/pipe/examples/quickstart"
)

// EnvBenchMembers sets the number of members BenchmarkEndToEnd syncs
// (default 2,000, so that a plain -bench run stays short).
const EnvBenchMembers = "PIPE_E2E_BENCH_MEMBERS"

// BenchmarkEndToEnd syncs members from PostgreSQL into the Twenty emulator
// (rate limit off) through the shipped members pipeline, after the
// organizations: the initial sync (records/s), then a rerun with no change
// (its duration, and writes, which must be 0). Peak RSS is the test
// process's high-water mark (VmHWM), which includes PostgreSQL's client
// side, the emulator holding every person, and the seeding.
//
//	PIPE_E2E_BENCH_MEMBERS=100000 go test ./e2e/ -run '^$' -bench EndToEnd -benchtime 1x
func BenchmarkEndToEnd(b *testing.B) {
	members := 2000
	if s := os.Getenv(EnvBenchMembers); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 10 {
			b.Fatalf("%s=%q: want a number of members, at least 10", EnvBenchMembers, s)
		}
		members = n
	}
	sizes := quickstart.Sizes{Organizations: max(members/100, 6), Members: members}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b, options{sizes: sizes})
		e.run("organizations")
		b.StartTimer()

		start := time.Now()
		first := e.run("members")["members"]
		initial := time.Since(start)

		start = time.Now()
		rerun := e.run("members")["members"]
		again := time.Since(start)

		b.StopTimer()
		if w := rerun.Counts.Created + rerun.Counts.Updated + rerun.Counts.Deleted; w != 0 {
			b.Fatalf("the no-change rerun wrote %d records", w)
		}
		synced := first.Counts.Created + first.Counts.Linked
		if synced+first.Counts.Rejected != members {
			b.Fatalf("initial sync: %+v does not account for %d members", first.Counts, members)
		}
		b.ReportMetric(float64(members)/initial.Seconds(), "records/s")
		b.ReportMetric(initial.Seconds(), "initial-s")
		b.ReportMetric(again.Seconds(), "rerun-s")
		b.ReportMetric(0, "rerun-writes")
		if kb := peakRSSKB(); kb > 0 {
			b.ReportMetric(float64(kb)/1024, "peak-RSS-MB")
		}
	}
}

// peakRSSKB reads the process's peak resident set size (Linux VmHWM, in
// kB); 0 when it cannot be read.
func peakRSSKB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	return 0
}
