package functions

import (
	"sync"
	"sync/atomic"

	"github.com/kelompok/pipe/engine/normalize"
)

// PhoneParts is what phone(x) returns. Fields are strings, or nil when the
// input is NULL or blank.
type PhoneParts struct {
	// E164 is the number in E.164 form: "+6281234567890".
	E164 any `expr:"e164" json:"e164"`
	// Number is the national significant number: "81234567890" (Twenty's
	// primaryPhoneNumber).
	Number any `expr:"number" json:"number"`
	// CountryCode is the region: "ID" (Twenty's primaryPhoneCountryCode).
	CountryCode any `expr:"countryCode" json:"countryCode"`
	// CallingCode is the calling code with its plus: "+62" (Twenty's
	// primaryPhoneCallingCode).
	CallingCode any `expr:"callingCode" json:"callingCode"`
}

// NameParts is what name_parts(x) returns: two strings.
type NameParts struct {
	First any `expr:"first" json:"first"`
	Last  any `expr:"last" json:"last"`
}

// cache remembers the results of the costly functions (phone parsing, name
// splitting) of one registry. It changes how fast they are, never what they
// return, and is safe for concurrent use.
//
// A mapping usually calls a function several times on one value in a row
// (phone(phone).number, phone(phone).countryCode, ...; name_parts(full_name)
// .first and .last): lastPhone and lastName hold the latest result, already
// boxed, so the repeated calls cost one comparison; they are lock-free, and
// a worker that finds another worker's value computes its own. phones holds
// up to phoneCacheSize parsed numbers for later runs over the same records.
type cache struct {
	off       atomic.Bool
	lastPhone atomic.Pointer[phoneMemo]
	lastName  atomic.Pointer[nameMemo]
	mu        sync.RWMutex
	phones    map[phoneKey]*phoneMemo
}

// phoneCacheSize bounds the phone table; it is emptied when full.
const phoneCacheSize = 1 << 16

type phoneKey struct{ in, region string }

type phoneMemo struct {
	in, region string
	parts      PhoneParts
	e164       string
	err        error
}

type nameMemo struct {
	in    string
	parts NameParts
}

func newCache() *cache { return &cache{phones: make(map[phoneKey]*phoneMemo)} }

// SetCache turns the registry's result cache on (the default) or off, and
// empties it. Benchmarks use it to measure uncached costs.
func (r *Registry) SetCache(on bool) {
	c := r.cache
	c.off.Store(!on)
	c.lastPhone.Store(nil)
	c.lastName.Store(nil)
	c.mu.Lock()
	clear(c.phones)
	c.mu.Unlock()
}

func (c *cache) phone(s, region string) *phoneMemo {
	if c.off.Load() {
		return parsePhoneMemo(s, region)
	}
	if m := c.lastPhone.Load(); m != nil && m.in == s && m.region == region {
		return m
	}
	k := phoneKey{s, region}
	c.mu.RLock()
	m, ok := c.phones[k]
	c.mu.RUnlock()
	if !ok {
		m = parsePhoneMemo(s, region)
		c.mu.Lock()
		if len(c.phones) >= phoneCacheSize {
			clear(c.phones)
		}
		c.phones[k] = m
		c.mu.Unlock()
	}
	c.lastPhone.Store(m)
	return m
}

func parsePhoneMemo(s, region string) *phoneMemo {
	p, err := normalize.ParsePhone(s, region)
	m := &phoneMemo{in: s, region: region, err: err, e164: p.E164}
	if err == nil {
		m.parts = PhoneParts{E164: p.E164, Number: p.Number, CountryCode: p.CountryCode, CallingCode: p.CallingCode}
	}
	return m
}

// phoneParts returns the parsed number, for expressions. The result is the
// cache's own and must not be modified (expressions cannot).
func (c *cache) phoneParts(s, region string) (*PhoneParts, error) {
	m := c.phone(s, region)
	if m.err != nil {
		return nil, m.err
	}
	return &m.parts, nil
}

// e164 is the E.164 normalizer.
func (c *cache) e164(s, region string) (string, error) {
	m := c.phone(s, region)
	return m.e164, m.err
}

// nameParts returns the split name. The result is the cache's own and must
// not be modified (expressions cannot).
func (c *cache) nameParts(s string) *NameParts {
	off := c.off.Load()
	if m := c.lastName.Load(); m != nil && m.in == s && !off {
		return &m.parts
	}
	n := normalize.NameParts(s)
	m := &nameMemo{in: s, parts: NameParts{First: n.First, Last: n.Last}}
	if !off {
		c.lastName.Store(m)
	}
	return &m.parts
}

// joinSpace returns " "+last, or "" when there is no last name.
func joinSpace(n *NameParts) string {
	if l, _ := n.Last.(string); l != "" {
		return " " + l
	}
	return ""
}
