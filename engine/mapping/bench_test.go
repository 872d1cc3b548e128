package mapping

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/functions"
)

// benchMembers returns n distinct messy members, as Kelompok holds them.
func benchMembers(n int) []connectors.Record {
	names := []string{"BAPAK BUDI SANTOSO, S.KOM.", "Hj. Siti Nurhaliza", "dr. Tirta Mandira Hudhi", "sukarno", "Rina Marlina, S.E., M.M.", "M. Rizky Pratama"}
	phones := []string{"0812-%04d-%04d", "+62 813 %04d %04d", "62857%04d%04d", "811-%04d-%04d"}
	positions := []string{"ketum", "Sekjen", "bendahara", "Korwil Jabar", "anggota", "Relawan Media"}
	cities := []string{"kab. bandung", "Surabaya", "kota bogor", "Jaksel", "Sleman", "Cikarang"}
	recs := make([]connectors.Record, n)
	for i := range recs {
		recs[i] = member(map[string]any{
			"full_name":       names[i%len(names)],
			"email":           fmt.Sprintf("  Member.%d@Mail.ID ", i),
			"phone":           fmt.Sprintf(phones[i%len(phones)], 1000+i/10000%9000, i%10000),
			"position":        positions[i%len(positions)],
			"city":            cities[i%len(cities)],
			"organization_id": fmt.Sprintf("org-%d", i%50),
			"national_id":     "3273012345670001",
		})
		recs[i].ID = fmt.Sprintf("m-%d", i)
	}
	return recs
}

// BenchmarkMembersMapping maps members through the ten-field members
// mapping (names, e-mails, phones split into Twenty's three fields,
// positions, cities, company refs). b.N counts records; see
// docs/performance.md for the figure and the command.
//
//   - distinct: every record has its own phone number, parsed once by
//     libphonenumber (a first run, or records that all changed); the
//     registry's cache is emptied every 10,000 records, so no number is
//     ever found from an earlier pass.
//   - repeat: the same 10,000 members mapped again (later runs), with the
//     registry's cache warm.
//   - uncached: the registry's cache off, so each of the three phone fields
//     parses the number and both name fields split the name.
//   - nophone: as distinct, but the members' phone numbers are blank (the
//     three phone fields are left out by their `when`): the cost of
//     everything but libphonenumber, to show the split.
func BenchmarkMembersMapping(b *testing.B) {
	m, err := New(membersMapping(b), []string{"national_id"})
	if err != nil {
		b.Fatal(err)
	}
	recs := benchMembers(10000)
	noPhone := benchMembers(10000)
	for _, r := range noPhone {
		r.Fields["phone"] = ""
	}
	run := func(b *testing.B, recs []connectors.Record, clearEachPass bool) {
		b.ReportAllocs()
		b.ResetTimer()
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			if clearEachPass && i%len(recs) == 0 {
				functions.Default.SetCache(true)
			}
			if _, err := m.Map(recs[i%len(recs)]); err != nil {
				b.Fatal(err)
			}
		}
		cpu := cpuTime() - cpu0
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		// On a shared machine wall time includes waiting for a core; CPU
		// time (this process, GC included) is the cost of the work itself.
		if cpu > 0 {
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
		}
	}
	b.Run("distinct", func(b *testing.B) { run(b, recs, true) })
	b.Run("repeat", func(b *testing.B) {
		functions.Default.SetCache(true)
		for _, r := range recs { // warm the cache
			if _, err := m.Map(r); err != nil {
				b.Fatal(err)
			}
		}
		run(b, recs, false)
	})
	b.Run("uncached", func(b *testing.B) {
		functions.Default.SetCache(false)
		defer functions.Default.SetCache(true)
		run(b, recs, false)
	})
	b.Run("nophone", func(b *testing.B) {
		run(b, noPhone, true)
	})
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
