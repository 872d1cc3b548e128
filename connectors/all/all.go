// Package all links every connector that ships with pipe into a program.
// Import it for its side effect, as cmd/pipe does:
//
//	import _ "github.com/kelompok/pipe/connectors/all"
//
// after which connectors.Default can open every kind: memory, twenty,
// postgres, sqlite, file and exec.
package all

import (
	_ "github.com/kelompok/pipe/connectors/exec"   // kind "exec"
	_ "github.com/kelompok/pipe/connectors/file"   // kind "file"
	_ "github.com/kelompok/pipe/connectors/memory" // kind "memory"
	_ "github.com/kelompok/pipe/connectors/sql"    // kinds "postgres" and "sqlite"
	_ "github.com/kelompok/pipe/connectors/twenty" // kind "twenty"
)
