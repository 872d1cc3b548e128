// Command pipe syncs Kelompok and Twenty CRM (and other systems) as declared
// in CUE files read at run time. Run `pipe --help` for the commands.
package main

import (
	"os"

	_ "github.com/kelompok/pipe/connectors/all" // every shipped connector kind
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}
