package functions

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"
)

// run compiles and runs src over env with the default registry.
func run(t *testing.T, src string, env map[string]any) (any, error) {
	t.Helper()
	var opts []expr.Option
	if env != nil {
		opts = append(opts, expr.Env(env))
	}
	prog, err := Default.Compile(src, opts...)
	if err != nil {
		t.Fatalf("compile %s: %v", src, err)
	}
	return expr.Run(prog, env)
}

// TestArgumentEdges pins what the helpers and ref do at the edges of their
// arguments, which the documented examples do not reach.
func TestArgumentEdges(t *testing.T) {
	when := time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)
	tests := []struct {
		src  string
		env  map[string]any
		want any
	}{
		// ref: an empty key is no key (NULL, not a link request).
		{`ref("organizations", "")`, nil, nil},
		// ref keys are formatted without exponents or Go's time layout.
		{`ref("organizations", k)`, map[string]any{"k": 1e21}, Ref{Pipeline: "organizations", Key: "1000000000000000000000"}},
		{`ref("organizations", k)`, map[string]any{"k": when}, Ref{Pipeline: "organizations", Key: "2024-05-06T07:08:09.00000001Z"}},
		// blank input (white space only) is NULL for the string functions.
		{`email("   ")`, nil, nil},
		{`squish(" \t ")`, nil, nil},
		{`title("  ")`, nil, nil},
		// squish keeps the case; title changes it.
		{`squish("  jl.  MERDEKA ")`, nil, "jl. MERDEKA"},
		{`title("  jl.  MERDEKA ")`, nil, "Jl. Merdeka"},
		// coalesce skips NULL and blank strings but keeps other values.
		{`coalesce(nil, " ", 0, "x")`, nil, 0},
		{`coalesce()`, nil, nil},
		// nullif compares values, lists included.
		{`nullif(["a"], ["a"])`, nil, nil},
		{`nullif(["a"], ["b"])`, nil, []any{"a"}},
		{`nullif(nil, "-")`, nil, nil},
		// e164 honours its region argument.
		{`e164("6123 4567", "SG")`, nil, "+6561234567"},
		// NULL elements of a tag list are skipped, not read as "".
		{`sdg_unknown([nil, "lingkungan"])`, nil, []any{"lingkungan"}},
	}
	for _, tc := range tests {
		got, err := run(t, tc.src, tc.env)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.src, got, tc.want)
		}
	}
}

// TestRefEmptyPipeline: a key without a pipeline name is an error that says
// so, not a link request the engine cannot resolve.
func TestRefEmptyPipeline(t *testing.T) {
	got, err := run(t, `ref(p, "8f1c")`, map[string]any{"p": ""})
	if err == nil || !strings.Contains(err.Error(), "ref: the pipeline name is empty") {
		t.Fatalf("ref(\"\", key) = %#v, %v; want the error about the empty pipeline name", got, err)
	}
}

// TestArgumentErrorsNamePublicNames: argument errors of registered functions
// name them as expressions call them, never by their internal names.
func TestArgumentErrorsNamePublicNames(t *testing.T) {
	for src, want := range map[string]string{
		`nullif("a")`:           "not enough arguments to call nullif",
		`ref("p")`:              "not enough arguments to call ref",
		`ref(1, "k")`:           "cannot use int as argument (type string) to call ref",
		`squish("a", "b")`:      "too many arguments to call squish",
		`e164("0812", "ID", 1)`: "e164",
	} {
		_, err := Default.Compile(src)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), calleePrefix) {
			t.Errorf("%s: error %v, want one containing %q without %q", src, err, want, calleePrefix)
		}
	}
}

func TestRegisterNeedsFunc(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Register without a Func did not panic")
		}
	}()
	New().Register(Function{Name: "f"})
}
