package normalize

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
)

// referencePosition, refLookupProvince, refKey and refFoldWord (and
// referenceCity below) are Position, LookupProvince, key and foldWord (and
// City) as they were before they were made to allocate less: the tests below
// hold the current ones to exactly their results.
func referencePosition(s string) string { return settled(refPosition, s) }

func refPosition(s string) string {
	words := strings.Fields(s)
	if len(words) == 0 {
		return ""
	}
	folded := make([]string, len(words))
	for i, w := range words {
		folded[i] = refFoldWord(w)
	}
	var head string
	n := 0
	for _, e := range positionIndex[folded[0]] {
		if len(e.words) <= len(folded) && equalWords(e.words, folded[:len(e.words)]) {
			head, n = e.canonical, len(e.words)
			break
		}
	}
	if head == "" {
		return Squish(s)
	}
	rest := words[n:]
	if len(rest) == 0 {
		return head
	}
	if up, low := caseOf(s); up != low { // all caps or all lower: fix the rest's case
		allCaps := up
		for i, w := range rest {
			rest[i] = caseWord(w, allCaps)
		}
	}
	return head + " " + refWithProvinceSuffix(rest)
}

func refWithProvinceSuffix(words []string) string {
	for k := min(len(words), 4); k >= 1; k-- {
		if p, ok := refLookupProvince(strings.Join(words[len(words)-k:], " ")); ok {
			return strings.Join(append(words[:len(words)-k:len(words)-k], p), " ")
		}
	}
	return strings.Join(words, " ")
}

func refFoldWord(w string) string {
	if isLowerAlnumASCII(w) {
		return w
	}
	var b strings.Builder
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

func refLookupProvince(s string) (string, bool) {
	// "D.K.I." is "DKI", but "Prov.Jabar" is "Prov Jabar".
	for _, k := range [2]string{refKey(strings.ReplaceAll(s, ".", "")), refKey(s)} {
		if p, ok := provinceByKey[k]; ok {
			return p, true
		}
		for _, pre := range provincePrefixes {
			if rest, ok := strings.CutPrefix(k, pre); ok {
				if p, ok := provinceByKey[rest]; ok {
					return p, true
				}
			}
		}
		if rest, ok := strings.CutSuffix(k, " province"); ok {
			if p, ok := provinceByKey[rest]; ok {
				return p, true
			}
		}
	}
	return "", false
}

func refKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
			space = false
		} else if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSuffix(b.String(), " ")
}

