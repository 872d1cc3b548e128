package normalize

import (
	"slices"
	"testing"
)

func TestSDGTag(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" for unknown
	}{
		{"4", "SDG-04"},
		{"04", "SDG-04"},
		{"17", "SDG-17"},
		{"SDG 4", "SDG-04"},
		{"sdg-04", "SDG-04"},
		{"SDG-04", "SDG-04"},
		{"SDG4", "SDG-04"},
		{"sdgs 4", "SDG-04"},
		{"SDGs #4", "SDG-04"},
		{"SDG_13", "SDG-13"},
		{"Goal 4", "SDG-04"},
		{"goal 16", "SDG-16"},
		{"Tujuan 5", "SDG-05"},
		{"TPB 6", "SDG-06"},
		{"SDG 4: Quality Education", "SDG-04"},
		{"4. Pendidikan Berkualitas", "SDG-04"},
		{"Quality Education", "SDG-04"},
		{"quality education", "SDG-04"},
		{"Pendidikan Berkualitas", "SDG-04"},
		{"No Poverty", "SDG-01"},
		{"Tanpa Kemiskinan", "SDG-01"},
		{"Zero Hunger", "SDG-02"},
		{"Good Health and Well-being", "SDG-03"},
		{"Kehidupan Sehat dan Sejahtera", "SDG-03"},
		{"Gender Equality", "SDG-05"},
		{"Air Bersih dan Sanitasi Layak", "SDG-06"},
		{"Affordable & Clean Energy", "SDG-07"},
		{"Pekerjaan Layak dan Pertumbuhan Ekonomi", "SDG-08"},
		{"Industry, Innovation and Infrastructure", "SDG-09"},
		{"Berkurangnya Kesenjangan", "SDG-10"},
		{"Reduced Inequality", "SDG-10"},
		{"Kota dan Permukiman yang Berkelanjutan", "SDG-11"},
		{"Responsible Consumption and Production", "SDG-12"},
		{"Climate Action", "SDG-13"},
		{"Penanganan Perubahan Iklim", "SDG-13"},
		{"Life Below Water", "SDG-14"},
		{"Ekosistem Lautan", "SDG-14"},
		{"Life on Land", "SDG-15"},
		{"Peace, Justice and Strong Institutions", "SDG-16"},
		{"Kemitraan untuk Mencapai Tujuan", "SDG-17"},
		{"Partnerships for the Goals", "SDG-17"},
		{"18", ""},
		{"SDG 0", ""},
		{"SDG 99", ""},
		{"lingkungan", ""},
		{"4 sehat 5 sempurna", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got, ok := SDGTag(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("SDGTag(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
	// Both names of every goal are understood.
	for i, ns := range SDGNames {
		for _, n := range ns {
			if got, _ := SDGTag(n); got != sdgCanonical(i+1) {
				t.Errorf("SDGTag(%q) = %q, want %q", n, got, sdgCanonical(i+1))
			}
		}
	}
}

func TestSDGs(t *testing.T) {
	got, unknown := SDGs([]string{"SDG 4", "sdg-04", "Quality Education", "1", "Kesetaraan Gender", "lingkungan", " ", "SDG 4, SDG 13", "lingkungan", "Peace, Justice and Strong Institutions"})
	want := []string{"SDG-01", "SDG-04", "SDG-05", "SDG-13", "SDG-16"}
	if !slices.Equal(got, want) || !slices.Equal(unknown, []string{"lingkungan"}) {
		t.Errorf("SDGs = %q, unknown %q; want %q, unknown [lingkungan]", got, unknown, want)
	}
	if got, unknown := SDGs(nil); got != nil || unknown != nil {
		t.Errorf("SDGs(nil) = %q, %q", got, unknown)
	}
}

func FuzzSDGs(f *testing.F) {
	for _, s := range []string{"SDG 4", "sdg-04", "Quality Education", "4, 5", "Peace, Justice and Strong Institutions", "x|y"} {
		f.Add(s, "17")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got, _ := SDGs([]string{a, b})
		again, unknown := SDGs(got)
		if !slices.Equal(got, again) || len(unknown) != 0 {
			t.Fatalf("not idempotent: %q -> %q -> %q (unknown %q)", []string{a, b}, got, again, unknown)
		}
	})
}
