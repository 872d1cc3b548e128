package normalize

import "testing"

func TestPosition(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ketua", "Ketua"},
		{"ketua", "Ketua"},
		{"KETUA", "Ketua"},
		{"  ketua  ", "Ketua"},
		{"Ketum", "Ketua Umum"},
		{"KETUM", "Ketua Umum"},
		{"ketua umum", "Ketua Umum"},
		{"Waketum", "Wakil Ketua Umum"},
		{"wakil ketum", "Wakil Ketua Umum"},
		{"Wakil Ketua", "Wakil Ketua"},
		{"wakil  ketua", "Wakil Ketua"},
		{"Waka", "Wakil Ketua"},
		{"wakil ketua ii", "Wakil Ketua II"},
		{"Wakil Ketua 1", "Wakil Ketua 1"},
		{"Sekjen", "Sekretaris Jenderal"},
		{"sekjend", "Sekretaris Jenderal"},
		{"Sekretaris Jendral", "Sekretaris Jenderal"},
		{"Wasekjen", "Wakil Sekretaris Jenderal"},
		{"sekertaris", "Sekretaris"},
		{"SEKRETARIS", "Sekretaris"},
		{"Sek.", "Sekretaris"},
		{"Sekum", "Sekretaris Umum"},
		{"wakil sekertaris", "Wakil Sekretaris"},
		{"Bendum", "Bendahara Umum"},
		{"bendahara", "Bendahara"},
		{"Bendahari", "Bendahara"},
		{"Wakil Bendahara", "Wakil Bendahara"},
		{"Treasurer", "Bendahara"},
		{"Secretary General", "Sekretaris Jenderal"},
		{"Korwil Jabar", "Koordinator Wilayah Jawa Barat"},
		{"korwil jawa barat", "Koordinator Wilayah Jawa Barat"},
		{"KORWIL DKI", "Koordinator Wilayah DKI Jakarta"},
		{"Koordinator Wilayah Jawa Barat", "Koordinator Wilayah Jawa Barat"},
		{"Korda Sleman", "Koordinator Daerah Sleman"},
		{"koord. lapangan", "Koordinator Lapangan"},
		{"Koordinator", "Koordinator"},
		{"koordinator bidang pendidikan", "Koordinator Bidang Pendidikan"},
		{"KETUA BIDANG SDM", "Ketua Bidang SDM"},
		{"ketua bidang hubungan masyarakat dan media", "Ketua Bidang Hubungan Masyarakat dan Media"},
		{"Ketua RT 05", "Ketua RT 05"},
		{"anggota", "Anggota"},
		{"Member", "Anggota"},
		{"Pembina", "Pembina"},
		{"Dewan Pembina", "Dewan Pembina"},
		{"penasihat", "Penasehat"},
		{"Ketua Dewan Pembina", "Ketua Dewan Pembina"},
		{"ketu dewan penasihat", "Ketua Dewan Penasehat"},
		{"Pengawas", "Pengawas"},
		{"Dirut", "Direktur Utama"},
		{"Direktur Eksekutif", "Direktur Eksekutif"},
		{"Founder", "Pendiri"},
		// Unknown values pass through, trimmed and collapsed, case kept.
		{"Humas", "Humas"},
		{"  staf   ahli  ", "staf ahli"},
		{"Relawan Media Sosial", "Relawan Media Sosial"},
		{"Head of Marketing", "Head of Marketing"},
		{"", ""},
		{"   ", ""},
	}
	for _, tc := range tests {
		if got := Position(tc.in); got != tc.want {
			t.Errorf("Position(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzPosition(f *testing.F) {
	for _, s := range []string{"Ketum", "korwil jabar", "KETUA BIDANG SDM", "ketu dewan penasihat", "wakil ketua ii", "staf ahli", "sek jenderal"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := Position(s)
		if again := Position(p); again != p {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, p, again)
		}
	})
}
