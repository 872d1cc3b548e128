// Package e2e holds the end-to-end tests of pipe: the shipped pipelines
// (package pipelines) run through the engine between a real PostgreSQL
// Kelompok (internal/pgtest, seeded with the reference schema and the
// quickstart's sample data) and the Twenty emulator on 127.0.0.1, plus
// `pipe demo` itself and the end-to-end benchmark.
//
//	go test ./e2e/
//	PIPE_E2E_BENCH_MEMBERS=100000 go test ./e2e/ -run '^$' -bench EndToEnd -benchtime 1x
package e2e
