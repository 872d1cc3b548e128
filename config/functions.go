package config

import (
	"strings"

	"github.com/kelompok/pipe/engine/functions"
)

// hasNormalizer reports whether name is a normalizer usable in a match
// rule.
func hasNormalizer(name string) bool {
	_, ok := functions.Default.Normalizer(name)
	return ok
}

// normalizerNames lists the normalizers for a message.
func normalizerNames() string { return strings.Join(functions.Default.Normalizers(), ", ") }
