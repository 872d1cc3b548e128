package normalize

import (
	"errors"
	"strconv"
	"strings"

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
// Parsing costs several microseconds; callers that see the same numbers
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
	n, err := phonenumbers.Parse(compactPhone(s), region)
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
