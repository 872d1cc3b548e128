package functions

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/kelompok/pipe/engine/normalize"
)

// Ref is what ref(pipeline, key) returns: a request for the id, on the other
// side, of the record that pipeline linked to key. The engine resolves it
// through that pipeline's links before writing; unresolved, the record waits
// or is rejected as the pipeline's `unresolved` says (rejected either way
// when the referenced record is deleted or missing).
type Ref struct {
	// Pipeline is the name of the pipeline whose links are looked up.
	Pipeline string `json:"pipeline"`
	// Key is the record key on the side being mapped from.
	Key string `json:"key"`
}

// String returns `ref("organizations", "8f1c...")`.
func (r Ref) String() string { return fmt.Sprintf("ref(%q, %q)", r.Pipeline, r.Key) }

// text turns an argument into a string: nil gives ok false; strings, numbers,
// booleans, times and Stringers are formatted.
func text(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", false
	case string:
		return v, true
	case []byte:
		return string(v), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case int32:
		return strconv.FormatInt(int64(v), 10), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32), true
	case bool:
		return strconv.FormatBool(v), true
	case time.Time:
		return v.Format(time.RFC3339Nano), true
	case fmt.Stringer:
		return v.String(), true
	}
	return fmt.Sprint(v), true
}

// blank reports whether v is nil or a string of white space only.
func blank(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) == ""
}

// stringFunc wraps a string normalizer as an expression function: nil or
// blank input gives nil, anything else the normalized string or the error.
func stringFunc(f func(string) (string, error)) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		s, ok := text(params[0])
		if !ok || strings.TrimSpace(s) == "" {
			return nil, nil
		}
		return f(s)
	}
}

// infallible adapts a normalizer that cannot fail.
func infallible(f func(string) string) func(string) (string, error) {
	return func(s string) (string, error) { return f(s), nil }
}

