package normalize

import "strings"

// kotaNames are the cities (kota) of Indonesia whose name no regency
// (kabupaten) shares.
var kotaNames = []string{
	"Banda Aceh", "Sabang", "Langsa", "Lhokseumawe", "Subulussalam",
	"Medan", "Binjai", "Tebing Tinggi", "Pematangsiantar", "Tanjungbalai", "Sibolga", "Padangsidimpuan", "Gunungsitoli",
	"Padang", "Bukittinggi", "Padang Panjang", "Pariaman", "Payakumbuh", "Sawahlunto",
	"Pekanbaru", "Dumai", "Jambi", "Sungai Penuh", "Palembang", "Prabumulih", "Pagar Alam", "Lubuklinggau",
	"Bengkulu", "Bandar Lampung", "Metro", "Pangkalpinang", "Batam", "Tanjungpinang",
	"Cimahi", "Depok", "Surakarta", "Salatiga", "Yogyakarta", "Surabaya", "Batu",
	"Cilegon", "Tangerang Selatan", "Denpasar", "Mataram", "Pontianak", "Singkawang", "Palangka Raya",
	"Banjarmasin", "Banjarbaru", "Samarinda", "Balikpapan", "Bontang", "Tarakan",
	"Manado", "Bitung", "Tomohon", "Kotamobagu", "Palu", "Makassar", "Parepare", "Palopo",
	"Kendari", "Baubau", "Ambon", "Tual", "Ternate", "Tidore Kepulauan",
}

// kabupatenNames are regencies (kabupaten) whose name no city shares; the
// list holds the ones members most often write, not all 416.
var kabupatenNames = []string{
	"Sleman", "Bantul", "Gunungkidul", "Kulon Progo", "Badung", "Gianyar", "Tabanan", "Buleleng",
	"Karangasem", "Klungkung", "Bangli", "Jembrana", "Sidoarjo", "Gresik", "Lamongan", "Tuban",
	"Bojonegoro", "Jombang", "Nganjuk", "Ponorogo", "Pacitan", "Magetan", "Ngawi", "Trenggalek",
	"Tulungagung", "Lumajang", "Jember", "Banyuwangi", "Bondowoso", "Situbondo", "Bangkalan",
	"Sampang", "Pamekasan", "Sumenep", "Karawang", "Purwakarta", "Subang", "Indramayu",
	"Majalengka", "Kuningan", "Sumedang", "Garut", "Ciamis", "Pangandaran", "Cianjur",
	"Bandung Barat", "Banyumas", "Cilacap", "Purbalingga", "Banjarnegara", "Kebumen", "Purworejo",
	"Wonosobo", "Temanggung", "Kendal", "Batang", "Pemalang", "Brebes", "Demak", "Kudus", "Jepara",
	"Pati", "Rembang", "Blora", "Grobogan", "Boyolali", "Klaten", "Sukoharjo", "Wonogiri",
	"Karanganyar", "Sragen", "Lebak", "Pandeglang", "Deli Serdang", "Karo", "Langkat",
	"Lombok Barat", "Lombok Tengah", "Lombok Timur", "Lombok Utara", "Sumbawa", "Gowa", "Maros",
	"Bone", "Kutai Kartanegara", "Jayawijaya", "Mimika", "Merauke", "Biak Numfor", "Nabire",
}

// sharedNames are names of both a city and a regency: without "Kota" or
// "Kab." in front, which one is meant cannot be told.
var sharedNames = []string{
	"Bandung", "Bekasi", "Bogor", "Cirebon", "Sukabumi", "Tasikmalaya", "Banjar", "Semarang",
	"Magelang", "Pekalongan", "Tegal", "Malang", "Blitar", "Kediri", "Madiun", "Mojokerto",
	"Pasuruan", "Probolinggo", "Serang", "Tangerang", "Bima", "Kupang", "Gorontalo", "Jayapura",
	"Sorong", "Solok",
}

// jakartaNames are the administrative cities and regency of Jakarta, written
// without "Kota"/"Kabupaten" as everybody does.
var jakartaNames = []string{"Jakarta Pusat", "Jakarta Utara", "Jakarta Barat", "Jakarta Selatan", "Jakarta Timur", "Kepulauan Seribu"}

var cityAliases = map[string]string{
	"jogja": "Yogyakarta", "jogjakarta": "Yogyakarta", "yogya": "Yogyakarta", "solo": "Surakarta",
	"makasar": "Makassar", "ujung pandang": "Makassar", "tangsel": "Tangerang Selatan",
	"jakpus": "Jakarta Pusat", "jakut": "Jakarta Utara", "jakbar": "Jakarta Barat", "jaksel": "Jakarta Selatan",
	"jaktim": "Jakarta Timur", "palangkaraya": "Palangka Raya", "pematang siantar": "Pematangsiantar",
	"tanjung pinang": "Tanjungpinang", "pangkal pinang": "Pangkalpinang", "bau bau": "Baubau",
	"pare pare": "Parepare", "gunung kidul": "Gunungkidul", "kulonprogo": "Kulon Progo",
	"lubuk linggau": "Lubuklinggau", "padang sidempuan": "Padangsidimpuan", "tanjung balai": "Tanjungbalai",
	"bukit tinggi": "Bukittinggi", "deliserdang": "Deli Serdang",
}

