package schemas

import "testing"

func TestMarkdownDocFencesIndentedLines(t *testing.T) {
	got := markdownDoc("Write one of:\n  {env: X}   a variable\n  {file: P}   a file\nThen more.")
	want := "Write one of:\n\n```\n{env: X}   a variable\n{file: P}   a file\n```\n\nThen more."
	if got != want {
		t.Errorf("markdownDoc =\n%s\nwant\n%s", got, want)
	}
	if got := markdownDoc("plain\ntext"); got != "plain\ntext" {
		t.Errorf("unindented doc changed: %q", got)
	}
}
