package normalize

import (
	"errors"
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
// Parsing is the costly part of mapping a member (several µs), so results are
// remembered in a bounded in-memory table shared by all callers.
func ParsePhone(s, region string) (Phone, error) {
	if region == "" {
		region = DefaultRegion
	}
	region = strings.ToUpper(region)
	ck := region + "\x00" + s
	if r, ok := phoneCache.get(ck); ok {
		return r.p, r.err
	}
	p, err := parsePhone(s, region)
	phoneCache.put(ck, phoneResult{p, err})
	return p, err
}

// E164 returns ParsePhone(s, region).E164.
func E164(s, region string) (string, error) {
	p, err := ParsePhone(s, region)
	return p.E164, err
}

func parsePhone(in, region string) (Phone, error) {
	s := strings.TrimSpace(in)
	if i := strings.IndexAny(s, "/,;"); i > 0 {
		s = strings.TrimSpace(s[:i])
	}
	if s == "" {
		return Phone{}, nil
	}
	fail := func(problem string) (Phone, error) {
		return Phone{}, &Error{Func: "phone", Value: in, Problem: problem}
	}
	n, err := phonenumbers.Parse(s, region)
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return fail("has an unknown country code")
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return fail("is too short to be a phone number")
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return fail("is too long to be a phone number")
	case err != nil:
		return fail("is not a phone number")
	}
	if !phonenumbers.IsValidNumber(n) {
		switch phonenumbers.IsPossibleNumberWithReason(n) {
		case phonenumbers.TOO_SHORT:
			return fail("is too short to be a phone number")
		case phonenumbers.TOO_LONG:
			return fail("is too long to be a phone number")
		}
		return fail("is not a valid phone number for " + region)
	}
	return Phone{
		E164:        phonenumbers.Format(n, phonenumbers.E164),
		Number:      phonenumbers.GetNationalSignificantNumber(n),
		CountryCode: phonenumbers.GetRegionCodeForNumber(n),
		CallingCode: "+" + strconv.Itoa(int(n.GetCountryCode())),
	}, nil
}

type phoneResult struct {
	p   Phone
	err error
}

// phoneCacheSize bounds the memo table; it is emptied when full.
const phoneCacheSize = 1 << 16

var phoneCache = &memo{m: make(map[string]phoneResult)}

// memo is a bounded, concurrency-safe memo table. It changes how fast
// ParsePhone is, never what it returns.
type memo struct {
	mu       sync.RWMutex
	m        map[string]phoneResult
	disabled bool // for benchmarks measuring the uncached cost
}

func (c *memo) get(k string) (phoneResult, bool) {
	c.mu.RLock()
	r, ok := c.m[k]
	c.mu.RUnlock()
	return r, ok
}

func (c *memo) put(k string, r phoneResult) {
	c.mu.Lock()
	if c.disabled {
		c.mu.Unlock()
		return
	}
	if len(c.m) >= phoneCacheSize {
		clear(c.m)
	}
	c.m[k] = r
	c.mu.Unlock()
}

// SetPhoneCache turns the phone memo table on or off (it is on by default)
// and empties it. Benchmarks use it to measure the cost of parsing; programs
// have no reason to call it.
func SetPhoneCache(on bool) {
	phoneCache.mu.Lock()
	phoneCache.disabled = !on
	clear(phoneCache.m)
	phoneCache.mu.Unlock()
}
