package normalize

import "testing"

func TestProvince(t *testing.T) {
	tests := []struct{ in, want string }{
		{"DKI Jakarta", "DKI Jakarta"},
		{"DKI", "DKI Jakarta"},
		{"dki jakarta", "DKI Jakarta"},
		{"Jakarta", "DKI Jakarta"},
		{"D.K.I. Jakarta", "DKI Jakarta"},
		{"Daerah Khusus Ibukota Jakarta", "DKI Jakarta"},
		{"Jabar", "Jawa Barat"},
		{"JAWA BARAT", "Jawa Barat"},
		{"jawa  barat", "Jawa Barat"},
		{"Prov. Jawa Barat", "Jawa Barat"},
		{"Provinsi Jawa Barat", "Jawa Barat"},
		{"West Java", "Jawa Barat"},
		{"Jateng", "Jawa Tengah"},
		{"Jatim", "Jawa Timur"},
		{"East Java Province", "Jawa Timur"},
		{"DIY", "Daerah Istimewa Yogyakarta"},
		{"D.I. Yogyakarta", "Daerah Istimewa Yogyakarta"},
		{"Yogyakarta", "Daerah Istimewa Yogyakarta"},
		{"Jogja", "Daerah Istimewa Yogyakarta"},
		{"Jogjakarta", "Daerah Istimewa Yogyakarta"},
		{"Sumut", "Sumatera Utara"},
		{"Sumatra Utara", "Sumatera Utara"},
		{"sumbar", "Sumatera Barat"},
		{"Sumsel", "Sumatera Selatan"},
		{"Sulsel", "Sulawesi Selatan"},
		{"Sultra", "Sulawesi Tenggara"},
		{"NTB", "Nusa Tenggara Barat"},
		{"ntt", "Nusa Tenggara Timur"},
		{"Kaltim", "Kalimantan Timur"},
		{"Kaltara", "Kalimantan Utara"},
		{"Kepri", "Kepulauan Riau"},
		{"Riau", "Riau"},
		{"Babel", "Kepulauan Bangka Belitung"},
		{"Bangka Belitung", "Kepulauan Bangka Belitung"},
		{"NAD", "Aceh"},
		{"Nanggroe Aceh Darussalam", "Aceh"},
		{"Papua Barat Daya", "Papua Barat Daya"},
		{"papua pegunungan", "Papua Pegunungan"},
		{"Papua", "Papua"},
		{"Malut", "Maluku Utara"},
		{"bali", "Bali"},
		{"Banten", "Banten"},
		{"Gorontalo", "Gorontalo"},
		{"Atlantis", "Atlantis"},
		{"  jawa   raya ", "jawa raya"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Province(tc.in); got != tc.want {
			t.Errorf("Province(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if len(Provinces) != 38 {
		t.Fatalf("%d provinces, want 38", len(Provinces))
	}
	for _, p := range Provinces {
		if got, ok := LookupProvince(p); !ok || got != p {
			t.Errorf("LookupProvince(%q) = %q, %v", p, got, ok)
		}
	}
}

func TestCity(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Kab. Bandung", "Kabupaten Bandung"},
		{"kab bandung", "Kabupaten Bandung"},
		{"KABUPATEN BANDUNG", "Kabupaten Bandung"},
		{"Bandung Regency", "Kabupaten Bandung"},
		{"kota bandung", "Kota Bandung"},
		{"Kotamadya Bandung", "Kota Bandung"},
		{"Kodya Bandung", "Kota Bandung"},
		{"Bandung City", "Kota Bandung"},
		{"Bandung", "Bandung"},
		{"bandung", "Bandung"},
		{"Surabaya", "Kota Surabaya"},
		{"SURABAYA", "Kota Surabaya"},
		{"Sleman", "Kabupaten Sleman"},
		{"kab. gunung kidul", "Kabupaten Gunungkidul"},
		{"Jogja", "Kota Yogyakarta"},
		{"Solo", "Kota Surakarta"},
		{"Makasar", "Kota Makassar"},
		{"Tangsel", "Kota Tangerang Selatan"},
		{"Kota Adm. Jakarta Selatan", "Jakarta Selatan"},
		{"Jaksel", "Jakarta Selatan"},
		{"jakarta selatan", "Jakarta Selatan"},
		{"Cikarang", "Cikarang"},
		{"cikarang barat", "Cikarang Barat"},
		{"Kota Baru Parahyangan", "Kota Baru Parahyangan"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := City(tc.in); got != tc.want {
			t.Errorf("City(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzProvince(f *testing.F) {
	for _, s := range []string{"DKI", "jawa barat", "Prov. Jabar", "Atlantis", "  x  y "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := Province(s)
		if again := Province(p); again != p {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, p, again)
		}
	})
}

func FuzzCity(f *testing.F) {
	for _, s := range []string{"Kab. Bandung", "surabaya", "Jaksel", "Bandung City", "kota", "City of X Y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := City(s)
		if again := City(c); again != c {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, c, again)
		}
	})
}
