// Package normalize turns messy, human-typed Indonesian contact data into the
// canonical forms pipe compares and writes: e-mail addresses, phone numbers
// (E.164 and Twenty's split form), person names, jabatan (positions in an
// organization), SDG tags, provinces, cities, domains and URLs.
//
// Every normalizer is a pure function: no I/O, no global state that changes
// results, safe for concurrent use. Every normalizer is idempotent: applying
// it to its own output returns that output unchanged, so a value that has
// been normalized once compares equal to itself on every later run (the fuzz
// tests check this).
//
// Normalizers that can refuse a value (Email, Phone) return an *Error, whose
// message names the problem and shows the value; Error.Redacted gives the same
// message with the value replaced by its shape, for sensitive fields.
// Normalizers for free text (Position, Province, City) never refuse: values
// they do not recognise pass through trimmed, with whitespace collapsed.
package normalize

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error is a value a normalizer refused.
type Error struct {
	// Func is the normalizer's name: "email", "phone", ...
	Func string
	// Value is the value as given.
	Value string
	// Problem says what is wrong, e.g. "is not an email address (missing @)".
	Problem string
}

// Error returns `email: "budi at mail" is not an email address (missing @)`.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %q %s", e.Func, e.Value, e.Problem)
}

// Redacted returns the message without the value: only its length and shape
// (letters as a or A, digits as 9, other characters kept), e.g.
// `email: value of 12 characters shaped "aaaa aa aaaa" is not an email address (missing @)`.
// Use it for sensitive fields.
func (e *Error) Redacted() string {
	return fmt.Sprintf("%s: value of %d characters shaped %q %s",
		e.Func, utf8.RuneCountInString(e.Value), Shape(e.Value), e.Problem)
}

// Shape replaces every letter of s by a (lower case) or A (other letters),
// every digit by 9, and keeps every other character, so that a message can
// describe a value without revealing it: Shape("Budi 0812") is "Aaaa 9999".
// Shapes longer than 64 characters are cut and end in "...".
func Shape(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == 64 {
			b.WriteString("...")
			break
		}
		n++
		switch {
		case unicode.IsLower(r):
			b.WriteByte('a')
		case unicode.IsLetter(r):
			b.WriteByte('A')
		case unicode.IsDigit(r):
			b.WriteByte('9')
		case r == utf8.RuneError:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Squish trims s and collapses every run of white space (spaces, tabs, new
// lines, non-breaking spaces) into one space.
func Squish(s string) string {
	if isSquished(s) {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

func isSquished(s string) bool {
	prevSpace := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return false
		}
		sp := c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
		if sp && (prevSpace || c != ' ') {
			return false
		}
		prevSpace = sp
	}
	return !prevSpace || s == ""
}

// Title upper-cases the first letter of every word of s and lower-cases the
// others, after Squish. Words are separated by spaces, hyphens, apostrophes,
// dots, slashes and parentheses: Title("JAWA BARAT") is "Jawa Barat",
// Title("o'neil") is "O'Neil".
func Title(s string) string { return titleCase(Squish(s)) }

// titleCase is Title without the Squish: for a word, or text already
// squished.
func titleCase(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	start := true
	for _, r := range s {
		if isWordSep(r) {
			start = true
			b.WriteRune(r)
			continue
		}
		if start {
			b.WriteRune(upper(r))
			start = false
		} else {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// upper is unicode.ToUpper, except for letters whose upper case does not turn
// back into them with ToLower (such as 'ß' or 'ı'), which are kept, so that
// Title stays idempotent.
func upper(r rune) rune {
	u := unicode.ToUpper(r)
	if unicode.ToLower(u) != unicode.ToLower(r) {
		return r
	}
	return u
}

func isWordSep(r rune) bool {
	switch r {
	case ' ', '-', '\'', '.', '/', '(', ')', ',', '&', '"':
		return true
	}
	return false
}

// caseOf reports whether s has upper-case and lower-case letters.
func caseOf(s string) (hasUpper, hasLower bool) {
	for _, r := range s {
		if unicode.IsUpper(r) {
			hasUpper = true
		} else if unicode.IsLower(r) {
			hasLower = true
		}
	}
	return
}

// key folds s for look-ups: lower case, every character that is not a letter
// or digit becomes a space, runs of spaces collapse, trimmed.
func key(s string) string {
	var buf [64]byte
	b, _ := appendKey(buf[:0], true, s, false)
	return string(trimKey(b))
}

// appendKey appends s folded as key does to the key being built in b; space
// says that b ends in a space or is empty (start with true), and is
// returned updated. With dropDots the dots of s are skipped, as if removed
// first. Building into a buffer on the caller's stack does not allocate.
func appendKey(b []byte, space bool, s string, dropDots bool) ([]byte, bool) {
	for _, r := range s {
		switch {
		case r == '.' && dropDots:
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			b = append(b, byte(r))
			space = false
		case 'A' <= r && r <= 'Z':
			b = append(b, byte(r)+'a'-'A')
			space = false
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b = utf8.AppendRune(b, unicode.ToLower(r))
			space = false
		case !space:
			b = append(b, ' ')
			space = true
		}
	}
	return b, space
}

// appendKeys appends the words folded as key folds them joined by spaces.
func appendKeys(b []byte, words []string, dropDots bool) []byte {
	space := true
	for i, w := range words {
		if i > 0 && !space {
			b, space = append(b, ' '), true
		}
		b, space = appendKey(b, space, w, dropDots)
	}
	return trimKey(b)
}

// trimKey drops the trailing space of a key being built.
func trimKey(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == ' ' {
		return b[:n-1]
	}
	return b
}
