package engine

// defaultMappers evaluates mappings with package engine/mapping.
var defaultMappers MapperFactory
