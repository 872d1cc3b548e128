package normalize

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// SDGNames holds the 17 Sustainable Development Goals: SDGNames[n-1] is goal
// n's English and Indonesian (Bappenas) names.
var SDGNames = [17][2]string{
	{"No Poverty", "Tanpa Kemiskinan"},
	{"Zero Hunger", "Tanpa Kelaparan"},
	{"Good Health and Well-being", "Kehidupan Sehat dan Sejahtera"},
	{"Quality Education", "Pendidikan Berkualitas"},
	{"Gender Equality", "Kesetaraan Gender"},
	{"Clean Water and Sanitation", "Air Bersih dan Sanitasi Layak"},
	{"Affordable and Clean Energy", "Energi Bersih dan Terjangkau"},
	{"Decent Work and Economic Growth", "Pekerjaan Layak dan Pertumbuhan Ekonomi"},
	{"Industry, Innovation and Infrastructure", "Industri, Inovasi dan Infrastruktur"},
	{"Reduced Inequalities", "Berkurangnya Kesenjangan"},
	{"Sustainable Cities and Communities", "Kota dan Permukiman yang Berkelanjutan"},
	{"Responsible Consumption and Production", "Konsumsi dan Produksi yang Bertanggung Jawab"},
	{"Climate Action", "Penanganan Perubahan Iklim"},
	{"Life Below Water", "Ekosistem Lautan"},
	{"Life on Land", "Ekosistem Daratan"},
	{"Peace, Justice and Strong Institutions", "Perdamaian, Keadilan dan Kelembagaan yang Tangguh"},
	{"Partnerships for the Goals", "Kemitraan untuk Mencapai Tujuan"},
}

// sdgAliases are other names people use for a goal.
var sdgAliases = map[int][]string{
	1:  {"end poverty", "kemiskinan", "pengentasan kemiskinan", "tanpa kemiskinan"},
	2:  {"end hunger", "kelaparan", "ketahanan pangan", "no hunger"},
	3:  {"good health", "health and well being", "kesehatan", "hidup sehat dan sejahtera", "kehidupan sehat"},
	4:  {"education", "pendidikan", "pendidikan bermutu", "pendidikan berkualitas"},
	5:  {"gender", "kesetaraan gender"},
	6:  {"clean water", "air bersih", "sanitasi", "air bersih dan sanitasi"},
	7:  {"clean energy", "energi bersih", "energi terbarukan"},
	8:  {"decent work", "pekerjaan layak", "pertumbuhan ekonomi"},
	9:  {"industry innovation infrastructure", "infrastruktur", "industri inovasi infrastruktur"},
	10: {"reduced inequality", "reducing inequality", "reduced inequalities", "kesenjangan", "mengurangi kesenjangan", "berkurangnya ketimpangan"},
	11: {"sustainable cities", "kota berkelanjutan", "kota dan komunitas berkelanjutan", "kota dan pemukiman yang berkelanjutan"},
	12: {"responsible consumption", "konsumsi dan produksi berkelanjutan", "konsumsi bertanggung jawab"},
	13: {"climate", "perubahan iklim", "aksi iklim", "penanganan perubahan iklim"},
	14: {"life under water", "ekosistem laut", "kehidupan bawah laut"},
	15: {"life on land", "ekosistem darat", "kehidupan di darat"},
	16: {"peace and justice", "peace justice", "perdamaian", "perdamaian dan keadilan"},
	17: {"partnership", "partnerships", "kemitraan", "kemitraan global"},
}

// sdgStop are words dropped from names before comparing them.
var sdgStop = map[string]bool{"and": true, "dan": true, "the": true, "for": true, "yang": true, "untuk": true, "of": true}

func sdgKey(s string) string {
	ws := strings.Fields(key(strings.ReplaceAll(s, "-", "")))
	out := ws[:0]
	for _, w := range ws {
		if !sdgStop[w] {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

var sdgByName = func() map[string]int {
	m := map[string]int{}
	for i, ns := range SDGNames {
		m[sdgKey(ns[0])] = i + 1
		m[sdgKey(ns[1])] = i + 1
	}
	for n, as := range sdgAliases {
		for _, a := range as {
			m[sdgKey(a)] = n
		}
	}
	return m
}()

// SDGTag returns the canonical tag "SDG-01" .. "SDG-17" for one tag as people
// write it ("4", "04", "SDG 4", "sdg-04", "SDGs #4", "Goal 4", "Tujuan 4",
// "SDG 4: Quality Education", "Quality Education", "Pendidikan Berkualitas"),
// and false when it cannot tell which goal is meant.
func SDGTag(s string) (string, bool) {
	k := key(s)
	if k == "" {
		return "", false
	}
	if n, ok := sdgByName[sdgKey(s)]; ok {
		return sdgCanonical(n), true
	}
	ws := strings.Fields(k)
	// A number, alone or after a prefix; a name may follow it.
	i := 0
	for i < len(ws) && sdgPrefix[ws[i]] {
		i++
	}
	if i < len(ws) {
		num := ws[i]
		// "sdg4", "sdgs04", "goal4" written as one word.
		for p := range sdgPrefix {
			if rest, ok := strings.CutPrefix(num, p); ok && rest != "" && isDigits(rest) {
				num = rest
				break
			}
		}
		if isDigits(num) && (i == len(ws)-1 || followedByGoalName(ws[i+1:], num)) {
			if n, err := strconv.Atoi(num); err == nil && n >= 1 && n <= 17 {
				return sdgCanonical(n), true
			}
		}
	}
	return "", false
}

// followedByGoalName reports whether the words after a bare number are that
// goal's name ("4 Quality Education").
func followedByGoalName(rest []string, num string) bool {
	n, err := strconv.Atoi(num)
	if err != nil {
		return false
	}
	return sdgByName[sdgKey(strings.Join(rest, " "))] == n
}

var sdgPrefix = map[string]bool{"sdg": true, "sdgs": true, "goal": true, "tujuan": true, "tpb": true, "no": true, "nomor": true}

func isDigits(s string) bool {
	if s == "" || len(s) > 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func sdgCanonical(n int) string { return fmt.Sprintf("SDG-%02d", n) }

// SDGs normalizes a list of tags: each tag is read with SDGTag (a tag may
// also hold several, separated by commas, semicolons or "|"), and the
// canonical tags are returned deduplicated and sorted. Tags it cannot read
// are returned in unknown (trimmed, deduplicated, in input order), never
// guessed; blank tags are ignored.
func SDGs(tags []string) (canonical, unknown []string) {
	seen := map[string]bool{}
	for _, t := range tags {
		parts := []string{t}
		if _, ok := SDGTag(t); !ok {
			parts = strings.FieldsFunc(t, func(r rune) bool { return r == ',' || r == ';' || r == '|' })
		}
		for _, part := range parts {
			part = Squish(part)
			if part == "" {
				continue
			}
			if c, ok := SDGTag(part); ok {
				if !seen[c] {
					seen[c] = true
					canonical = append(canonical, c)
				}
			} else if !slices.Contains(unknown, part) {
				unknown = append(unknown, part)
			}
		}
	}
	slices.Sort(canonical)
	return canonical, unknown
}
