package normalize

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// positionHeads lists every canonical jabatan with the ways people write it.
// Aliases are folded: lower case, letters and digits only per word.
var positionHeads = []struct {
	canonical string
	aliases   []string
}{
	{"Ketua Umum", []string{"ketum", "ketua umum", "ketu umum", "ketuaumum", "chairman general"}},
	{"Ketua Harian", []string{"ketua harian", "kahar"}},
	{"Ketua Dewan Pembina", []string{"ketua dewan pembina"}},
	{"Ketua Dewan Pengawas", []string{"ketua dewan pengawas"}},
	{"Ketua Dewan Penasehat", []string{"ketua dewan penasehat", "ketua dewan penasihat"}},
	{"Ketua Dewan", []string{"ketua dewan"}},
	{"Ketua", []string{"ketua", "ketu", "chairman", "chairperson", "chairwoman", "chair", "president", "presiden"}},
	{"Wakil Ketua Umum", []string{"waketum", "wakil ketua umum", "wakil ketum", "wakatum", "wk ketum", "wakil ketu umum"}},
	{"Wakil Ketua", []string{"wakil ketua", "waka", "wakil ketu", "wk ketua", "wkl ketua", "wakilketua", "vice chairman", "vice chair", "vice president", "wakil presiden"}},
	{"Wakil Sekretaris Jenderal", []string{"wasekjen", "wakil sekjen", "wakil sekretaris jenderal", "wakil sekretaris jendral", "wakil sekertaris jenderal"}},
	{"Sekretaris Jenderal", []string{"sekjen", "sekjend", "sekretaris jenderal", "sekretaris jendral", "sekertaris jenderal", "sekertaris jendral", "sekretaris general", "secretary general", "sekjn"}},
	{"Sekretaris Umum", []string{"sekum", "sekretaris umum", "sekertaris umum"}},
	{"Wakil Sekretaris", []string{"wasek", "wakil sekretaris", "wakil sekertaris", "wakil sekretariss", "wakil sek", "wakil sekr"}},
	{"Sekretaris", []string{"sekretaris", "sekertaris", "sekretariss", "sekrtaris", "sekretaris", "sekr", "sekre", "sek", "secretary", "sekretary"}},
	{"Wakil Bendahara Umum", []string{"wabendum", "wakil bendahara umum", "wakil bendum"}},
	{"Bendahara Umum", []string{"bendum", "bendahara umum", "bendahari umum"}},
	{"Wakil Bendahara", []string{"wabend", "wakil bendahara", "wakil bendahari", "wabendahara", "wakil bend"}},
	{"Bendahara", []string{"bendahara", "bendahari", "bendara", "bend", "bendhara", "treasurer"}},
	{"Koordinator Wilayah", []string{"korwil", "koordinator wilayah", "koord wilayah", "kord wilayah", "koor wilayah", "coordinator wilayah"}},
	{"Koordinator Daerah", []string{"korda", "koordinator daerah", "koord daerah", "koor daerah"}},
	{"Koordinator Lapangan", []string{"korlap", "koordinator lapangan", "koord lapangan", "koor lapangan", "field coordinator"}},
	{"Koordinator Bidang", []string{"korbid", "koordinator bidang", "koord bidang", "koor bidang"}},
	{"Koordinator", []string{"koordinator", "koordinatur", "kordinator", "koord", "koor", "kord", "coordinator", "coord"}},
	{"Dewan Pembina", []string{"dewan pembina"}},
	{"Dewan Pengawas", []string{"dewan pengawas"}},
	{"Dewan Penasehat", []string{"dewan penasehat", "dewan penasihat"}},
	{"Pembina", []string{"pembina", "patron"}},
	{"Penasehat", []string{"penasehat", "penasihat", "advisor", "adviser"}},
	{"Pengawas", []string{"pengawas", "supervisor"}},
	{"Direktur Utama", []string{"dirut", "direktur utama", "president director"}},
	{"Direktur Eksekutif", []string{"direktur eksekutif", "direktur executive", "executive director", "direktur exekutif"}},
	{"Direktur", []string{"direktur", "director", "dir", "direktor"}},
	{"Pendiri", []string{"pendiri", "founder", "co founder", "cofounder"}},
	{"Anggota", []string{"anggota", "anggauta", "anggt", "member", "anggota biasa"}},
}

type positionEntry struct {
	words     []string
	canonical string
}

// positionIndex maps a first folded word to the entries starting with it,
// longest first.
var positionIndex = func() map[string][]positionEntry {
	idx := map[string][]positionEntry{}
	add := func(alias, canonical string) {
		w := strings.Fields(alias)
		for _, e := range idx[w[0]] {
			if strings.Join(e.words, " ") == alias {
				return
			}
		}
		idx[w[0]] = append(idx[w[0]], positionEntry{w, canonical})
	}
	for _, h := range positionHeads {
		add(foldWords(h.canonical), h.canonical)
		for _, a := range h.aliases {
			add(a, h.canonical)
		}
	}
	for k, es := range idx {
		// Longest alias first, so "ketua umum" wins over "ketua".
		for i := 1; i < len(es); i++ {
			for j := i; j > 0 && len(es[j].words) > len(es[j-1].words); j-- {
				es[j], es[j-1] = es[j-1], es[j]
			}
		}
		idx[k] = es
	}
	return idx
}()

