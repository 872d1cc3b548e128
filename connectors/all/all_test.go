package all_test

import (
	"slices"
	"testing"

	"github.com/kelompok/pipe/connectors"
	_ "github.com/kelompok/pipe/connectors/all"
)

// shipped are the connector kinds package all must register.
var shipped = []string{"exec", "file", "memory", "postgres", "sqlite", "twenty"}

func TestEveryShippedConnectorIsRegistered(t *testing.T) {
	kinds := connectors.Default.Kinds()
	for _, want := range shipped {
		if !slices.Contains(kinds, want) {
			t.Errorf("connector kind %q is not registered by package all (registered: %v)", want, kinds)
		}
	}
}
