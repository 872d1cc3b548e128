package normalize

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
)

// Email normalizes an e-mail address: trimmed, "mailto:" and a display name
// ("Budi <budi@mail.id>") removed, spaces around the @ removed, a trailing
// dot or comma dropped, and lower-cased (Twenty stores e-mails lower-cased,
// and Kelompok's are not case-sensitive in practice). It returns "" for an
// empty or blank input, and an *Error naming the problem for anything that is
// not an address: `email: "budi at mail" is not an email address (missing @)`.
func Email(s string) (string, error) {
	in := s
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > 7 && strings.EqualFold(s[:7], "mailto:") {
		s = strings.TrimSpace(s[7:])
	}
	if strings.ContainsRune(s, '<') && strings.HasSuffix(s, ">") {
		if a, err := mail.ParseAddress(s); err == nil {
			s = a.Address
		}
	}
	s = strings.TrimRight(s, ".,; ")
	if at := strings.IndexByte(s, '@'); at > 0 && at < len(s)-1 && (s[at-1] == ' ' || s[at+1] == ' ') {
		s = strings.TrimSpace(s[:at]) + "@" + strings.TrimSpace(s[at+1:])
	}
	s = strings.ToLower(s)
	if p := emailProblem(s); p != "" {
		return "", &Error{Func: "email", Value: in, Problem: "is not an email address (" + p + ")"}
	}
	return s, nil
}

func emailProblem(s string) string {
	at := strings.IndexByte(s, '@')
	switch {
	case at < 0:
		return "missing @"
	case strings.Count(s, "@") > 1:
		return "more than one @"
	case len(s) > 254:
		return "longer than 254 characters"
	}
	local, domain := s[:at], s[at+1:]
	switch {
	case local == "":
		return "nothing before @"
	case domain == "":
		return "nothing after @"
	case len(local) > 64:
		return "part before @ longer than 64 characters"
	case local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, ".."):
		return "misplaced dot before @"
	case !strings.Contains(domain, "."):
		return "domain has no dot"
	case domain[0] == '.' || domain[0] == '-' || strings.Contains(domain, "..") || strings.Contains(domain, ".-") || strings.Contains(domain, "-."):
		return "misplaced dot or hyphen in domain"
	}
	for _, r := range local {
		if unicode.IsSpace(r) {
			return "contains a space"
		}
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(".!#$%&'*+/=?^_`{|}~-", r)) {
			return fmt.Sprintf("character %q not allowed", r)
		}
	}
	for _, r := range domain {
		if unicode.IsSpace(r) {
			return "contains a space"
		}
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-') {
			return fmt.Sprintf("character %q not allowed in domain", r)
		}
	}
	tld := domain[strings.LastIndexByte(domain, '.')+1:]
	for _, r := range tld {
		if unicode.IsDigit(r) {
			return "domain does not end in a name"
		}
	}
	return ""
}
