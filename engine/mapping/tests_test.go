package mapping

import (
	"strings"
	"testing"

	"github.com/expr-lang/expr"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/engine/functions"
)

func TestRunTest(t *testing.T) {
	p := &config.Pipeline{
		Name:      "members",
		Push:      membersMapping(t),
		Pull:      peopleMapping(t),
		Sensitive: []string{"national_id"},
	}
	p.Filter.SourceProgram = compile(t, `full_name != "skip"`, true).Program
	tests := []struct {
		name     string
		test     config.Test
		failures []string // substrings, one per expected failure
	}{
		{"expect matches", config.Test{
			Input:  map[string]any{"id": "m-9", "full_name": "BUDI SANTOSO", "email": " Budi@Mail.ID", "phone": "0812-3456-7890"},
			Expect: map[string]any{"name.firstName": "Budi", "name": map[string]any{"lastName": "Santoso"}, "phones.primaryPhoneCallingCode": "+62", "kelompokId": "m-9", "jobTitle": nil},
		}, nil},
		{"expect differs", config.Test{
			Input:  map[string]any{"full_name": "Budi Santoso", "email": "budi@mail.id"},
			Expect: map[string]any{"name.firstName": "Budi S", "phones.primaryPhoneNumber": "81234567890"},
		}, []string{`name.firstName: got "Budi", want "Budi S"`, `phones.primaryPhoneNumber: not mapped, want "81234567890"`}},
		{"reject expected", config.Test{
			Input:  map[string]any{"full_name": "Budi", "email": "budi at mail"},
			Reject: "missing @",
		}, nil},
		{"reject with another reason", config.Test{
			Input:  map[string]any{"full_name": "Budi", "email": "budi@@mail.id"},
			Reject: "missing @",
		}, []string{`want a reason containing "missing @"`}},
		{"unexpected reject", config.Test{
			Input:  map[string]any{"full_name": "Budi", "email": "budi at mail"},
			Expect: map[string]any{"name.firstName": "Budi"},
		}, []string{`rejected: emails.primaryEmail: email: "budi at mail"`}},
		{"reject expected but mapped", config.Test{
			Input:  map[string]any{"full_name": "Budi", "email": "budi@mail.id"},
			Reject: "missing @",
		}, []string{"mapped without rejection"}},
		{"filtered out", config.Test{
			Input:  map[string]any{"full_name": "skip"},
			Expect: map[string]any{"name.firstName": "skip"},
		}, []string{"the source filter drops this record"}},
		{"pull", config.Test{
			Direction: config.Pull,
			Input:     map[string]any{"name": map[string]any{"firstName": "Siti"}},
			Expect:    map[string]any{"full_name": "Siti"},
		}, nil},
		{"bad input", config.Test{
			Input: map[string]any{"id": 7.0},
		}, []string{"input: id is float64"}},
	}
	for _, tc := range tests {
		tc.test.Name = tc.name
		res := RunTest(p, tc.test)
		if len(res.Failures) != len(tc.failures) {
			t.Errorf("%s: failures %q, want %d matching %q", tc.name, res.Failures, len(tc.failures), tc.failures)
			continue
		}
		for i, want := range tc.failures {
			if !strings.Contains(res.Failures[i], want) {
				t.Errorf("%s: failure %q, want one containing %q", tc.name, res.Failures[i], want)
			}
		}
		if res.Passed() != (len(tc.failures) == 0) || res.Pipeline != "members" || res.Name != tc.name {
			t.Errorf("%s: result %+v", tc.name, res)
		}
	}
}

func TestRunTestsUnknownPipeline(t *testing.T) {
	cfg := &config.Config{Pipelines: map[string]*config.Pipeline{"members": {Name: "members"}}}
	if _, err := RunTests(cfg, []string{"memberz"}); err == nil || !strings.Contains(err.Error(), `unknown pipeline "memberz": the configured ones are members`) {
		t.Fatalf("error %v", err)
	}
	if res, err := RunTests(cfg, nil); err != nil || len(res) != 0 {
		t.Fatalf("RunTests(all) = %v, %v", res, err)
	}
}

// peopleMapping is a one-field pull mapping over Twenty people.
func peopleMapping(t *testing.T) *config.Mapping {
	prog, err := functions.Default.Compile(`name.firstName`, expr.Env(map[string]any{"name": map[string]any{"firstName": ""}}))
	if err != nil {
		t.Fatal(err)
	}
	return &config.Mapping{Fields: []config.FieldMapping{{Target: "full_name", Expr: "name.firstName", Program: prog}}}
}
