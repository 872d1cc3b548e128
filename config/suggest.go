package config

import (
	"fmt"
	"strings"
)

// didYouMean returns ` (did you mean "x"?)` naming the choice closest to
// got (a misspelling: a few letters off, a different case, a prefix of
// the other), "" when none is close.
func didYouMean(got string, choices []string) string {
	if m := closest(got, choices); m != "" {
		return fmt.Sprintf(" (did you mean %q?)", m)
	}
	return ""
}

// closest returns the choice nearest to got by edit distance, ignoring
// case, "" when none is within a fifth of the longer name (at least one
// edit) or a prefix of at least three letters.
func closest(got string, choices []string) string {
	g := strings.ToLower(got)
	best, bestD := "", -1
	for _, c := range choices {
		if c == got {
			continue
		}
		lc := strings.ToLower(c)
		d := editDistance(g, lc)
		limit := max(len(g), len(lc)) / 5
		if limit < 1 {
			limit = 1
		}
		prefix := len(g) >= 3 && len(lc) >= 3 && (strings.HasPrefix(lc, g) || strings.HasPrefix(g, lc))
		if d > limit && !prefix {
			continue
		}
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
