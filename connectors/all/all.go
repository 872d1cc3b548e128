// Package all links every connector that ships with pipe into a program.
// Import it for its side effect, as cmd/pipe does:
//
//	import _ "github.com/kelompok/pipe/connectors/all"
//
// after which connectors.Default can open every kind: memory, twenty (and
// postgres, sqlite, file and exec as their packages land).
package all

import (
	_ "github.com/kelompok/pipe/connectors/memory" // kind "memory"
	_ "github.com/kelompok/pipe/connectors/twenty" // kind "twenty"
)
