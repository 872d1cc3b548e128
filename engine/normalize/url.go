package normalize

import (
	"net/url"
	"strings"
)

// URL normalizes a web address the way Twenty compares LINKS values
// (domainName.primaryLinkUrl): trimmed; "https://" added when no scheme is
// given; scheme and host lower-cased; the default port (:443, :80) and a
// trailing dot of the host dropped; trailing slashes of the path dropped
// ("https://Kelompok.ID/" gives "https://kelompok.id"). A "www." in front of
// the host is kept, because it is part of the address the site answers on;
// use Domain to compare sites with and without it. Blank input gives "";
// a value with no host gives an *Error.
func URL(s string) (string, error) {
	u, err := parseWeb(s, "url")
	if err != nil || u == nil {
		return "", err
	}
	return u.String(), nil
}

// Domain returns the host of a web address, lower-cased, without "www." (unless
// what remains has no dot),
// port or trailing dot: "https://www.Kelompok.id/tentang" and "kelompok.id"
// both give "kelompok.id". Use it to match companies by website. Blank input
// gives ""; a value with no host gives an *Error.
func Domain(s string) (string, error) {
	u, err := parseWeb(s, "domain")
	if err != nil || u == nil {
		return "", err
	}
	host := u.Hostname()
	if rest, ok := strings.CutPrefix(host, "www."); ok && strings.Contains(rest, ".") {
		host = rest
	}
	return host, nil
}

func parseWeb(in, fn string) (*url.URL, error) {
	s := strings.TrimSpace(in)
	if s == "" {
		return nil, nil
	}
	fail := func(problem string) (*url.URL, error) {
		return nil, &Error{Func: fn, Value: in, Problem: problem}
	}
	if strings.ContainsAny(s, " \t\n") {
		return fail("is not a web address (contains a space)")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + strings.TrimPrefix(s, "//")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fail("is not a web address")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return fail("is not a web address (scheme " + u.Scheme + ", want http or https)")
	}
	host := strings.TrimRight(strings.ToLower(u.Hostname()), ".")
	if host == "" || strings.HasPrefix(host, ".") || strings.Contains(host, "..") {
		return fail("is not a web address (no host)")
	}
	if !strings.Contains(host, ".") && host != "localhost" {
		return fail("is not a web address (host has no dot)")
	}
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		u.Host = host + ":" + port
	} else {
		u.Host = host
	}
	if strings.Contains(host, ":") { // IPv6 literal
		u.Host = "[" + host + "]"
		if port != "" {
			u.Host += ":" + port
		}
	}
	u.User = nil
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if u.RawQuery == "" {
		u.ForceQuery = false
	}
	if u.Fragment == "" {
		u.RawFragment = ""
	}
	return u, nil
}