// referenceCity is City as it was before it was made to allocate less.
func referenceCity(s string) string {
	words := strings.Fields(s)
	if len(words) == 0 {
		return ""
	}
	kind := 0
	f0 := refFoldWord(words[0])
	switch f0 {
	case "kota", "kotamadya", "kodya", "kotamadia":
		kind = cityKota
		words = words[1:]
		if len(words) > 0 && (refFoldWord(words[0]) == "adm" || refFoldWord(words[0]) == "administrasi") {
			words = words[1:]
		}
	case "kab", "kabupaten", "kabupaten.":
		kind = cityKabupaten
		words = words[1:]
		if len(words) > 0 && (refFoldWord(words[0]) == "adm" || refFoldWord(words[0]) == "administrasi") {
			words = words[1:]
		}
	}
	if kind == 0 && len(words) > 1 {
		switch refFoldWord(words[len(words)-1]) {
		case "city":
			kind, words = cityKota, words[:len(words)-1]
		case "regency":
			kind, words = cityKabupaten, words[:len(words)-1]
		}
		if len(words) > 2 && refFoldWord(words[0]) == "city" && refFoldWord(words[1]) == "of" {
			kind, words = cityKota, words[2:]
		}
	}
	if len(words) == 0 { // "Kota" alone
		return caseFixed(strings.Join(strings.Fields(s), " "))
	}
	name := strings.Join(words, " ")
	info, known := cityByKey[refKey(name)]
	if known {
		name = info.name
	} else {
		name = caseFixed(name)
	}
	switch {
	case known && info.kind == cityJakarta:
		return name
	case kind == cityKota, kind == 0 && known && info.kind == cityKota:
		return "Kota " + name
	case kind == cityKabupaten, kind == 0 && known && info.kind == cityKabupaten:
		return "Kabupaten " + name
	}
	return name
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// messyPositions returns n jabatan and places as people type them.
func messyPositions(n int) []string {
	r := rand.New(rand.NewPCG(17, 8))
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	words := []string{"ketum", "KETUM", "Ketua", "ketua", "ketu", "umum", "Umum", "wakil", "Wakil", "WAKIL", "waketum", "sekjen", "Sekjen", "sekertaris", "Sekretaris", "jenderal", "bendahara", "Bendum", "korwil", "Korwil", "KORWIL", "koordinator", "wilayah", "dewan", "pembina", "penasihat", "anggota", "Relawan", "Media", "bidang", "SDM", "sdm", "ii", "IV", "1", "dan", "di", "Jabar", "jabar", "JATIM", "DKI", "Jakarta", "jawa", "Barat", "barat", "D.K.I.", "Prov.", "provinsi", "Provinsi", "Prov.Jabar", "prov", "daerah", "istimewa", "Yogyakarta", "Jogja", "DIY", "West", "Java", "province", "Province", "of", "N.T.B", "Sul-Sel", "kab.", "Kota", "kota", "Bandung", "BANDUNG", "surabaya", "Jaksel", "Sleman", "city", "regency", "adm", "Administrasi", "Ömer", "ÇELİK", "İstanbul", "straße", "Ǆ", "ΣΟΦΙΑ", "x", "&", "-", ".", "(", ")", "/", "\xff"}
	seps := []string{" ", " ", " ", "  ", "\t", ".", "-", ",", "\u00a0", "/", ""}
	out := make([]string, 0, n)
	for len(out) < n {
		var b strings.Builder
		if r.IntN(5) == 0 {
			b.WriteString(pick([]string{" ", "  ", "\t"}))
		}
		k := r.IntN(5) + 1
		for i := range k {
			if i > 0 {
				b.WriteString(pick(seps))
			}
			b.WriteString(pick(words))
		}
		if r.IntN(5) == 0 {
			b.WriteString(pick([]string{" ", ".", "  "}))
		}
		out = append(out, b.String())
	}
	return out
}

func TestPlacesAndPositionsMatchReference(t *testing.T) {
	mismatches := 0
	check := func(what, in string, got, want any) {
		if got != want {
			mismatches++
			if mismatches <= 20 {
				t.Errorf("%s(%q) = %q, the reference gives %q", what, in, got, want)
			}
		}
	}
	for _, in := range append(messyPositions(5000), "", " ", ".", "Kota", "kab.", "kab. bandung", "Surabaya", "kota bogor", "Jaksel", "Kota Jakarta Selatan", "Bandung City", "city of bandung", "Kotamadya Adm. Jakarta Utara", "KAB BANDUNG BARAT", "Korwil Jabar", "Koordinator Wilayah Jawa Barat", "KETUA BIDANG SDM", "wakil ketua ii", "ketu dewan penasihat") {
		check("Position", in, Position(in), referencePosition(in))
		check("City", in, City(in), referenceCity(in))
		p, ok := LookupProvince(in)
		rp, rok := refLookupProvince(in)
		check("LookupProvince", in, [2]any{p, ok}, [2]any{rp, rok})
		check("key", in, key(in), refKey(in))
		for _, w := range strings.FieldsFunc(in, unicode.IsSpace) {
			check("foldWord", w, foldWord(w), refFoldWord(w))
		}
	}
	if mismatches > 0 {
		t.Errorf("%d results differ", mismatches)
	}
}

func FuzzPositionMatchesReference(f *testing.F) {
	for _, s := range messyPositions(40) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Position(s), referencePosition(s); got != want {
			t.Fatalf("Position(%q) = %q, the reference gives %q", s, got, want)
		}
		p, ok := LookupProvince(s)
		if rp, rok := refLookupProvince(s); p != rp || ok != rok {
			t.Fatalf("LookupProvince(%q) = %q, %v, the reference gives %q, %v", s, p, ok, rp, rok)
		}
		if got, want := City(s), referenceCity(s); got != want {
			t.Fatalf("City(%q) = %q, the reference gives %q", s, got, want)
		}
		if got, want := key(s), refKey(s); got != want {
			t.Fatalf("key(%q) = %q, the reference gives %q", s, got, want)
		}
		if got, want := foldWord(s), refFoldWord(s); got != want {
			t.Fatalf("foldWord(%q) = %q, the reference gives %q", s, got, want)
		}
	})
}
