package normalize

import (
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region assumed for phone numbers written without a
// country code.
const DefaultRegion = "ID"

// Phone is a parsed phone number, in the forms Twenty's PHONES fields use.
type Phone struct {
	// E164 is the number in E.164 form: "+6281234567890".
	E164 string
	// Number is the national significant number, without trunk prefix:
	// "81234567890" (Twenty's primaryPhoneNumber).
	Number string
	// CountryCode is the ISO 3166-1 region of the number: "ID" (Twenty's
	// primaryPhoneCountryCode).
	CountryCode string
	// CallingCode is the international calling code with its plus: "+62"
	// (Twenty's primaryPhoneCallingCode).
	CallingCode string
}

// ParsePhone parses a phone number as people type it, with libphonenumber's
// rules (github.com/nyaruka/phonenumbers) for region (DefaultRegion when ""):
// "0812-3456-7890", "+62 812 3456 7890", "62812...", "812...", with spaces,
// dashes, dots or parentheses, all give +6281234567890. When the input holds
// several numbers separated by "/", "," or ";", the first is used. An empty
// input gives the zero Phone and no error; anything else that is not a valid
// number gives an *Error: `phone: "0812" is too short to be a phone number`.
//
// An Indonesian number written with digits and separators only costs about
// a microsecond (parseIndonesianDigits); anything else goes through
// libphonenumber's Parse, about ten. Callers that see the same numbers
// again (package functions) remember results themselves.
func ParsePhone(s, region string) (Phone, error) {
	if region == "" {
		region = DefaultRegion
	}
	return parsePhone(s, strings.ToUpper(region))
}

// E164 returns ParsePhone(s, region).E164.
func E164(s, region string) (string, error) {
	p, err := ParsePhone(s, region)
	return p.E164, err
}

// phoneText is the part of in that is parsed: trimmed, and the first of
// several numbers separated by "/", "," or ";".
func phoneText(in string) string {
	s := strings.TrimSpace(in)
	if i := strings.IndexAny(s, "/,;"); i > 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// parseProblem says why libphonenumber's Parse refused a number.
func parseProblem(err error) string {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return "has an unknown country code"
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return "is too short to be a phone number"
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return "is too long to be a phone number"
	}
	return "is not a phone number"
}

// invalidProblem says why a parsed number that is not valid for region is
// refused.
func invalidProblem(n *phonenumbers.PhoneNumber, region string) string {
	switch phonenumbers.IsPossibleNumberWithReason(n) {
	case phonenumbers.TOO_SHORT:
		return "is too short to be a phone number"
	case phonenumbers.TOO_LONG:
		return "is too long to be a phone number"
	}
	return "is not a valid phone number for " + region
}

func parsePhone(in, region string) (Phone, error) {
	s := phoneText(in)
	if s == "" {
		return Phone{}, nil
	}
	fail := func(problem string) (Phone, error) {
		return Phone{}, &Error{Func: "phone", Value: in, Problem: problem}
	}
	s = compactPhone(s)
	if region == "ID" {
		if p, ok := parseIndonesianDigits(s); ok {
			return p, nil
		}
	}
	n, err := phonenumbers.Parse(s, region)
	if err != nil {
		return fail(parseProblem(err))
	}
	// IsValidNumber(n) is IsValidNumberForRegion(n, GetRegionCodeForNumber(n));
	// the region is needed for the result anyway.
	regionOf := phonenumbers.GetRegionCodeForNumber(n)
	if !phonenumbers.IsValidNumberForRegion(n, regionOf) {
		return fail(invalidProblem(n, region))
	}
	// Format(n, E164) is "+", the calling code and the national significant
	// number (a parsed number never keeps its raw input): build it once and
	// take the other two forms from it.
	var buf [32]byte
	b := strconv.AppendInt(append(buf[:0], '+'), int64(n.GetCountryCode()), 10)
	calling := len(b)
	e164 := string(append(b, phonenumbers.GetNationalSignificantNumber(n)...))
	return Phone{
		E164:        e164,
		Number:      e164[calling:],
		CountryCode: regionOf,
		CallingCode: e164[:calling],
	}, nil
}

// compactPhone removes the spaces, dashes, dots and parentheses between the
// digits of s when s holds nothing else but ASCII digits (at least three)
// and a leading "+": "0812-3456-7890" gives "081234567890". libphonenumber
// ignores these characters in such input but runs its regular expressions
// (the extension pattern above all) over every byte, so the shorter string
// parses to the same number faster. Anything else (letters, other
// separators, other digits, fewer than three digits, which libphonenumber
// judges by its punctuation) is returned unchanged.
func compactPhone(s string) string {
	if len(s) > phonenumbers.MAX_INPUT_STRING_LENGTH {
		return s
	}
	digits, seps := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' && i == 0:
		case c == ' ', c == '-', c == '.', c == '(', c == ')':
			seps++
		default:
			return s
		}
	}
	if seps == 0 || digits < 3 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) - seps)
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c >= '0' && c <= '9') || c == '+' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// indonesia is what parseIndonesianDigits reads of libphonenumber's
// metadata for region ID, with its patterns compiled once: the general
// description and the description of every number type, each anchored at
// both ends as the library anchors it. nil when the metadata differs from
// what the shortcut's steps assume (then every input takes the full parse).
var indonesia = sync.OnceValue(func() *phoneRegion {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return nil
	}
	for _, m := range coll.GetMetadata() {
		if m.GetId() != "ID" {
			continue
		}
		if m.GetCountryCode() != 62 || m.GetNationalPrefixForParsing() != "0" ||
			m.GetNationalPrefixTransformRule() != "" || m.GetInternationalPrefix() != "00[89]" {
			return nil
		}
		return newPhoneRegion(m)
	}
	return nil
})

