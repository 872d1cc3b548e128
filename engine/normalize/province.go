package normalize

import "strings"

// Provinces are the 38 provinces of Indonesia, with their official names, in
// the order of their BPS codes.
var Provinces = []string{
	"Aceh", "Sumatera Utara", "Sumatera Barat", "Riau", "Jambi", "Sumatera Selatan", "Bengkulu",
	"Lampung", "Kepulauan Bangka Belitung", "Kepulauan Riau", "DKI Jakarta", "Jawa Barat",
	"Jawa Tengah", "Daerah Istimewa Yogyakarta", "Jawa Timur", "Banten", "Bali",
	"Nusa Tenggara Barat", "Nusa Tenggara Timur", "Kalimantan Barat", "Kalimantan Tengah",
	"Kalimantan Selatan", "Kalimantan Timur", "Kalimantan Utara", "Sulawesi Utara",
	"Sulawesi Tengah", "Sulawesi Selatan", "Sulawesi Tenggara", "Gorontalo", "Sulawesi Barat",
	"Maluku", "Maluku Utara", "Papua Barat", "Papua Barat Daya", "Papua", "Papua Selatan",
	"Papua Tengah", "Papua Pegunungan",
}

// provinceAliases are the other ways people write a province, folded with key.
var provinceAliases = map[string][]string{
	"Aceh":                      {"nad", "nanggroe aceh darussalam", "di aceh", "daerah istimewa aceh", "aceh darussalam"},
	"Sumatera Utara":            {"sumut", "sumatra utara", "north sumatra", "north sumatera"},
	"Sumatera Barat":            {"sumbar", "sumatra barat", "west sumatra", "west sumatera"},
	"Sumatera Selatan":          {"sumsel", "sumatra selatan", "south sumatra", "south sumatera"},
	"Kepulauan Bangka Belitung": {"babel", "bangka belitung", "kep bangka belitung", "bangka belitung islands", "kepulauan babel"},
	"Kepulauan Riau":            {"kepri", "kep riau", "riau islands", "kepulauan ri"},
	"DKI Jakarta":               {"dki", "jakarta", "jkt", "dki jakarta raya", "daerah khusus ibukota jakarta", "daerah khusus ibu kota jakarta", "daerah khusus jakarta", "jakarta raya", "special capital region of jakarta"},
	"Jawa Barat":                {"jabar", "jawa bar", "west java", "jawabarat"},
	"Jawa Tengah":               {"jateng", "central java", "jawatengah"},
	"Daerah Istimewa Yogyakarta": {"diy", "di yogyakarta", "yogyakarta", "jogja", "jogjakarta", "yogya", "jogya", "djogjakarta",
		"d i yogyakarta", "daerah istimewa jogjakarta", "special region of yogyakarta", "yogyakarta special region", "jogjakarta special region"},
	"Jawa Timur":          {"jatim", "east java", "jawatimur"},
	"Nusa Tenggara Barat": {"ntb", "west nusa tenggara"},
	"Nusa Tenggara Timur": {"ntt", "east nusa tenggara"},
	"Kalimantan Barat":    {"kalbar", "west kalimantan"},
	"Kalimantan Tengah":   {"kalteng", "central kalimantan"},
	"Kalimantan Selatan":  {"kalsel", "south kalimantan"},
	"Kalimantan Timur":    {"kaltim", "east kalimantan"},
	"Kalimantan Utara":    {"kaltara", "north kalimantan"},
	"Sulawesi Utara":      {"sulut", "north sulawesi"},
	"Sulawesi Tengah":     {"sulteng", "central sulawesi"},
	"Sulawesi Selatan":    {"sulsel", "south sulawesi"},
	"Sulawesi Tenggara":   {"sultra", "southeast sulawesi", "south east sulawesi"},
	"Sulawesi Barat":      {"sulbar", "west sulawesi"},
	"Maluku Utara":        {"malut", "north maluku"},
	"Papua Barat":         {"pabar", "west papua", "irian jaya barat", "irjabar"},
	"Papua Barat Daya":    {"pbd", "southwest papua", "south west papua"},
	"Papua Selatan":       {"south papua"},
	"Papua Tengah":        {"central papua"},
	"Papua Pegunungan":    {"highland papua", "papua highlands"},
	"Bali":                {"pulau bali"},
	"Banten":              {"prov banten"},
}

// provinceByKey maps folded names and aliases to the official name.
var provinceByKey = func() map[string]string {
	m := map[string]string{}
	for _, p := range Provinces {
		m[key(p)] = p
	}
	for p, as := range provinceAliases {
		for _, a := range as {
			m[key(a)] = p
		}
	}
	return m
}()

// provincePrefixes are words before a province name that are not part of it.
var provincePrefixes = []string{"provinsi ", "propinsi ", "prov ", "province of ", "provinsi daerah "}

// LookupProvince returns the official name of the province s names (in any
// case, with or without "Provinsi"/"Prov." in front or "Province" behind,
// abbreviated as Indonesians do: "DKI", "Jabar", "Jateng", "Jatim", "DIY",
// "Jogja", "Sumut", "Sulsel", "NTB", "NTT", "Kaltim", "Kepri", "Babel", ...,
// or in English: "West Java"), and whether it knows it.
func LookupProvince(s string) (string, bool) {
	return lookupProvinceWords([]string{s})
}

// lookupProvinceWords is LookupProvince(strings.Join(words, " ")).
func lookupProvinceWords(words []string) (string, bool) {
	// "D.K.I." is "DKI", but "Prov.Jabar" is "Prov Jabar": the key without
	// dots first, then (when it differs) the key with them as spaces.
	var buf [64]byte
	for _, w := range words {
		if strings.IndexByte(w, '.') >= 0 {
			if p, ok := lookupProvinceKey(appendKeys(buf[:0], words, true)); ok {
				return p, true
			}
			break
		}
	}
	return lookupProvinceKey(appendKeys(buf[:0], words, false))
}

// lookupProvinceKey finds a folded name (see key) with or without a prefix
// such as "provinsi " or the suffix " province".
func lookupProvinceKey(k []byte) (string, bool) {
	if p, ok := provinceByKey[string(k)]; ok {
		return p, true
	}
	for _, pre := range provincePrefixes {
		if len(k) >= len(pre) && string(k[:len(pre)]) == pre {
			if p, ok := provinceByKey[string(k[len(pre):])]; ok {
				return p, true
			}
		}
	}
	const suffix = " province"
	if len(k) >= len(suffix) && string(k[len(k)-len(suffix):]) == suffix {
		if p, ok := provinceByKey[string(k[:len(k)-len(suffix)])]; ok {
			return p, true
		}
	}
	return "", false
}

// Province returns the official name of the province s names (see
// LookupProvince), or s trimmed with white space collapsed when it is not a
// province it knows: "jabar" gives "Jawa Barat", "Jogja" gives "Daerah
// Istimewa Yogyakarta", "Atlantis" stays "Atlantis".
func Province(s string) string {
	if p, ok := LookupProvince(s); ok {
		return p
	}
	return Squish(s)
}
