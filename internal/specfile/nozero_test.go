package specfile

import (
	"strings"
	"testing"
)

type nzTopo struct {
	Pods int     `json:"pods" yaml:"pods"`
	Gbps float64 `json:"gbps" yaml:"gbps"`
}

type nzSpec struct {
	Seed  int      `json:"seed" yaml:"seed"`
	Count int      `json:"count" yaml:"count"`
	Topos []nzTopo `json:"topos" yaml:"topos"`
}

// TestNoZero: a key given as 0 where 0 takes the default is an error naming
// the file, line and key (with its list index); left out, or given as
// another value, it is not; keys outside the patterns may be 0.
func TestNoZero(t *testing.T) {
	pat := []string{"count", "topos[].pods", "topos[].gbps"}
	cases := []struct {
		path, text, err string
	}{
		{"a.yaml", "seed: 0\ncount: 3\n", ""},
		{"a.yaml", "seed: 1\n", ""},
		{"a.yaml", "seed: 1\ncount: 0\n", "a.yaml:2: count = 0: 0 is not a valid value"},
		{"a.yaml", "topos:\n  - {pods: 2}\n  - {pods: 0}\n", "a.yaml:3: topos[1].pods = 0"},
		{"a.yaml", "topos: [{gbps: 0.0}]\n", "topos[0].gbps = 0.0"},
		{"a.yaml", "topos: [{gbps: -0}]\n", "topos[0].gbps = -0"},
		{"a.json", `{"count": 0}`, "a.json:1: count = 0"},
		{"a.json", `{"topos": [{"pods": 1, "gbps": 0e3}]}`, "topos[0].gbps = 0e3"},
		{"a.json", `{"seed": 0, "topos": [{"pods": 1}]}`, ""},
	}
	for i, c := range cases {
		var s nzSpec
		err := Decode(c.path, []byte(c.text), &s, pat...)
		if c.err == "" {
			if err != nil {
				t.Errorf("case %d %q: %v", i, c.text, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("case %d %q: error %v, want %q", i, c.text, err, c.err)
		}
	}
}
