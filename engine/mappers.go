package engine

import (
	"fmt"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/engine/functions"
	"github.com/kelompok/pipe/engine/mapping"
)

// defaultMappers evaluates mappings and filters with package engine/mapping
// and takes normalizers from the functions registry.
var defaultMappers MapperFactory = mappingFactory{}

type mappingFactory struct{}

func (mappingFactory) Mapper(p *config.Pipeline, m *config.Mapping) (Mapper, error) {
	return mapping.New(m, p.Sensitive)
}

func (mappingFactory) Filter(p *config.Pipeline, side string) (Filter, error) {
	prog := p.Filter.SourceProgram
	if side == config.SideSink {
		prog = p.Filter.SinkProgram
	}
	if prog == nil {
		return nil, nil
	}
	return mapping.NewFilter(prog, p.Sensitive), nil
}

func (mappingFactory) Normalizer(name string) (func(string) (string, error), error) {
	if name == "" {
		return nil, nil
	}
	f, ok := functions.Default.Normalizer(name)
	if !ok {
		return nil, fmt.Errorf("unknown normalizer %q (known: %v)", name, functions.Default.Normalizers())
	}
	return f, nil
}