// Position returns the canonical jabatan for a position as people write it:
// abbreviations ("Ketum", "Waketum", "Sekjen", "Bendum", "Korwil"), misspellings
// ("sekertaris"), English forms ("Treasurer") and any case give Ketua Umum,
// Wakil Ketua Umum, Sekretaris Jenderal, Bendahara Umum, Koordinator Wilayah,
// Sekretaris, Bendahara, and so on. What follows the jabatan is kept, with a
// province name after it written out in full: "korwil jabar" gives
// "Koordinator Wilayah Jawa Barat", "KETUA BIDANG SDM" gives "Ketua Bidang
// SDM", "wakil ketua ii" gives "Wakil Ketua II". Values that do not start
// with a known jabatan pass through trimmed with white space collapsed,
// never invented.
func Position(s string) string { return settled(position, s) }

// settled applies one pass of a position normalizer until its result stops
// changing (at most four passes): one pass can turn an alias into a
// canonical head that, with the words after it, reads as a longer alias
// ("ketu dewan penasihat"); a second pass settles it.
func settled(pass func(string) string, s string) string {
	r := pass(s)
	for range 3 {
		next := pass(r)
		if next == r {
			break
		}
		r = next
	}
	return r
}

func position(s string) string {
	var wordsBuf [8]string
	words := wordsBuf[:0]
	for w := range strings.FieldsSeq(s) {
		words = append(words, w)
	}
	if len(words) == 0 {
		return ""
	}
	// Fold the words an alias can span into one buffer: folded word k is
	// fb[ends[k-1]:ends[k]].
	nf := min(len(words), maxAliasWords)
	var fbBuf [96]byte
	var endsBuf [8]int
	fb, ends := fbBuf[:0], endsBuf[:0]
	for _, w := range words[:nf] {
		fb = appendFoldWord(fb, w)
		ends = append(ends, len(fb))
	}
	var head string
	n := 0
	for _, e := range positionIndex[string(fb[:ends[0]])] {
		if len(e.words) <= nf && foldedEqual(e.words, fb, ends) {
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
	return withProvinceSuffix(head, rest)
}

// maxAliasWords is the length in words of the longest alias.
var maxAliasWords = func() int {
	n := 1
	for _, es := range positionIndex {
		for _, e := range es {
			n = max(n, len(e.words))
		}
	}
	return n
}()

// foldedEqual reports whether the folded words fb[ends[k-1]:ends[k]] start
// with words.
func foldedEqual(words []string, fb []byte, ends []int) bool {
	start := 0
	for k, w := range words {
		if string(fb[start:ends[k]]) != w {
			return false
		}
		start = ends[k]
	}
	return true
}

// caseWord title-cases one word of a position typed in one case, keeping
// roman numerals and (when typed in capitals) short acronyms in capitals and
// small connecting words in lower case.
func caseWord(w string, allCaps bool) string {
	f := strings.ToLower(w)
	switch {
	case romanNumerals[f]:
		return strings.ToUpper(w)
	case smallWords[f]:
		return f
	case allCaps && len([]rune(w)) <= 3:
		return w
	}
	return Title(w)
}

var romanNumerals = map[string]bool{"i": true, "ii": true, "iii": true, "iv": true, "v": true, "vi": true, "vii": true, "viii": true, "ix": true, "x": true}

var smallWords = map[string]bool{"dan": true, "di": true, "untuk": true, "dari": true, "ke": true, "yang": true, "and": true, "of": true, "the": true, "&": true}

// withProvinceSuffix returns head and words joined by spaces, with a
// province alias that ends the words written out ("Jabar" -> "Jawa
// Barat"), trying the longest ending first.
func withProvinceSuffix(head string, words []string) string {
	keep, suffix := len(words), ""
	for k := min(len(words), 4); k >= 1; k-- {
		if p, ok := lookupProvinceWords(words[len(words)-k:]); ok {
			keep, suffix = len(words)-k, p
			break
		}
	}
	size := len(head) + len(suffix) + 1
	for _, w := range words[:keep] {
		size += len(w) + 1
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(head)
	for _, w := range words[:keep] {
		b.WriteByte(' ')
		b.WriteString(w)
	}
	if suffix != "" {
		b.WriteByte(' ')
		b.WriteString(suffix)
	}
	return b.String()
}

// foldWord lower-cases w and keeps only its letters and digits.
func foldWord(w string) string {
	if isLowerAlnumASCII(w) {
		return w
	}
	return string(appendFoldWord(nil, w))
}

// appendFoldWord appends foldWord(w) to dst.
func appendFoldWord(dst []byte, w string) []byte {
	if isLowerAlnumASCII(w) {
		return append(dst, w...)
	}
	for _, r := range w {
		if r < utf8.RuneSelf {
			switch {
			case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
				dst = append(dst, byte(r))
			case 'A' <= r && r <= 'Z':
				dst = append(dst, byte(r)+'a'-'A')
			}
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
	}
	return dst
}

func foldWords(s string) string {
	ws := strings.Fields(s)
	for i, w := range ws {
		ws[i] = foldWord(w)
	}
	return strings.Join(ws, " ")
}

func isLowerAlnumASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
