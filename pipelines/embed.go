// Package pipelines embeds the shipped pipeline configuration (the .cue
// files of this directory), so that `pipe demo`, the quickstart and the
// end-to-end tests run exactly what ships, without copying it.
package pipelines

import "embed"

// Files holds the shipped .cue files at its root: connections.cue,
// organizations.cue, members.cue and events.cue.
//
//go:embed *.cue
var Files embed.FS
