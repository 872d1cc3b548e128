package schemas_test

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kelompok/pipe/schemas"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md")

func TestConfigurationReferenceIsCurrent(t *testing.T) {
	got, err := schemas.Reference()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "docs", "configuration.md")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Fatalf("%s is stale: run `go generate ./schemas` and commit it", path)
	}
}

// TestEverySchemaFieldIsDocumented fails when a field of a schema has no
// comment, so the generated reference never has an undocumented field.
func TestEverySchemaFieldIsDocumented(t *testing.T) {
	ref, err := schemas.Reference()
	if err != nil {
		t.Fatal(err)
	}
	undocumented := regexp.MustCompile("(?m)^\\s*- `[^`]+`: `[^`]*`$")
	if m := undocumented.FindAllString(ref, -1); len(m) > 0 {
		t.Errorf("schema fields without a doc comment:\n%s", strings.Join(m, "\n"))
	}
}

func TestTwentyCatalog(t *testing.T) {
	c := schemas.Twenty()
	fields, ok := c.StreamFields("people", map[string]string{"kelompokId": "TEXT"})
	if !ok {
		t.Fatal("people not in the catalog")
	}
	name, ok := fields["name"].(map[string]any)
	if !ok || name["firstName"] != schemas.TypeString || name["lastName"] != schemas.TypeString {
		t.Errorf("people.name = %#v, want the FULL_NAME composite", fields["name"])
	}
	if fields["kelompokId"] != schemas.TypeString || fields["updatedAt"] != schemas.TypeTime {
		t.Errorf("custom or common fields missing: %#v", fields)
	}
	if got := c.FieldType("companies", "domainName"); got != "LINKS" {
		t.Errorf("companies.domainName = %q, want LINKS", got)
	}
	if _, ok := c.StreamFields("persons", nil); ok {
		t.Error("persons (a singular misspelling) should not be in the catalog")
	}
	for _, plural := range []string{"people", "companies", "opportunities", "notes", "tasks", "noteTargets", "taskTargets"} {
		if _, ok := c.Object(plural); !ok {
			t.Errorf("catalog lacks %s", plural)
		}
	}
}

func TestReferenceRendersDefinitionsAsWritten(t *testing.T) {
	ref, err := schemas.Reference()
	if err != nil {
		t.Fatal(err)
	}
	// A disjunction of structs keeps its lines and comments.
	if !strings.Contains(ref, "```cue\n#Secret: {\n\t// vault names a key of a Vault KV secret.\n") {
		t.Error("#Secret is not rendered as a CUE block with its comments")
	}
	for i, line := range strings.Split(ref, "\n") {
		if strings.HasPrefix(line, "`") && strings.Contains(line, " // ") {
			t.Errorf("line %d squeezes comments into inline code: %.80s", i+1, line)
		}
	}
}
