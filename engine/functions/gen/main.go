// Command gen writes docs/functions.md from the function registry:
//
//	go run ./engine/functions/gen -o docs/functions.md
//
// (or go generate ./engine/functions). A test in package functions fails
// when the committed file differs from what gen would write.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/kelompok/pipe/engine/functions"
)

func main() {
	out := flag.String("o", "docs/functions.md", "file to write")
	flag.Parse()
	if err := os.WriteFile(*out, functions.Default.Markdown(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