const (
	cityKota      = 1
	cityKabupaten = 2
	cityShared    = 3
	cityJakarta   = 4
)

type cityInfo struct {
	name string
	kind int
	// kota and kabupaten are "Kota "+name and "Kabupaten "+name.
	kota, kabupaten string
}

var cityByKey = func() map[string]cityInfo {
	m := map[string]cityInfo{}
	for _, n := range kotaNames {
		m[key(n)] = cityInfo{name: n, kind: cityKota}
	}
	for _, n := range kabupatenNames {
		m[key(n)] = cityInfo{name: n, kind: cityKabupaten}
	}
	for _, n := range sharedNames {
		m[key(n)] = cityInfo{name: n, kind: cityShared}
	}
	for _, n := range jakartaNames {
		m[key(n)] = cityInfo{name: n, kind: cityJakarta}
	}
	for a, n := range cityAliases {
		m[a] = m[key(n)]
	}
	for k, c := range m {
		c.kota, c.kabupaten = "Kota "+c.name, "Kabupaten "+c.name
		m[k] = c
	}
	return m
}()

// City returns the canonical name of a city or regency (kota or kabupaten):
//
//   - "Kab. Bandung", "kabupaten bandung", "Bandung Regency" give
//     "Kabupaten Bandung"; "kota bandung", "Kotamadya Bandung", "Kodya
//     Bandung", "Bandung City" give "Kota Bandung";
//   - a bare name that is only a city or only a regency gets its prefix:
//     "surabaya" gives "Kota Surabaya", "Sleman" gives "Kabupaten Sleman";
//     common other names are written out ("Jogja" gives "Kota Yogyakarta",
//     "Solo" gives "Kota Surakarta");
//   - a bare name shared by a city and a regency ("Bandung", "Bogor",
//     "Malang") and any name it does not know are kept as given, title-cased
//     when typed in one case;
//   - Jakarta's administrative cities stay without prefix: "Jaksel" and "Kota
//     Jakarta Selatan" give "Jakarta Selatan".
func City(s string) string {
	var wordsBuf [8]string
	words := wordsBuf[:0]
	for w := range strings.FieldsSeq(s) {
		words = append(words, w)
	}
	if len(words) == 0 {
		return ""
	}
	var fb [16]byte
	fold := func(w string) string { return string(appendFoldWord(fb[:0], w)) }
	kind := 0
	switch fold(words[0]) {
	case "kota", "kotamadya", "kodya", "kotamadia":
		kind = cityKota
		words = words[1:]
		if len(words) > 0 && (fold(words[0]) == "adm" || fold(words[0]) == "administrasi") {
			words = words[1:]
		}
	case "kab", "kabupaten", "kabupaten.":
		kind = cityKabupaten
		words = words[1:]
		if len(words) > 0 && (fold(words[0]) == "adm" || fold(words[0]) == "administrasi") {
			words = words[1:]
		}
	}
	if kind == 0 && len(words) > 1 {
		switch fold(words[len(words)-1]) {
		case "city":
			kind, words = cityKota, words[:len(words)-1]
		case "regency":
			kind, words = cityKabupaten, words[:len(words)-1]
		}
		if len(words) > 2 && fold(words[0]) == "city" && fold(words[1]) == "of" {
			kind, words = cityKota, words[2:]
		}
	}
	if len(words) == 0 { // "Kota" alone
		return caseFixed(strings.Join(strings.Fields(s), " "))
	}
	var kb [64]byte
	info, known := cityByKey[string(appendKeys(kb[:0], words, false))]
	switch {
	case known && info.kind == cityJakarta:
		return info.name
	case known && (kind == cityKota || kind == 0 && info.kind == cityKota):
		return info.kota
	case known && (kind == cityKabupaten || kind == 0 && info.kind == cityKabupaten):
		return info.kabupaten
	case known:
		return info.name
	}
	name := caseFixed(strings.Join(words, " "))
	switch kind {
	case cityKota:
		return "Kota " + name
	case cityKabupaten:
		return "Kabupaten " + name
	}
	return name
}

// caseFixed title-cases s when it is typed all in capitals or all in lower
// case, and otherwise keeps it as typed.
func caseFixed(s string) string {
	if up, low := caseOf(s); up != low {
		return Title(s)
	}
	return s
}
