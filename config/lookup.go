package config

import "sort"

// Stream returns the stream a reference names, if the configuration
// declares it (Twenty streams come from the catalog).
func (c *Config) Stream(ref StreamRef) (*Stream, bool) {
	conn, ok := c.Connections[ref.Connection]
	if !ok {
		return nil, false
	}
	s, ok := conn.Streams[ref.Stream]
	return s, ok
}

// PipelineNames returns the pipeline names, sorted.
func (c *Config) PipelineNames() []string {
	names := make([]string, 0, len(c.Pipelines))
	for n := range c.Pipelines {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