// list turns an argument into a list of strings: nil gives nil, a string
// gives itself (a normalizer may split it), a list its non-nil elements.
func list(v any) []string {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return []string{v}
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := text(e); ok {
				out = append(out, s)
			}
		}
		return out
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		out := make([]string, 0, rv.Len())
		for i := 0; i < rv.Len(); i++ {
			if s, ok := text(rv.Index(i).Interface()); ok {
				out = append(out, s)
			}
		}
		return out
	}
	s, _ := text(v)
	return []string{s}
}

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func registerAll(r *Registry) {
	c := r.cache
	r.Register(Function{
		Name:      "email",
		Signature: "email(x any) string",
		Doc: "Trims, removes `mailto:` and a display name, and lower-cases an e-mail address " +
			"(Twenty stores e-mails lower-cased). NULL or blank gives NULL. Anything that is not an " +
			"address rejects the record with a reason that names the problem; for a sensitive field " +
			"the reason shows the value's shape instead of the value.",
		Examples: []Example{
			{Expr: `email("  Budi.Santoso@Mail.ID ")`, Want: "budi.santoso@mail.id"},
			{Expr: `email("Budi <budi@kelompok.id>")`, Want: "budi@kelompok.id"},
			{Expr: `email(email)`, Env: map[string]any{"email": nil}, Want: nil},
			{Expr: `email("budi at mail")`, Err: `email: "budi at mail" is not an email address (missing @)`},
		},
		Func:      stringFunc(normalize.Email),
		Types:     []any{new(func(any) string)},
		Normalize: normalize.Email,
	})
	r.Register(Function{
		Name:      "phone",
		Signature: `phone(x any, region string = "ID") {e164, number, countryCode, callingCode}`,
		Doc: "Parses a phone number with libphonenumber's rules (numbers without a country code are " +
			"taken as `region`'s) and returns `e164` (\"+6281234567890\"), `number` (the " +
			"national significant number, Twenty's `primaryPhoneNumber`), `countryCode` (\"ID\") and " +
			"`callingCode` (\"+62\"). Accepts 0812-3456-7890, +62 812 3456 7890, 62812..., 812..., " +
			"with spaces, dashes, dots or parentheses; of several numbers (\"0812... / 0813...\") the " +
			"first. NULL or blank gives a result whose fields are NULL, so `phone(x).number` is NULL; an invalid number " +
			"rejects the record. As a match normalizer, `phone` compares E.164 forms.",
		Examples: []Example{
			{Expr: `phone("0812-3456-7890")`, Want: &PhoneParts{E164: "+6281234567890", Number: "81234567890", CountryCode: "ID", CallingCode: "+62"}},
			{Expr: `phone("+62 812 3456 7890").number`, Want: "81234567890"},
			{Expr: `phone("6123 4567", "SG").e164`, Want: "+6561234567"},
			{Expr: `phone(phone).number`, Env: map[string]any{"phone": nil}, Want: nil},
			{Expr: `phone("0812")`, Err: `phone: "0812" is too short to be a phone number`},
		},
		Func: func(params ...any) (any, error) {
			s, ok := text(params[0])
			if !ok || strings.TrimSpace(s) == "" {
				return &PhoneParts{}, nil
			}
			region := normalize.DefaultRegion
			if len(params) > 1 {
				if r, ok := text(params[1]); ok && r != "" {
					region = r
				}
			}
			return c.phoneParts(s, region)
		},
		Types: []any{new(func(any) *PhoneParts), new(func(any, string) *PhoneParts)},
		Normalize: func(s string) (string, error) {
			if strings.TrimSpace(s) == "" {
				return "", nil
			}
			return c.e164(s, normalize.DefaultRegion)
		},
	})
	r.Register(Function{
		Name:      "e164",
		Signature: `e164(x any, region string = "ID") string`,
		Doc:       "The E.164 form of a phone number (see `phone`). NULL or blank gives NULL.",
		Examples: []Example{
			{Expr: `e164("0812 3456 7890")`, Want: "+6281234567890"},
			{Expr: `e164(phone)`, Env: map[string]any{"phone": "  "}, Want: nil},
		},
		Func: func(params ...any) (any, error) {
			s, ok := text(params[0])
			if !ok || strings.TrimSpace(s) == "" {
				return nil, nil
			}
			region := normalize.DefaultRegion
			if len(params) > 1 {
				if r, ok := text(params[1]); ok && r != "" {
					region = r
				}
			}
			return c.e164(s, region)
		},
		Types: []any{new(func(any) string), new(func(any, string) string)},
	})
	r.Register(Function{
		Name:      "name_parts",
		Signature: "name_parts(x any) {first, last}",
		Doc: "Splits a full name into `first` and `last`, with Indonesian conventions: a single name " +
			"gives an empty `last`; honorifics and titles in front (Bapak, Bpk., Ibu, Sdr., H., Hj., " +
			"Dr., Ir., Prof. ...) and degrees behind (S.Kom., M.Si., S.H., S.E., M.M., Ph.D. ...) are " +
			"dropped; otherwise `last` is the final word. Names typed in ALL CAPS or all lower case " +
			"are title-cased; other casing is kept. NULL gives empty strings. As a match normalizer " +
			"(`name`), it compares \"first last\".",
		Examples: []Example{
			{Expr: `name_parts("Dr. Ir. H. Joko Widodo, M.Si.")`, Want: &NameParts{First: "Joko", Last: "Widodo"}},
			{Expr: `name_parts("SUKARNO").first`, Want: "Sukarno"},
			{Expr: `name_parts("Hj. siti nurhaliza").last`, Want: "Nurhaliza"},
			{Expr: `name_parts(full_name)`, Env: map[string]any{"full_name": nil}, Want: &NameParts{First: "", Last: ""}},
		},
		Func: func(params ...any) (any, error) {
			s, _ := text(params[0])
			return c.nameParts(s), nil
		},
		Types: []any{new(func(any) *NameParts)},
	})
	r.Register(Function{
		Name:      "name",
		Signature: "name(x any) string",
		Doc: "A full name cleaned as `name_parts` does, first and last joined by a space. NULL or " +
			"blank gives NULL.",
		Examples: []Example{
			{Expr: `name("BAPAK BUDI SANTOSO, S.KOM.")`, Want: "Budi Santoso"},
		},
		Func:      stringFunc(infallible(func(s string) string { n := c.nameParts(s); return n.First.(string) + joinSpace(n) })),
		Types:     []any{new(func(any) string)},
		Normalize: infallible(func(s string) string { return normalize.NameParts(s).String() }),
	})
	r.Register(Function{
		Name:      "position",
		Signature: "position(x any) string",
		Doc: "The canonical jabatan: Ketua, Ketua Umum, Wakil Ketua, Wakil Ketua Umum, Sekretaris, " +
			"Sekretaris Jenderal, Wakil Sekretaris, Bendahara, Bendahara Umum, Koordinator (with its " +
			"area: \"Koordinator Wilayah Jawa Barat\"), Anggota, Pembina, Penasehat, Pengawas, " +
			"Direktur, Ketua Dewan ..., from abbreviations (Ketum, Waketum, Sekjen, Bendum, Korwil), " +
			"misspellings (sekertaris), English and any case. Unknown values pass through trimmed " +
			"with white space collapsed, never invented. NULL or blank gives NULL.",
		Examples: []Example{
			{Expr: `position("ketum")`, Want: "Ketua Umum"},
			{Expr: `position("KORWIL JABAR")`, Want: "Koordinator Wilayah Jawa Barat"},
			{Expr: `position("sekertaris")`, Want: "Sekretaris"},
			{Expr: `position("  Relawan   Media ")`, Want: "Relawan Media"},
		},
		Func:      stringFunc(infallible(normalize.Position)),
		Types:     []any{new(func(any) string)},
		Normalize: infallible(normalize.Position),
	})
	r.Register(Function{
		Name:      "sdg",
		Signature: "sdg(tags list|string) list",
		Doc: "Canonical SDG tags \"SDG-01\" .. \"SDG-17\", deduplicated and sorted, from numbers " +
			"(\"4\"), \"SDG 4\", \"sdg-04\", \"Goal 4\", \"Tujuan 4\" and the English and Indonesian " +
			"names of the 17 goals (\"Quality Education\", \"Pendidikan Berkualitas\"). A string may " +
			"hold several tags separated by commas. Tags it cannot read are left out, never guessed " +
			"(`sdg_unknown` lists them). NULL gives NULL.",
		Examples: []Example{
			{Expr: `sdg(["SDG 4", "sdg-04", "Kesetaraan Gender", "1", "lingkungan"])`, Want: []any{"SDG-01", "SDG-04", "SDG-05"}},
			{Expr: `sdg("Quality Education, 13")`, Want: []any{"SDG-04", "SDG-13"}},
			{Expr: `sdg(tags)`, Env: map[string]any{"tags": nil}, Want: nil},
		},
		Func: func(params ...any) (any, error) {
			if params[0] == nil {
				return nil, nil
			}
			c, _ := normalize.SDGs(list(params[0]))
			return anyList(c), nil
		},
		Types: []any{new(func(any) []any)},
	})
	r.Register(Function{
		Name:      "sdg_unknown",
		Signature: "sdg_unknown(tags list|string) list",
		Doc:       "The tags `sdg` cannot read, trimmed and deduplicated, in input order: for a report field or a filter.",
		Examples: []Example{
			{Expr: `sdg_unknown(["SDG 4", "lingkungan", "Lingkungan ", "99"])`, Want: []any{"lingkungan", "Lingkungan", "99"}},
			{Expr: `sdg_unknown(["SDG 4"])`, Want: []any{}},
		},
		Func: func(params ...any) (any, error) {
			_, u := normalize.SDGs(list(params[0]))
			return anyList(u), nil
		},
		Types: []any{new(func(any) []any)},
	})
	r.Register(Function{
		Name:      "province",
		Signature: "province(x any) string",
		Doc: "The official name of one of Indonesia's 38 provinces, from common aliases and " +
			"abbreviations (DKI, Jakarta, Jabar, Jateng, Jatim, DIY, Yogyakarta, Jogja, Sumut, Sulsel, " +
			"NTB, NTT, Kaltim, Kepri, Babel, ...), English names and \"Provinsi\"/\"Prov.\" prefixes. " +
			"Unknown values pass through trimmed. NULL or blank gives NULL.",
		Examples: []Example{
			{Expr: `province("jabar")`, Want: "Jawa Barat"},
			{Expr: `province("Jogja")`, Want: "Daerah Istimewa Yogyakarta"},
			{Expr: `province("DKI")`, Want: "DKI Jakarta"},
			{Expr: `province("Prov. Sulsel")`, Want: "Sulawesi Selatan"},
		},
		Func:      stringFunc(infallible(normalize.Province)),
		Types:     []any{new(func(any) string)},
		Normalize: infallible(normalize.Province),
	})
	r.Register(Function{
		Name:      "city",
		Signature: "city(x any) string",
		Doc: "A city or regency with its canonical prefix: \"Kab. Bandung\" gives \"Kabupaten " +
			"Bandung\", \"kota bandung\" gives \"Kota Bandung\", a name that is only a city or only a " +
			"regency gets its prefix (\"Surabaya\" gives \"Kota Surabaya\"); a name both share " +
			"(\"Bandung\") or that it does not know is kept, title-cased when typed in one case. " +
			"Jakarta's cities stay without prefix (\"Jaksel\" gives \"Jakarta Selatan\"). NULL or " +
			"blank gives NULL.",
		Examples: []Example{
			{Expr: `city("Kab. Bandung")`, Want: "Kabupaten Bandung"},
			{Expr: `city("kota bandung")`, Want: "Kota Bandung"},
			{Expr: `city("BANDUNG")`, Want: "Bandung"},
			{Expr: `city("surabaya")`, Want: "Kota Surabaya"},
		},
		Func:      stringFunc(infallible(normalize.City)),
		Types:     []any{new(func(any) string)},
		Normalize: infallible(normalize.City),
	})
	r.Register(Function{
		Name:      "url",
		Signature: "url(x any) string",
		Doc: "A web address as Twenty compares LINKS (`domainName.primaryLinkUrl`): `https://` added " +
			"when no scheme is given, scheme and host lower-cased, default port and trailing slashes " +
			"dropped. A leading `www.` is kept (use `domain` to compare sites with and without it). " +
			"NULL or blank gives NULL; a value with no host rejects the record.",
		Examples: []Example{
			{Expr: `url("Kelompok.ID/")`, Want: "https://kelompok.id"},
			{Expr: `url("HTTP://WWW.Yayasan.or.id/Tentang/")`, Want: "http://www.yayasan.or.id/Tentang"},
			{Expr: `url("ftp://kelompok.id")`, Err: "want http or https"},
		},
		Func:      stringFunc(normalize.URL),
		Types:     []any{new(func(any) string)},
		Normalize: normalize.URL,
	})
	r.Register(Function{
		Name:      "domain",
		Signature: "domain(x any) string",
		Doc: "The host of a web address, lower-cased, without `www.`, port or path: the form to match " +
			"companies by website. NULL or blank gives NULL.",
		Examples: []Example{
			{Expr: `domain("https://www.Kelompok.id/tentang")`, Want: "kelompok.id"},
			{Expr: `domain("kelompok.id")`, Want: "kelompok.id"},
		},
		Func:      stringFunc(normalize.Domain),
		Types:     []any{new(func(any) string)},
		Normalize: normalize.Domain,
	})
	r.Register(Function{
		Name:      "ref",
		Signature: "ref(pipeline string, key any) ref",
		Doc: "The id, on the other side, of the record that `pipeline` linked to `key` (for example " +
			"a member's `organization_id` becomes the Twenty company's id for `companyId`). The " +
			"engine resolves it through that pipeline's links before writing; when there is no link " +
			"yet, the record waits or is rejected, as the pipeline's `unresolved` says, with the " +
			"referenced pipeline's reject reason when it refused that record. A record that refers to " +
			"one deleted or missing on that pipeline's side is rejected whatever `unresolved` says (it " +
			"would never be linked), and retried on later runs: restoring the referenced record " +
			"un-sticks it. A NULL key gives NULL.",
		Examples: []Example{
			{Expr: `ref("organizations", organization_id)`, Env: map[string]any{"organization_id": "8f1c0d2e"}, Want: Ref{Pipeline: "organizations", Key: "8f1c0d2e"}},
			{Expr: `ref("organizations", nil)`, Want: nil},
		},
		Func: func(params ...any) (any, error) {
			p, _ := text(params[0])
			k, ok := text(params[1])
			if !ok || k == "" {
				return nil, nil
			}
			if p == "" {
				return nil, fmt.Errorf("ref: the pipeline name is empty")
			}
			return Ref{Pipeline: p, Key: k}, nil
		},
		Types: []any{new(func(string, any) Ref)},
	})
	r.Register(Function{
		Name:      "coalesce",
		Signature: "coalesce(a any, b any, ...) any",
		Doc:       "The first argument that is neither NULL nor a blank string; NULL if there is none.",
		Examples: []Example{
			{Expr: `coalesce(nil, "  ", "Bandung", "Bogor")`, Want: "Bandung"},
			{Expr: `coalesce(nil, "")`, Want: nil},
		},
		Func: func(params ...any) (any, error) {
			for _, p := range params {
				if !blank(p) {
					return p, nil
				}
			}
			return nil, nil
		},
		Types: []any{new(func(...any) any)},
	})
	r.Register(Function{
		Name:      "nullif",
		Signature: "nullif(a any, b any) any",
		Doc:       "NULL when `a` equals `b` (as SQL's NULLIF), otherwise `a`: `nullif(phone, \"-\")`.",
		Examples: []Example{
			{Expr: `nullif("-", "-")`, Want: nil},
			{Expr: `nullif("0812", "-")`, Want: "0812"},
		},
		Func: func(params ...any) (any, error) {
			if reflect.DeepEqual(params[0], params[1]) {
				return nil, nil
			}
			return params[0], nil
		},
		Types: []any{new(func(any, any) any)},
	})
	r.Register(Function{
		Name:      "title",
		Signature: "title(x any) string",
		Doc:       "Title case: every word's first letter upper case, the others lower case, white space collapsed. NULL gives NULL.",
		Examples: []Example{
			{Expr: `title("JAWA  BARAT")`, Want: "Jawa Barat"},
		},
		Func:      stringFunc(infallible(normalize.Title)),
		Types:     []any{new(func(any) string)},
		Normalize: infallible(normalize.Title),
	})
	r.Register(Function{
		Name:      "squish",
		Signature: "squish(x any) string",
		Doc:       "Trims and collapses every run of white space (tabs, new lines, non-breaking spaces) into one space. NULL or blank gives NULL.",
		Examples: []Example{
			{Expr: `squish("  Jl. Merdeka \n No. 5 ")`, Want: "Jl. Merdeka No. 5"},
		},
		Func:      stringFunc(infallible(normalize.Squish)),
		Types:     []any{new(func(any) string)},
		Normalize: infallible(normalize.Squish),
	})
}
