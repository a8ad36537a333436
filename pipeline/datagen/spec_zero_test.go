package datagen

import (
	"strings"
	"testing"
)

// TestExplicitZeroRefused: keys that take m3's value when left out are
// errors, naming the key and line, when given as 0.
func TestExplicitZeroRefused(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"flows_per_pair: 0\n", "s.yaml:1: flows_per_pair = 0"},
		{"seed: 1\nshards: {first: 0, count: 0}\n", "s.yaml:2: shards.count = 0"},
		{"link_gbps: 0\n", "link_gbps = 0"},
		{"base_rtt_ns: 0\n", "base_rtt_ns = 0"},
	} {
		_, err := LoadSpec(writeSpec(t, "s.yaml", c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.text, err, c.want)
		}
	}
	if _, err := LoadSpec(writeSpec(t, "s.json", `{"flows_per_pair": 0}`)); err == nil || !strings.Contains(err.Error(), "flows_per_pair = 0") {
		t.Errorf("JSON: %v", err)
	}
	s, err := LoadSpec(writeSpec(t, "s.yaml", "seed: 0\nshards: {first: 0, count: 2}\n"))
	if err != nil || s.FlowsPerPair != 300 || s.Shards.Count != 2 {
		t.Errorf("zeros where 0 is valid: %+v %v", s, err)
	}
}
