package normalize

import (
	"strings"
	"unicode/utf8"
)

// Name is a person's name split the way Twenty's FULL_NAME field holds it.
type Name struct {
	First string
	Last  string
}

// String joins the parts with a space: NameParts(n.String()) == n.
func (n Name) String() string {
	if n.Last == "" {
		return n.First
	}
	if n.First == "" {
		return n.Last
	}
	return n.First + " " + n.Last
}

// NameParts splits a full name into first and last name, with Indonesian
// conventions:
//
//   - many people have one name only: "Sukarno" gives First "Sukarno" and an
//     empty Last;
//   - otherwise Last is the final word and First the words before it
//     ("Siti Nur Aisyah" gives "Siti Nur" / "Aisyah"), which keeps a Batak
//     marga or a family name in Last;
//   - honorifics and titles in front (Bapak, Bpk., Pak, Ibu, Bu, Sdr., Sdri.,
//     H., Hj., KH., Dr., dr., Ir., Prof., Drs., Dra., Ust., Mr., Mrs. ...)
//     and academic degrees behind (S.Kom., M.Si., S.H., S.E., M.M., Ph.D.,
//     Amd., MBA ...), with or without a comma before them, are not names and
//     are dropped, and so are titles after a comma that follows titles
//     ("Dr., IB Putu Gede"); an initial such as "M." is kept;
//   - a name typed in ALL CAPS or all lower case is title-cased
//     ("BUDI SANTOSO" gives "Budi" / "Santoso", with "bin", "binti", "van"
//     and "de" kept lower case inside a name); any other casing is the
//     person's own and is kept ("McDonald", "deGroot").
//
// A value made only of titles ("Bapak") is kept as the first name rather than
// dropped. Blank input gives the zero Name.
func NameParts(s string) Name {
	var buf [16]nameWord
	words := nameWords(s, buf[:0])
	if len(words) == 0 {
		return Name{}
	}
	// Honorifics in front, as long as a name remains after them.
	i := 0
	for i < len(words)-1 && isHonorific(words[i]) {
		i++
	}
	// Degrees behind (after a comma they are always dropped; without a comma
	// only the forms that cannot be a name, see isDegree).
	j := len(words)
	for j > i+1 && isDegree(words[j-1]) {
		j--
	}
	kept := words[i:j]
	if len(kept) == 1 && isHonorific(kept[0]) && i > 0 {
		kept = words[:j]
	}
	// A name typed all in capitals or all in lower case is title-cased;
	// otherwise the words are kept as typed.
	var up, low bool
	for _, w := range kept {
		u, l := caseOf(w.text)
		up, low = up || u, low || l
	}
	fix := up != low
	last := len(kept) - 1
	word := func(k int) string {
		w := kept[k].text
		if !fix {
			return w
		}
		w = titleCase(w)
		if k > 0 && k < last && lowerParticles[strings.ToLower(w)] {
			w = strings.ToLower(w)
		}
		return w
	}
	if last == 0 {
		return Name{First: word(0)}
	}
	if last == 1 {
		return Name{First: word(0), Last: word(1)}
	}
	var b strings.Builder
	for k := range last {
		if k > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(word(k))
	}
	return Name{First: b.String(), Last: word(last)}
}

type nameWord struct {
	text       string
	afterComma bool // the word follows a comma: a degree position
}

// nameWords appends to out the words of s, split on white space and commas,
// remembering which words come after the first comma. Stray semicolons
// around a word and lone dots are dropped.
func nameWords(s string, out []nameWord) []nameWord {
	comma := false
	for seg := range strings.SplitSeq(s, ",") {
		for f := range strings.FieldsSeq(seg) {
			f = strings.Trim(f, ";")
			if f == "" || f == "." {
				continue
			}
			out = append(out, nameWord{text: f, afterComma: comma})
		}
		if len(out) > 0 {
			comma = true
		}
	}
	return out
}

