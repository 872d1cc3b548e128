package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Error is one problem in a configuration directory.
type Error struct {
	// Pos is where the problem is. Pos.File is the file's path as given to
	// Load joined with its name (e.g. "pipelines/members.cue"); Line and
	// Column are 0 when the problem has no place in a file (an empty
	// directory).
	Pos Pos `json:"pos"`
	// Path is the CUE path of the value concerned, e.g.
	// `pipelines.members.push."name.firstName"` ("" for a whole file).
	Path string `json:"path,omitempty"`
	// Msg says what is wrong and what to do about it.
	Msg string `json:"message"`
}

// Error formats the error as "file:line:col: path: message".
func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Message is the error without its position: "path: message".
func (e Error) Message() string {
	if e.Path != "" {
		return e.Path + ": " + e.Msg
	}
	return e.Msg
}

// String formats the position as "file:line:col" ("file" alone when the
// position has no line).
func (p Pos) String() string {
	switch {
	case p.File == "":
		return ""
	case p.Line == 0:
		return p.File
	case p.Column == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Errors is every problem Load found, sorted by position. It is the error
// type Load returns; use errors.As to get at the list.
type Errors []Error

// Error joins the errors, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// GitHub formats the errors as GitHub Actions workflow commands
// ("::error file=...,line=...,col=...::message"), one per line.
func (es Errors) GitHub() string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString("::error ")
		var props []string
		if e.Pos.File != "" {
			props = append(props, "file="+escapeProperty(e.Pos.File))
		}
		if e.Pos.Line > 0 {
			props = append(props, "line="+strconv.Itoa(e.Pos.Line))
		}
		if e.Pos.Column > 0 {
			props = append(props, "col="+strconv.Itoa(e.Pos.Column))
		}
		props = append(props, "title=pipe validate")
		b.WriteString(strings.Join(props, ","))
		b.WriteString("::")
		b.WriteString(escapeData(e.Message()))
		b.WriteString("\n")
	}
	return b.String()
}

func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// sortErrors sorts by file, line, column, then message, and drops exact
// duplicates.
func sortErrors(es Errors) Errors {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Column != b.Pos.Column {
			return a.Pos.Column < b.Pos.Column
		}
		return a.Message() < b.Message()
	})
	out := es[:0]
	for i, e := range es {
		if i > 0 && e == es[i-1] {
			continue
		}
		out = append(out, e)
	}
	return out
}

// formatPath renders CUE path segments, quoting those that are not
// identifiers: pipelines.members.push."name.firstName".
func formatPath(segs []string) string {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 {
			b.WriteByte('.')
		}
		if isIdent(s) || isIndex(s) {
			b.WriteString(s)
		} else {
			b.WriteString(strconv.Quote(s))
		}
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r == '#' && i == 0 || r == '$':
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
