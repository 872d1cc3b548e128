// Package quickstart holds the sample Kelompok data and configuration that
// `pipe demo` runs: organizations, members and events of the reference model
// (docs/connectors/kelompok.md, "The reference schema"), as messy as real user input is: mixed-case
// e-mail addresses with spaces, Indonesian phone numbers in every common
// shape, SDG tags in English and Indonesian, abbreviated positions ("Ketum"),
// province aliases ("Jabar", "DIY") and names with titles ("Dr. Ir. H. ...").
//
// The data is generated from a fixed seed, so every run of the demo and every
// test sees the same rows.
package quickstart

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Organization is one row of the organizations table.
type Organization struct {
	ID          string
	Name        string
	LegalName   *string
	Kind        string
	Email       *string
	Phone       *string
	Website     *string
	Address     *string
	Province    *string
	City        *string
	District    *string
	PostalCode  *string
	Latitude    *float64
	Longitude   *float64
	SDGTags     []string
	ClaimedBy   *string
	ClaimStatus string
	ClaimedAt   *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeletedAt   *time.Time
}

// Member is one row of the members table.
type Member struct {
	ID             string
	OrganizationID *string
	FullName       string
	Email          *string
	Phone          *string
	Position       *string
	Province       *string
	City           *string
	SDGTags        []string
	NationalID     *string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DeletedAt      *time.Time
}

// Event is one row of the events table.
type Event struct {
	ID             string
	OrganizationID *string
	Title          string
	Description    *string
	StartsAt       *time.Time
	EndsAt         *time.Time
	Venue          *string
	City           *string
	Province       *string
	Status         string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DeletedAt      *time.Time
}

// Data is one generated Kelompok dataset.
type Data struct {
	Organizations []Organization
	Members       []Member
	Events        []Event
}

// Sizes says how many rows Generate makes.
type Sizes struct {
	Organizations int
	Members       int
	Events        int
}

// DefaultSizes are the sizes the demo uses.
var DefaultSizes = Sizes{Organizations: 60, Members: 600, Events: 120}

// namespace makes the generated ids stable across runs.
var namespace = uuid.MustParse("6f1c7f3e-4b5d-4a51-9d0e-5c0a1b2c3d4e")

func id(kind string, n int) string {
	return uuid.NewSHA1(namespace, fmt.Appendf(nil, "%s/%d", kind, n)).String()
}

func ptr[T any](v T) *T { return &v }

