package mapping

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/expr-lang/expr"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/functions"
	"github.com/kelompok/pipe/engine/normalize"
)

// memberEnv is the typed environment of a Kelompok member, as config builds
// it from the stream's declared fields.
var memberEnv = map[string]any{
	"full_name": "", "email": "", "phone": "", "position": "", "city": "", "province": "",
	"organization_id": "", "national_id": "", "sdg_tags": []any{},
	"id": "", "updatedAt": time.Time{}, "deleted": false,
}

func compile(t testing.TB, src string, asBool bool) *config.FieldMapping {
	t.Helper()
	opts := []expr.Option{expr.Env(memberEnv)}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	p, err := functions.Default.Compile(src, opts...)
	if err != nil {
		t.Fatalf("compile %s: %v", src, err)
	}
	return &config.FieldMapping{Expr: src, Program: p}
}

// mappingOf builds a config.Mapping from target -> expr, or target ->
// [expr, when].
func mappingOf(t testing.TB, fields [][3]string) *config.Mapping {
	t.Helper()
	m := &config.Mapping{}
	for _, f := range fields {
		fm := compile(t, f[1], false)
		fm.Target = f[0]
		if f[2] != "" {
			w := compile(t, f[2], true)
			fm.When, fm.WhenProgram = f[2], w.Program
		}
		m.Fields = append(m.Fields, *fm)
	}
	return m
}

const hasPhone = `phone != nil && trim(phone) != ""`

// membersMapping is the shipped members push mapping (pipelines/members.cue)
// plus the SDG custom field and the Kelompok id: ten fields.
func membersMapping(t testing.TB) *config.Mapping {
	return mappingOf(t, [][3]string{
		{"name.firstName", "name_parts(full_name).first", ""},
		{"name.lastName", "name_parts(full_name).last", ""},
		{"emails.primaryEmail", "email(email)", ""},
		{"phones.primaryPhoneNumber", "phone(phone).number", hasPhone},
		{"phones.primaryPhoneCountryCode", "phone(phone).countryCode", hasPhone},
		{"phones.primaryPhoneCallingCode", "phone(phone).callingCode", hasPhone},
		{"jobTitle", "position(position)", ""},
		{"city", "city(city)", ""},
		{"companyId", `ref("organizations", organization_id)`, ""},
		{"kelompokId", "id", ""},
	})
}

func member(fields map[string]any) connectors.Record {
	return connectors.Record{ID: "m-1", UpdatedAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Fields: fields}
}