// newPhoneRegion compiles a region's number descriptions.
func newPhoneRegion(m *phonenumbers.PhoneMetadata) *phoneRegion {
	r := &phoneRegion{general: newNumberDesc(m.GetGeneralDesc())}
	// The order getNumberTypeHelper tries them in does not change whether
	// one matches, so the common ones come first. When mobile and fixed-line
	// numbers share a pattern, the library tries only the fixed-line one.
	descs := []*phonenumbers.PhoneNumberDesc{m.GetMobile(), m.GetFixedLine()}
	if m.GetSameMobileAndFixedLinePattern() {
		descs = descs[1:]
	}
	descs = append(descs, m.GetPremiumRate(), m.GetTollFree(), m.GetSharedCost(), m.GetVoip(),
		m.GetPersonalNumber(), m.GetPager(), m.GetUan(), m.GetVoicemail())
	for _, d := range descs {
		if d.GetNationalNumberPattern() != "" {
			r.types = append(r.types, newNumberDesc(d))
		}
	}
	return r
}

// phoneRegion is a region's number descriptions from libphonenumber's
// metadata.
type phoneRegion struct {
	general numberDesc
	types   []numberDesc
}

// valid is phonenumbers.IsValidNumberForRegion for a national significant
// number of the region's calling code: it matches the general description
// and the description of some number type.
func (r *phoneRegion) valid(national string) bool {
	if !r.general.matches(national) {
		return false
	}
	for _, d := range r.types {
		if d.matches(national) {
			return true
		}
	}
	return false
}

// numberDesc is a phonenumbers.PhoneNumberDesc with its pattern compiled.
type numberDesc struct {
	lengths []int32
	pattern *regexp.Regexp
}

func newNumberDesc(d *phonenumbers.PhoneNumberDesc) numberDesc {
	return numberDesc{
		lengths: d.GetPossibleLength(),
		pattern: regexp.MustCompile(`^(?:` + d.GetNationalNumberPattern() + `)$`),
	}
}

// matches is libphonenumber's isNumberMatchingDesc: the length is one of
// the description's possible lengths (when it lists any) and the pattern
// matches the whole number.
func (d numberDesc) matches(national string) bool {
	if len(d.lengths) > 0 && !slices.Contains(d.lengths, int32(len(national))) {
		return false
	}
	return d.pattern.MatchString(national)
}

// parseIndonesianDigits is the shortcut for what most input is once
// compactPhone has run: digits only, perhaps after a "+", for region ID. For
// these shapes it takes the steps libphonenumber's Parse and
// IsValidNumberForRegion take with ID's metadata (calling code 62, trunk
// prefix "0" with no transform rule, international prefix "00[89]"), with
// the metadata's own patterns, but without the regular expressions Parse
// runs over every input (the extension pattern above all, which cannot
// match digits) and without the library building and looking up each
// pattern string on every call. ok is false for any other shape and for a
// number that is not valid, so the caller's full parse gives the result or
// the error text.
//
// The steps, for a national significant number N that starts with 1-9:
//
//   - "+62" N: the calling code is 62 (no calling code is "6"), N has no
//     trunk prefix to strip.
//   - "0" N: no international prefix (that is "008" or "009"), does not
//     start with "62"; "0" N never matches ID's general pattern (only
//     "00..." numbers start with 0 there), so the trunk prefix is stripped.
//   - N not starting with "62": nothing to strip.
//   - "62" M: libphonenumber strips the 62 when "62" M does not match the
//     general pattern and M does (or "62" M is longer than any ID number,
//     which never holds for a valid M), so N is M or "62" M.
//
// TestParsePhoneMatchesReference, TestIndonesianDigitsMatchParse and
// FuzzParsePhoneMatchesReference hold the shortcut to the library's calls.
func parseIndonesianDigits(s string) (Phone, bool) {
	national, plus := s, false
	if len(national) > 0 && national[0] == '+' {
		national, plus = national[1:], true
	}
	// Valid Indonesian numbers have at most 13 digits; 15 leaves room for
	// the prefixes. Longer input takes the full parse.
	if len(national) < 3 || len(national) > 15 {
		return Phone{}, false
	}
	for i := 0; i < len(national); i++ {
		if c := national[i]; c < '0' || c > '9' {
			return Phone{}, false
		}
	}
	id := indonesia()
	if id == nil {
		return Phone{}, false
	}
	switch {
	case plus:
		if !strings.HasPrefix(national, "62") {
			return Phone{}, false
		}
		national = national[2:]
	case national[0] == '0':
		national = national[1:]
	case strings.HasPrefix(national, "62"):
		if national[2] == '0' {
			return Phone{}, false
		}
		if !id.general.pattern.MatchString(national) && id.general.pattern.MatchString(national[2:]) {
			national = national[2:]
		}
	}
	if len(national) < 2 || national[0] == '0' || !id.valid(national) {
		return Phone{}, false
	}
	e164 := "+62" + national
	return Phone{E164: e164, Number: e164[3:], CountryCode: "ID", CallingCode: e164[:3]}, true
}