var (
	orgPrefixes = []struct{ kind, word string }{
		{"komunitas", "Komunitas"}, {"yayasan", "Yayasan"}, {"koperasi", "Koperasi"},
		{"perkumpulan", "Perkumpulan"}, {"ngo", "Lembaga"}, {"komunitas", "Gerakan"},
		{"other", "Forum"}, {"komunitas", "Sahabat"},
	}
	orgThemes = []string{
		"Peduli Sungai Ciliwung", "Pendidikan Nusantara", "Tani Makmur", "Literasi Anak Bangsa",
		"Hijau Lestari", "Air Bersih Desa", "Perempuan Berdaya", "Nelayan Sejahtera",
		"Kesehatan Ibu dan Anak", "Energi Surya Mandiri", "Bank Sampah Berseri", "Difabel Kreatif",
		"Pemuda Digital", "Hutan Mangrove", "Pangan Lokal", "Batik Tulis Lestari",
		"Relawan Bencana", "Kopi Rakyat", "Kampung Iklim", "Seni Budaya Betawi",
	}
	places = []struct{ province, city string }{
		{"DKI Jakarta", "Kota Jakarta Selatan"}, {"Jakarta", "Jakarta Timur"}, {"DKI", "jakarta pusat"},
		{"Jawa Barat", "Kota Bandung"}, {"Jabar", "Bandung"}, {"jawa barat", "Kab. Bogor"},
		{"Jawa Tengah", "Kota Semarang"}, {"Jateng", "Solo"}, {"Jawa Timur", "Kota Surabaya"},
		{"Jatim", "Malang"}, {"DIY", "Yogyakarta"}, {"Jogja", "Kab. Sleman"},
		{"Daerah Istimewa Yogyakarta", "Kota Yogyakarta"}, {"Sumut", "Medan"},
		{"Sumatera Utara", "Kota Medan"}, {"Sulsel", "Makassar"}, {"Bali", "Denpasar"},
		{"NTB", "Mataram"}, {"NTT", "Kupang"}, {"Kaltim", "Balikpapan"},
		{"Papua", "Jayapura"}, {"Aceh", "Banda Aceh"}, {"Banten", "Tangerang Selatan"},
	}
	sdgVariants = [][]string{
		{"SDG 4", "sdg-04", "Pendidikan Berkualitas", "Quality Education", "4"},
		{"SDG 6", "Air Bersih dan Sanitasi Layak", "clean water and sanitation"},
		{"SDG 13", "Penanganan Perubahan Iklim", "climate action", "13"},
		{"SDG 1", "Tanpa Kemiskinan", "No Poverty", "sdg1"},
		{"SDG 2", "Tanpa Kelaparan", "zero hunger"},
		{"SDG 5", "Kesetaraan Gender", "gender equality", "SDG-5"},
		{"SDG 3", "Kehidupan Sehat dan Sejahtera", "good health and well-being"},
		{"SDG 14", "Ekosistem Lautan", "life below water"},
		{"SDG 15", "Ekosistem Daratan", "life on land"},
		{"SDG 7", "Energi Bersih dan Terjangkau", "affordable and clean energy"},
		{"SDG 8", "pekerjaan layak dan pertumbuhan ekonomi", "Decent Work and Economic Growth"},
		{"SDG 11", "Kota dan Permukiman yang Berkelanjutan", "sustainable cities and communities"},
		{"SDG 17", "Kemitraan untuk Mencapai Tujuan", "partnerships for the goals"},
	}
	firstNames = []string{
		"Budi", "Siti", "Agus", "Dewi", "Rina", "Andi", "Putri", "Wahyu", "Sri", "Joko",
		"Ayu", "Rizky", "Nur", "Eko", "Fitri", "Hendra", "Intan", "Yusuf", "Lestari", "Bayu",
		"Made", "Nyoman", "Ketut", "Fajar", "Indah", "Dimas", "Ratna", "Teguh", "Wulan", "Arif",
	}
	lastNames = []string{
		"Santoso", "Wijaya", "Nurhaliza", "Pratama", "Saputra", "Hidayat", "Kusuma", "Rahmawati",
		"Siregar", "Nasution", "Simanjuntak", "Setiawan", "Susanti", "Gunawan", "Hasibuan",
		"Wibowo", "Permata", "Lubis", "Harahap", "Purnomo", "Sembiring", "Tanjung",
	}
	monoNames = []string{"Sukarno", "Suharti", "Mulyono", "Paiman", "Tukiyem", "Darmi", "Slamet", "Wagiman"}
	titles    = []string{"Dr. ", "Ir. ", "H. ", "Hj. ", "Bapak ", "Ibu ", "Prof. Dr. ", "Dr. Ir. H. "}
	suffixes  = []string{", S.Kom.", ", M.Si.", ", S.H.", ", S.E., M.M.", ", Ph.D.", " S.Pd."}
	positions = []string{
		"Ketua", "ketua umum", "Ketum", "Wakil Ketua", "Waketum", "Sekretaris", "sekertaris",
		"Sekjen", "Bendahara", "Bendum", "BENDAHARA", "Anggota", "anggota", "Anggota",
		"Koordinator Wilayah Jawa Barat", "Korwil", "Pembina", "Penasehat", "Relawan",
		"  Sekretaris  ", "Humas",
	}
	domains = []string{"gmail.com", "yahoo.co.id", "Gmail.com", "outlook.com", "ymail.com", "mail.id"}
)

// phoneShape writes the national number n (without the leading 0) the way a
// user might have typed it.
func phoneShape(r *rand.Rand, n string) string {
	switch r.IntN(8) {
	case 0:
		return "0" + n[:3] + "-" + n[3:7] + "-" + n[7:]
	case 1:
		return "+62 " + n[:3] + " " + n[3:7] + " " + n[7:]
	case 2:
		return "62" + n
	case 3:
		return n
	case 4:
		return "0" + n
	case 5:
		return "+62-" + n[:3] + "-" + n[3:]
	case 6:
		return "(+62) " + n[:3] + " " + n[3:]
	default:
		return "0" + n[:3] + " " + n[3:7] + " " + n[7:]
	}
}