func TestMapMembers(t *testing.T) {
	m, err := New(membersMapping(t), []string{"national_id"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Map(member(map[string]any{
		"full_name": "BAPAK BUDI SANTOSO, S.KOM.", "email": "  Budi.Santoso@Mail.ID ",
		"phone": "0812-3456-7890", "position": "ketum", "city": "kab. bandung",
		"organization_id": "org-7", "national_id": "3273012345670001",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"name":       map[string]any{"firstName": "Budi", "lastName": "Santoso"},
		"emails":     map[string]any{"primaryEmail": "budi.santoso@mail.id"},
		"phones":     map[string]any{"primaryPhoneNumber": "81234567890", "primaryPhoneCountryCode": "ID", "primaryPhoneCallingCode": "+62"},
		"jobTitle":   "Ketua Umum",
		"city":       "Kabupaten Bandung",
		"companyId":  functions.Ref{Pipeline: "organizations", Key: "org-7"},
		"kelompokId": "m-1",
	}
	if !Equal(got, want) {
		t.Fatalf("Map =\n%v\nwant\n%v", got, want)
	}
	if _, ok := got["companyId"].(functions.Ref); !ok {
		t.Errorf("companyId is %T, want functions.Ref for the engine to resolve", got["companyId"])
	}
}

func TestMapNullsAndWhen(t *testing.T) {
	m, err := New(membersMapping(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Map(member(map[string]any{
		"full_name": "Sukarno", "email": nil, "phone": "   ", "position": nil, "city": nil, "organization_id": nil,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["phones"]; ok {
		t.Errorf("phones mapped although the phone is blank: %v", got["phones"])
	}
	for path, want := range map[string]any{"name.firstName": "Sukarno", "name.lastName": "", "emails.primaryEmail": nil, "jobTitle": nil, "companyId": nil} {
		v, ok := Get(got, path)
		if !ok || v != want {
			t.Errorf("%s = %#v (present %v), want %#v", path, v, ok, want)
		}
	}
}

func TestMapRejects(t *testing.T) {
	m, err := New(membersMapping(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Map(member(map[string]any{"full_name": "Budi", "email": "budi at mail", "phone": "0812"}))
	var rej *RejectError
	if !errors.As(err, &rej) {
		t.Fatalf("error %v (%T), want *RejectError", err, err)
	}
	msg := err.Error()
	for _, want := range []string{
		`emails.primaryEmail: email: "budi at mail" is not an email address (missing @)`,
		`phones.primaryPhoneNumber: phone: "0812" is too short to be a phone number`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("reason %q lacks %q", msg, want)
		}
	}
	var ne *normalize.Error
	if !errors.As(rej.Fields[0], &ne) {
		t.Errorf("field error does not unwrap to *normalize.Error")
	}
}

func TestSensitiveFields(t *testing.T) {
	// An expression that maps a sensitive field out is refused.
	_, err := New(mappingOf(t, [][3]string{{"nik", `"NIK " + national_id`, ""}}), []string{"national_id"})
	if err == nil || !strings.Contains(err.Error(), "reads sensitive field national_id") {
		t.Fatalf("New accepted a mapping of a sensitive field: %v", err)
	}
	// So is one that reaches it through $env.
	if _, err := New(mappingOf(t, [][3]string{{"nik", `$env["national_id"]`, ""}}), []string{"national_id"}); err == nil {
		t.Fatal("New accepted a mapping that reads a sensitive field through $env")
	}
	// A condition may test it, and its errors never show the value.
	m, err := New(mappingOf(t, [][3]string{{"hasNik", "true", `email(national_id) != nil`}}), []string{"national_id"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Map(member(map[string]any{"national_id": "3273 0123 4567 0001"}))
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "3273") || !strings.Contains(err.Error(), `shaped "9999 9999 9999 9999"`) {
		t.Fatalf("reason shows the sensitive value or no shape: %v", err)
	}
	if errors.As(err, new(*normalize.Error)) {
		t.Fatal("a sensitive field's error unwraps to the value-bearing *normalize.Error")
	}
}

func TestMapExprErrors(t *testing.T) {
	m, err := New(mappingOf(t, [][3]string{{"n", `int(full_name) + 1`, ""}, {"ok", `"x"`, ""}}), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Map(member(map[string]any{"full_name": "abc"}))
	if err == nil || !strings.HasPrefix(err.Error(), "n: ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q, want one line starting with the target", err)
	}
}

func TestNewRefusesUncompiledAndDuplicates(t *testing.T) {
	if _, err := New(&config.Mapping{Fields: []config.FieldMapping{{Target: "a", Expr: "1"}}}, nil); err == nil {
		t.Error("accepted an uncompiled field")
	}
	if _, err := New(mappingOf(t, [][3]string{{"a", "1", ""}, {"a", "2", ""}}), nil); err == nil {
		t.Error("accepted a target mapped twice")
	}
	if _, err := New(nil, nil); err == nil {
		t.Error("accepted a nil mapping")
	}
}

func TestFilter(t *testing.T) {
	prog := compile(t, `!deleted && email != nil && id != "skip"`, true).Program
	f := NewFilter(prog, []string{"national_id"})
	for _, tc := range []struct {
		rec  connectors.Record
		want bool
	}{
		{connectors.Record{ID: "a", Fields: map[string]any{"email": "x@y.z"}}, true},
		{connectors.Record{ID: "a", Deleted: true, Fields: map[string]any{"email": "x@y.z"}}, false},
		{connectors.Record{ID: "skip", Fields: map[string]any{"email": "x@y.z"}}, false},
		{connectors.Record{ID: "a", Fields: map[string]any{"email": nil}}, false},
	} {
		got, err := f.Keep(tc.rec)
		if err != nil || got != tc.want {
			t.Errorf("Keep(%+v) = %v, %v; want %v", tc.rec, got, err, tc.want)
		}
	}
	if ok, err := NewFilter(nil, nil).Keep(connectors.Record{}); !ok || err != nil {
		t.Errorf("nil filter = %v, %v; want pass", ok, err)
	}
}

// A filter may test a sensitive field; its errors, whatever function or
// operation fails, never show the value and say why they do not, as a
// `when` condition's do.
func TestFilterErrorOfSensitiveFieldIsWithheld(t *testing.T) {
	const nik = "TOPSECRET-NIK"
	rec := connectors.Record{ID: "k1", Fields: map[string]any{"national_id": nik, "email": "x@y.z"}}
	for _, src := range []string{
		`int(national_id) > 0`,
		`float(national_id) > 0`,
		`date(national_id) > now()`,
		`$env["national_id"] != nil && int($env["national_id"]) > 0`,
	} {
		_, err := NewFilter(compile(t, src, true).Program, []string{"national_id"}).Keep(rec)
		if err == nil {
			t.Fatalf("%s: no error", src)
		}
		if strings.Contains(err.Error(), nik) || !strings.Contains(err.Error(), "details withheld because it reads sensitive field national_id") {
			t.Errorf("%s: reason %q shows the value or does not say it is withheld", src, err)
		}
		// The same condition as a mapping's `when` gives the same reason.
		m, err2 := New(mappingOf(t, [][3]string{{"x", "1", src}}), []string{"national_id"})
		if err2 != nil {
			t.Fatal(err2)
		}
		if _, err2 = m.Map(rec); err2 == nil || !strings.HasSuffix(err2.Error(), strings.TrimPrefix(err.Error(), "filter: ")) {
			t.Errorf("%s: filter says %q, when says %v", src, err, err2)
		}
	}
	// A value a function refuses is described by its shape.
	_, err := NewFilter(compile(t, `email(national_id) != nil`, true).Program, []string{"national_id"}).Keep(connectors.Record{Fields: map[string]any{"national_id": "3273 0123"}})
	if err == nil || strings.Contains(err.Error(), "3273") {
		t.Errorf("filter error %v: want one without the value", err)
	}
	// A field that is not sensitive is shown, as in a mapping.
	_, err = NewFilter(compile(t, `int(city) > 0`, true).Program, []string{"national_id"}).Keep(connectors.Record{Fields: map[string]any{"city": "Bandung"}})
	if err == nil || !strings.Contains(err.Error(), "Bandung") {
		t.Errorf("filter error %v: want the expression's message", err)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	m, err := New(membersMapping(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		c := m.Clone()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				name := []string{"Budi Santoso", "Siti Aminah"}[(w+i)%2]
				got, err := c.Map(member(map[string]any{"full_name": name, "email": "a@b.id"}))
				if err != nil {
					t.Error(err)
					return
				}
				if v, _ := Get(got, "name.lastName"); v != strings.Fields(name)[1] {
					t.Errorf("worker %d: lastName %v for %q", w, v, name)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestWarningsForUnknownSDGTags(t *testing.T) {
	m, err := New(mappingOf(t, [][3]string{{"sdgTags", "sdg(sdg_tags)", ""}, {"other", `sdg(["x"])`, ""}}), nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Map(member(map[string]any{"sdg_tags": []any{"SDG 4", "lingkungan", "Quality Education", "99"}}))
	if err != nil {
		t.Fatal(err)
	}
	if !Equal(out["sdgTags"], []any{"SDG-04"}) {
		t.Errorf("sdgTags = %v", out["sdgTags"])
	}
	want := `sdgTags: unknown SDG tags left out: "lingkungan", "99"`
	if w := m.Warnings(); len(w) != 1 || w[0] != want {
		t.Errorf("Warnings() = %q, want [%q]", w, want)
	}
	if _, err := m.Map(member(map[string]any{"sdg_tags": []any{"SDG 4"}})); err != nil || len(m.Warnings()) != 0 {
		t.Errorf("warnings not reset: %q, %v", m.Warnings(), err)
	}
}

// TestShippedOrganizationsMapping maps through the shipped organizations
// pipeline as config.Load compiles it.
func TestShippedOrganizationsMapping(t *testing.T) {
	cfg, err := config.Load(context.Background(), filepath.Join("..", "..", "pipelines"))
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Pipelines["organizations"]
	m, err := New(p.Push, p.Sensitive)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Map(connectors.Record{ID: "o-1", Fields: map[string]any{
		"name": "Yayasan Maju", "website": "Maju.or.id/", "province": "jatim", "city": "surabaya",
		"sdg_tags": []any{"4", "lingkungan"}, "claimed_by": "m-1",
	}})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]any{"domainName.primaryLinkUrl": "https://maju.or.id", "address.addressState": "Jawa Timur", "address.addressCity": "Kota Surabaya", "sdgTags": []any{"SDG-04"}} {
		if got, _ := Get(out, path); !Equal(got, want) {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if w := m.Warnings(); len(w) != 1 || !strings.Contains(w[0], `"lingkungan"`) {
		t.Errorf("Warnings() = %q", w)
	}
	if _, ok := Get(out, "claimedBy"); ok {
		t.Error("the sensitive claimant was mapped")
	}
}

// TestMapSharedWhen checks that fields sharing a `when` condition (it runs
// once per record) each get its outcome: left out, mapped, or rejected.
func TestMapSharedWhen(t *testing.T) {
	m, err := New(mappingOf(t, [][3]string{
		{"a", `"A"`, `email(email) != nil`},
		{"b", `"B"`, `email(email) != nil`},
		{"c", `"C"`, `email(email) == nil`},
		{"d", `"D"`, `email(email) != nil`},
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Map(member(map[string]any{"email": "budi@mail.id"}))
	if err != nil || len(got) != 3 || got["a"] != "A" || got["b"] != "B" || got["d"] != "D" {
		t.Fatalf("Map = %v, %v; want a, b and d", got, err)
	}
	got, err = m.Map(member(map[string]any{"email": nil}))
	if err != nil || len(got) != 1 || got["c"] != "C" {
		t.Fatalf("Map = %v, %v; want c only", got, err)
	}
	_, err = m.Map(member(map[string]any{"email": "budi at mail"}))
	var rej *RejectError
	if !errors.As(err, &rej) || len(rej.Fields) != 4 {
		t.Fatalf("Map error %v, want all four fields rejected", err)
	}
	for _, f := range rej.Fields {
		if !strings.HasPrefix(f.Reason, `when: email: "budi at mail" is not an email address`) {
			t.Errorf("%s: reason %q", f.Target, f.Reason)
		}
	}
}

// TestMapEnvPerRecord checks that the environment holds each record's own
// values: a field absent from a record is NULL, not the previous record's,
// and $env sees every field.
func TestMapEnvPerRecord(t *testing.T) {
	m, err := New(mappingOf(t, [][3]string{{"city", "city(city)", ""}, {"id", "id", ""}}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.Map(member(map[string]any{"city": "surabaya"})); err != nil || got["city"] != "Kota Surabaya" || got["id"] != "m-1" {
		t.Fatalf("Map = %v, %v", got, err)
	}
	rec := member(map[string]any{"full_name": "Budi"})
	rec.ID = "m-2"
	if got, err := m.Map(rec); err != nil || got["city"] != nil || got["id"] != "m-2" {
		t.Fatalf("Map = %v, %v; want a NULL city and id m-2", got, err)
	}
	rec = member(map[string]any{"id": "own"})
	if got, err := m.Map(rec); err != nil || got["id"] != "own" {
		t.Fatalf("Map = %v, %v; want the record's own id field", got, err)
	}
	all, err := New(mappingOf(t, [][3]string{{"n", `len($env)`, ""}, {"p", `$env["province"]`, ""}}), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := all.Map(member(map[string]any{"province": "Jawa Barat", "city": "Bandung"}))
	if err != nil || got["p"] != "Jawa Barat" || got["n"] != 5 { // two fields, id, updatedAt, deleted
		t.Fatalf("Map = %v, %v; want $env with every field", got, err)
	}
}

// TestMapNestedTargets checks that nested targets come out as Set builds
// them, whether a first segment has only two-segment targets (filled through
// one nested map per record) or also a deeper or a plain one.
func TestMapNestedTargets(t *testing.T) {
	fields := [][3]string{
		{"name.firstName", `"Budi"`, ""}, {"x", `1`, ""}, {"name.lastName", `"Santoso"`, ""},
		{"p", `"plain"`, ""}, {"p.q", `"nested"`, ""},
		{"d.e.f", `"deep"`, ""}, {"d.g", `"shallow"`, ""},
		{"h.i", `"skipped"`, "false"}, {"j.k", `nil`, ""},
	}
	m, err := New(mappingOf(t, fields), nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second record reuses the Mapper's state
		got, err := m.Map(member(map[string]any{}))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{}
		for _, f := range fields {
			if f[2] == "false" {
				continue
			}
			v, err := expr.Eval(f[1], nil)
			if err != nil {
				t.Fatal(err)
			}
			Set(want, f[0], v)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Map =\n%v\nwant\n%v", got, want)
		}
		if _, ok := got["h"]; ok {
			t.Errorf("h is present although its only field's when is false: %v", got["h"])
		}
	}
}
