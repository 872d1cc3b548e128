package normalize

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// referenceNameParts is NameParts as it was before it was made to allocate
// less: TestNamePartsMatchesReference holds the current one to exactly its
// results.
func referenceNameParts(s string) Name {
	words := refNameWords(s)
	if len(words) == 0 {
		return Name{}
	}
	// Honorifics in front, as long as a name remains after them.
	i := 0
	for i < len(words)-1 && refIsHonorific(words[i]) {
		i++
	}
	// Degrees behind (after a comma they are always dropped; without a comma
	// only the forms that cannot be a name, see refIsDegree).
	j := len(words)
	for j > i+1 && refIsDegree(words[j-1]) {
		j--
	}
	kept := words[i:j]
	if len(kept) == 1 && refIsHonorific(kept[0]) && i > 0 {
		kept = words[:j]
	}
	parts := make([]string, len(kept))
	for k, w := range kept {
		parts[k] = strings.Trim(w.text, ",")
	}
	full := strings.Join(parts, " ")
	if up, low := caseOf(full); up != low { // all caps or all lower
		parts = strings.Fields(refTitleName(full))
	}
	if len(parts) == 1 {
		return Name{First: parts[0]}
	}
	return Name{First: strings.Join(parts[:len(parts)-1], " "), Last: parts[len(parts)-1]}
}

type refNameWord struct {
	text       string
	afterComma bool // the word follows a comma: a degree position
}

// refNameWords splits s on white space and commas, remembering which words come
// after the first comma.
func refNameWords(s string) []refNameWord {
	var out []refNameWord
	comma := false
	for _, seg := range strings.Split(s, ",") {
		for _, f := range strings.Fields(seg) {
			f = strings.Trim(f, ",;")
			if f == "" || f == "." {
				continue
			}
			out = append(out, refNameWord{text: f, afterComma: comma})
		}
		if len(out) > 0 {
			comma = true
		}
	}
	return out
}

func refIsHonorific(w refNameWord) bool {
	// Not w.afterComma: a title after a comma that follows titles is a
	// title too ("Dr,IB 0" must give what "Ib 0" gives: NameParts is
	// idempotent).
	return honorifics[foldDots(w.text)]
}

func refIsDegree(w refNameWord) bool {
	f := foldDots(w.text)
	dotted := strings.Contains(strings.TrimSuffix(w.text, "."), ".")
	if w.afterComma && (degrees[f] || dotted) {
		return true
	}
	if !degrees[f] {
		return false
	}
	if strings.Contains(w.text, ".") {
		return true
	}
	up, low := caseOf(w.text)
	return up && !low && len(f) >= 3
}

func refTitleName(s string) string {
	words := strings.Fields(Title(s))
	for i, w := range words {
		if i > 0 && i < len(words)-1 && lowerParticles[strings.ToLower(w)] {
			words[i] = strings.ToLower(w)
		}
	}
	return strings.Join(words, " ")
}

// messyNames returns n full names as Kelompok holds them: honorifics and
// degrees with and without dots and commas, any case, initials, particles,
// stray punctuation and white space, other scripts.
func messyNames(n int) []string {
	r := rand.New(rand.NewPCG(6, 1945))
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	front := []string{"Bapak", "BAPAK", "bpk.", "Bp", "Pak", "Ibu", "ibu", "Bu", "Sdr.", "Sdri", "H.", "h.", "Hj.", "HJ", "KH.", "Dr.", "dr.", "DR", "Ir.", "Prof.", "Drs.", "Dra", "Ust.", "Mr.", "Mrs", "Tn.", "Ny.", "M.", "A.", "St."}
	names := []string{"Budi", "BUDI", "budi", "Siti", "SITI", "Nurhaliza", "Joko", "Widodo", "Tirta", "Mandira", "Hudhi", "Sukarno", "Rina", "Marlina", "Rizky", "Pratama", "bin", "binti", "BIN", "van", "de", "Der", "McDonald", "deGroot", "o'neil", "O'NEIL", "Jean-Paul", "Ma", "Se", "SE", "Sh", "Andi", "Ahmad", "Abdullah", "Ömer", "ÇELİK", "straße", "İbrahim", "Ǆemal", "ǅ", "Ιωάννης", "ΣΟΦΙΑ", "Дмитрий", "nguyễn", "MBA", "Amd"}
	degrees := []string{"S.Kom.", "S.Kom", "SKom", "M.Si.", "M.SI", "S.H.", "SH", "S.E.", "SE", "se", "M.M.", "MM", "Ph.D.", "PhD", "MBA", "mba", "Amd.Keb", "A.Md.", "S.Pd.I", "Lc", "M.Hum", "S.T.", "ST", "S.Ked", "Sp.OG", "Dipl.-Ing."}
	seps := []string{" ", " ", " ", "  ", ", ", ",", " ,", "\t", "\u00a0", "; ", " . ", " .", "\n"}
	out := make([]string, 0, n)
	for len(out) < n {
		var b strings.Builder
		if r.IntN(4) == 0 {
			b.WriteString(pick([]string{" ", "  ", ",", ";", "."}))
		}
		for range r.IntN(3) {
			b.WriteString(pick(front))
			b.WriteString(pick(seps))
		}
		k := r.IntN(4) + 1
		for i := range k {
			if i > 0 {
				b.WriteString(pick(seps))
			}
			b.WriteString(pick(names))
		}
		for range r.IntN(4) {
			b.WriteString(pick(seps))
			b.WriteString(pick(degrees))
		}
		if r.IntN(5) == 0 {
			b.WriteString(pick([]string{" ", ",", ";", ".", " ,", "\xff", "\xe2\x82"}))
		}
		out = append(out, b.String())
	}
	return out
}

func TestNamePartsMatchesReference(t *testing.T) {
	mismatches := 0
	for _, in := range append(messyNames(5000), "", " ", ",", ".", ";", "H.", "Bapak", "Ibu Ibu", "a, b, c", "Ǆ ǅ", "x,", ",x", "; ;") {
		want, got := referenceNameParts(in), NameParts(in)
		if got != want {
			mismatches++
			if mismatches <= 20 {
				t.Errorf("NameParts(%q) = %q / %q, the reference gives %q / %q", in, got.First, got.Last, want.First, want.Last)
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d inputs differ", mismatches)
	}
}

func FuzzNamePartsMatchesReference(f *testing.F) {
	for _, s := range messyNames(40) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if want, got := referenceNameParts(s), NameParts(s); got != want {
			t.Fatalf("NameParts(%q) = %q / %q, the reference gives %q / %q", s, got.First, got.Last, want.First, want.Last)
		}
	})
}
