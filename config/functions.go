package config

import "github.com/expr-lang/expr"

// functionOptions are the expr options declaring the mapping functions
// (email, phone, ref, ...). Until the registry of package engine/functions
// is in the tree, expressions compile with the environment alone.
func functionOptions() []expr.Option { return nil }

// hasFunction reports whether a function (or normalizer) name is
// registered.
func hasFunction(name string) bool { return false }