// honorifics are folded (lower case, no dots) titles written before a name.
var honorifics = map[string]bool{
	"bapak": true, "bpk": true, "bp": true, "pak": true, "ibu": true, "ib": true, "bu": true,
	"sdr": true, "sdri": true, "saudara": true, "saudari": true, "tn": true, "ny": true, "nn": true,
	"h": true, "hj": true, "haji": true, "hajjah": true, "hajah": true, "kh": true, "kyai": true, "kiai": true,
	"ust": true, "ustadz": true, "ustaz": true, "ustadzah": true, "ustazah": true,
	"dr": true, "drs": true, "dra": true, "ir": true, "prof": true, "drg": true,
	"mr": true, "mrs": true, "ms": true, "miss": true,
}

// isHonorific reports whether w is a title written before a name. Single
// letters other than "H." are initials, not titles.
//
// A comma before w does not matter: NameParts asks only about words that
// have nothing but titles before them, so such a comma separates titles
// ("Dr., Ir. Budi", "Dr,IB Putu"). Were the word after it kept as a name,
// normalizing the result again would drop it, since the comma is gone
// there ("Dr,IB 0" would give "Ib 0", and that "0").
func isHonorific(w nameWord) bool {
	return inFolded(honorifics, w.text)
}

// degrees are folded (lower case, no dots) academic degrees and professional
// titles written after a name.
var degrees = map[string]bool{
	"skom": true, "msi": true, "sh": true, "se": true, "mm": true, "phd": true, "st": true, "mt": true,
	"spd": true, "mpd": true, "ssos": true, "msos": true, "sag": true, "mag": true, "spsi": true, "mpsi": true,
	"sked": true, "mkom": true, "mkes": true, "skep": true, "sfarm": true, "sip": true, "sikom": true,
	"mikom": true, "amd": true, "ss": true, "mhum": true, "sak": true, "mak": true, "shut": true,
	"sp": true, "mp": true, "ssi": true, "msc": true, "bsc": true, "ba": true, "ma": true, "mba": true,
	"mh": true, "mkn": true, "sgz": true, "spdi": true, "mpdi": true, "shi": true, "sthi": true,
	"lc": true, "spa": true, "spog": true, "sppd": true, "spb": true, "ssn": true, "sds": true,
	"stp": true, "sei": true, "mei": true, "ak": true, "cpa": true, "mars": true,
	"ssit": true, "str": true, "skm": true, "mkm": true, "sst": true, "dipl": true, "ing": true,
	"meng": true, "beng": true, "ssy": true, "sth": true, "mth": true, "mdiv": true, "sps": true,
}

// isDegree reports whether a word at the end of a name is a degree. After a
// comma, any known degree counts, and so does any word with a dot inside
// ("Amd.Kep"). Without a comma only known degrees written with a dot
// ("S.Kom", "M.Si.") or in capitals of three or more letters ("MBA") count,
// because short words such as "Ma" or "Se" can be names.
func isDegree(w nameWord) bool {
	known := inFolded(degrees, w.text)
	dotted := strings.Contains(strings.TrimSuffix(w.text, "."), ".")
	if w.afterComma && (known || dotted) {
		return true
	}
	if !known {
		return false
	}
	if strings.Contains(w.text, ".") {
		return true
	}
	up, low := caseOf(w.text)
	return up && !low && len(foldDots(w.text)) >= 3
}

// foldDots lower-cases w and removes its dots.
func foldDots(w string) string {
	return strings.ToLower(strings.ReplaceAll(w, ".", ""))
}

// inFolded reports whether m holds foldDots(w), without allocating when w
// is short and ASCII (the keys of honorifics and degrees are).
func inFolded(m map[string]bool, w string) bool {
	var buf [24]byte
	n := 0
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= utf8.RuneSelf:
			return m[foldDots(w)]
		case c == '.':
			continue
		case n == len(buf):
			return false // longer than any key
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	return m[string(buf[:n])]
}

// lowerParticles stay lower case inside a title-cased name.
var lowerParticles = map[string]bool{"bin": true, "binti": true, "van": true, "von": true, "de": true, "der": true, "den": true}
