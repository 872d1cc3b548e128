package normalize

import "testing"

func TestNameParts(t *testing.T) {
	tests := []struct {
		in          string
		first, last string
	}{
		{"Budi Santoso", "Budi", "Santoso"},
		{"Sukarno", "Sukarno", ""},
		{"  Sukarno  ", "Sukarno", ""},
		{"BUDI SANTOSO", "Budi", "Santoso"},
		{"budi santoso", "Budi", "Santoso"},
		{"SUKARNO", "Sukarno", ""},
		{"Siti Nur Aisyah", "Siti Nur", "Aisyah"},
		{"Bapak Budi Santoso", "Budi", "Santoso"},
		{"Bpk. Budi Santoso", "Budi", "Santoso"},
		{"Pak Joko", "Joko", ""},
		{"Ibu Siti Rahayu", "Siti", "Rahayu"},
		{"Ibu Ibu Siti", "Siti", ""},
		{"Sdr. Andi Wijaya", "Andi", "Wijaya"},
		{"Sdri. Rina", "Rina", ""},
		{"H. Ahmad Dahlan", "Ahmad", "Dahlan"},
		{"Hj. Siti Aminah", "Siti", "Aminah"},
		{"Dr. Ir. H. Joko Widodo", "Joko", "Widodo"},
		{"Prof. Dr. Budi Santoso, S.H., M.H.", "Budi", "Santoso"},
		{"dr. Tirta Mandira Hudhi", "Tirta Mandira", "Hudhi"},
		{"Budi Santoso, S.Kom.", "Budi", "Santoso"},
		{"Budi Santoso, S.Kom., M.Si.", "Budi", "Santoso"},
		{"Budi Santoso S.Kom M.Si", "Budi", "Santoso"},
		{"Rina Marlina, S.E., M.M.", "Rina", "Marlina"},
		{"Andi Wijaya, Ph.D.", "Andi", "Wijaya"},
		{"Dewi Lestari, SE", "Dewi", "Lestari"},
		{"Rudi Hartono MBA", "Rudi", "Hartono"},
		{"Nur Ma", "Nur", "Ma"},
		{"Yohanes Se", "Yohanes", "Se"},
		{"Indah Permata Sari, Amd.Keb", "Indah Permata", "Sari"},
		{"M. Rizky Pratama", "M. Rizky", "Pratama"},
		{"HJ. SITI AMINAH, S.PD.", "Siti", "Aminah"},
		{"h. ahmad dahlan", "Ahmad", "Dahlan"},
		{"Ronald McDonald", "Ronald", "McDonald"},
		{"Maria deGroot", "Maria", "deGroot"},
		{"AHMAD BIN ABDULLAH", "Ahmad bin", "Abdullah"},
		{"siti binti hasan", "Siti binti", "Hasan"},
		{"Tigor Hutapea Siregar", "Tigor Hutapea", "Siregar"},
		{"Bapak", "Bapak", ""},
		{"H.", "H.", ""},
		{"Santoso, Budi", "Santoso", "Budi"},
		{"", "", ""},
		{"   ", "", ""},
		{"o'neil", "O'Neil", ""},
		// Titles after a comma that follows titles are titles too, so that
		// normalizing the result again gives it back (issue #6).
		{"Dr. IB Putu Gede", "Putu", "Gede"},
		{"Dr., IB Putu Gede", "Putu", "Gede"},
		{"Dr,IB 0", "0", ""},
		{"Ib 0", "0", ""},
		{"Dr.,Ibu Siti Rahayu", "Siti", "Rahayu"},
		{"Bapak, H. Ahmad Dahlan, S.H.", "Ahmad", "Dahlan"},
		{"Dr., Ibu", "Dr.", "Ibu"},
	}
	for _, tc := range tests {
		got := NameParts(tc.in)
		if got.First != tc.first || got.Last != tc.last {
			t.Errorf("NameParts(%q) = %q / %q, want %q / %q", tc.in, got.First, got.Last, tc.first, tc.last)
		}
	}
}

func FuzzNameParts(f *testing.F) {
	for _, s := range []string{"Budi Santoso", "BAPAK BUDI", "Dr. Ir. H. Joko Widodo, M.Si.", "siti binti hasan", "H.", "a, b, c", "Ǆ ǅ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NameParts(s)
		if again := NameParts(n.String()); again != n {
			t.Fatalf("not idempotent: %q -> %+v -> %q -> %+v", s, n, n.String(), again)
		}
	})
}