func mobile(r *rand.Rand) string {
	prefixes := []string{"812", "813", "821", "822", "852", "853", "811", "857", "878", "896"}
	return prefixes[r.IntN(len(prefixes))] + fmt.Sprintf("%08d", r.IntN(100000000))
}

func messyEmail(r *rand.Rand, local, domain string) string {
	e := local + "@" + domain
	switch r.IntN(5) {
	case 0:
		e = strings.ToUpper(e[:1]) + e[1:]
	case 1:
		e = "  " + e + " "
	case 2:
		e = strings.ToUpper(e)
	}
	return e
}

func sdgTags(r *rand.Rand) []string {
	n := r.IntN(4)
	tags := make([]string, 0, n+1)
	for i := 0; i < n; i++ {
		v := sdgVariants[r.IntN(len(sdgVariants))]
		tags = append(tags, v[r.IntN(len(v))])
	}
	if r.IntN(15) == 0 {
		tags = append(tags, "kegiatan sosial") // not an SDG: reported, never invented
	}
	return tags
}

// Generate makes a dataset of the given sizes from a fixed seed. Timestamps
// are spread over the days before base.
func Generate(sizes Sizes, base time.Time) Data {
	r := rand.New(rand.NewPCG(2026, 11))
	var d Data
	at := func(i int) time.Time {
		return base.Add(-time.Duration(sizes.Organizations+sizes.Members+sizes.Events-i) * time.Minute).UTC().Truncate(time.Millisecond)
	}
	seq := 0
	usedSlug := map[string]bool{}
	for i := 0; i < sizes.Organizations; i++ {
		p := orgPrefixes[i%len(orgPrefixes)]
		theme := orgThemes[(i/len(orgPrefixes)+i)%len(orgThemes)]
		name := p.word + " " + theme
		if i >= len(orgPrefixes)*len(orgThemes)/4 {
			name = fmt.Sprintf("%s %d", name, i)
		}
		place := places[r.IntN(len(places))]
		slug := strings.ToLower(strings.ReplaceAll(theme, " ", ""))
		if usedSlug[slug] {
			// Keep websites unique across organizations, as Twenty's
			// domainName is unique.
			slug = fmt.Sprintf("%s%d", slug, i)
		}
		usedSlug[slug] = true
		o := Organization{
			ID:          id("organization", i),
			Name:        name,
			Kind:        p.kind,
			Province:    ptr(place.province),
			City:        ptr(place.city),
			SDGTags:     sdgTags(r),
			ClaimStatus: []string{"unclaimed", "pending", "verified"}[r.IntN(3)],
		}
		if p.kind == "yayasan" || p.kind == "koperasi" {
			o.LegalName = ptr(strings.ToUpper(p.word[:1]) + p.word[1:] + " " + theme + " Indonesia")
		}
		switch r.IntN(6) {
		case 0:
			o.Website = ptr("https://www." + slug + ".or.id/")
		case 1:
			o.Website = ptr("www." + slug + ".id")
		case 2:
			o.Website = ptr("HTTP://" + strings.ToUpper(slug[:1]) + slug[1:] + ".org")
		case 3:
			o.Website = ptr(slug + ".org")
		}
		if r.IntN(3) > 0 {
			o.Email = ptr(messyEmail(r, "info."+slug+fmt.Sprint(i), []string{"gmail.com", "or.id", "yahoo.co.id"}[r.IntN(3)]))
		}
		if r.IntN(2) == 0 {
			o.Phone = ptr(phoneShape(r, mobile(r)))
		}
		if r.IntN(3) > 0 {
			o.Address = ptr(fmt.Sprintf("Jl. %s No. %d", lastNames[r.IntN(len(lastNames))], 1+r.IntN(200)))
			o.PostalCode = ptr(fmt.Sprintf("%05d", 10000+r.IntN(89999)))
			o.Latitude = ptr(-6.0 - r.Float64()*3)
			o.Longitude = ptr(106.0 + r.Float64()*6)
		}
		o.CreatedAt = at(seq)
		o.UpdatedAt = o.CreatedAt
		seq++
		d.Organizations = append(d.Organizations, o)
	}
	usedEmail := map[string]int{}
	for i := 0; i < sizes.Members; i++ {
		m := Member{ID: id("member", i)}
		first := firstNames[r.IntN(len(firstNames))]
		last := lastNames[r.IntN(len(lastNames))]
		switch k := r.IntN(10); {
		case k == 0:
			m.FullName = monoNames[r.IntN(len(monoNames))]
			last = ""
		case k == 1:
			m.FullName = strings.ToUpper(first + " " + last)
		case k == 2:
			m.FullName = strings.ToLower(first + " " + last)
		case k == 3:
			m.FullName = titles[r.IntN(len(titles))] + first + " " + last + suffixes[r.IntN(len(suffixes))]
		default:
			m.FullName = first + " " + last
		}
		if r.IntN(12) > 0 {
			local := strings.ToLower(first)
			if last != "" {
				local += "." + strings.ToLower(last)
			}
			base := local
			if n := usedEmail[base]; n > 0 {
				local = fmt.Sprintf("%s%d", base, n)
			}
			usedEmail[base]++
			if r.IntN(60) == 0 {
				m.Email = ptr(local + " at " + domains[r.IntN(len(domains))]) // invalid: rejected with a reason
			} else {
				m.Email = ptr(messyEmail(r, local, domains[r.IntN(len(domains))]))
			}
		}
		if r.IntN(8) > 0 {
			m.Phone = ptr(phoneShape(r, mobile(r)))
		}
		if r.IntN(6) > 0 {
			m.Position = ptr(positions[r.IntN(len(positions))])
		}
		if r.IntN(10) > 0 && len(d.Organizations) > 0 {
			m.OrganizationID = ptr(d.Organizations[r.IntN(len(d.Organizations))].ID)
		}
		place := places[r.IntN(len(places))]
		m.Province = ptr(place.province)
		m.City = ptr(place.city)
		m.SDGTags = sdgTags(r)
		m.NationalID = ptr(fmt.Sprintf("3%015d", r.Int64N(1e15)))
		m.CreatedAt = at(seq)
		m.UpdatedAt = m.CreatedAt
		seq++
		d.Members = append(d.Members, m)
	}
	claimOwners(&d)
	for i := 0; i < sizes.Events; i++ {
		o := d.Organizations[r.IntN(len(d.Organizations))]
		start := base.Add(time.Duration(r.IntN(90*24)) * time.Hour).UTC().Truncate(time.Hour)
		e := Event{
			ID:             id("event", i),
			OrganizationID: ptr(o.ID),
			Title:          []string{"Pelatihan", "Diskusi Publik", "Aksi Bersih", "Lokakarya", "Webinar", "Festival"}[r.IntN(6)] + " " + orgThemes[r.IntN(len(orgThemes))],
			Description:    ptr("Kegiatan bersama anggota dan masyarakat."),
			StartsAt:       ptr(start),
			EndsAt:         ptr(start.Add(3 * time.Hour)),
			Venue:          ptr("Balai Warga " + lastNames[r.IntN(len(lastNames))]),
			City:           o.City,
			Province:       o.Province,
			Status:         []string{"draft", "published", "published", "cancelled", "done"}[r.IntN(5)],
		}
		e.CreatedAt = at(seq)
		e.UpdatedAt = e.CreatedAt
		seq++
		d.Events = append(d.Events, e)
	}
	return d
}

// claimOwners gives every pending or verified organization its claim: the
// claimant is the organization's first member (when it has one) and the
// claim date is when the organization was created. It draws nothing
// from the random source, so the rest of the data does not move.
func claimOwners(d *Data) {
	first := map[string]string{}
	for _, m := range d.Members {
		if m.OrganizationID != nil {
			if _, ok := first[*m.OrganizationID]; !ok {
				first[*m.OrganizationID] = m.ID
			}
		}
	}
	for i := range d.Organizations {
		o := &d.Organizations[i]
		if o.ClaimStatus == "unclaimed" {
			continue
		}
		if m, ok := first[o.ID]; ok {
			o.ClaimedBy = ptr(m)
		}
		o.ClaimedAt = ptr(o.CreatedAt)
	}
}
