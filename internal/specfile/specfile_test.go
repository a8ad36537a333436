package specfile

import (
	"strings"
	"testing"
)

type spec struct {
	Seed  int       `json:"seed" yaml:"seed"`
	Loads []float64 `json:"loads" yaml:"loads"`
}

func TestDecode(t *testing.T) {
	cases := []struct {
		path, text string
		want       spec
		err        string // substring of the error; "" for none
	}{
		{"a.yaml", "seed: 3\nloads: [0.5, 0.7]\n", spec{3, []float64{0.5, 0.7}}, ""},
		{"a.yml", "", spec{}, ""},
		{"a.json", `{"seed": 4, "loads": [1]}`, spec{4, []float64{1}}, ""},
		{"a.YAML", "seed: 5\n", spec{Seed: 5}, ""},
		{"a.yaml", "seed: 3\nlaods: [1]\n", spec{}, "a.yaml: yaml: unmarshal errors:\n  line 2: field laods not found"},
		{"a.json", `{"seed": 4, "lods": [1]}`, spec{}, `a.json: json: unknown field "lods"`},
		{"a.json", `{"seed": 4} {"seed": 5}`, spec{}, "a.json: trailing data"},
		{"a.json", `{"seed": "x"}`, spec{}, "a.json: json: cannot unmarshal string"},
		{"a.toml", "seed = 1", spec{}, "a.toml: want a .yaml, .yml or .json spec"},
	}
	for _, c := range cases {
		var got spec
		err := Decode(c.path, []byte(c.text), &got)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %q: error %v, want %q", c.path, c.text, err, c.err)
			}
			continue
		}
		if err != nil || got.Seed != c.want.Seed || len(got.Loads) != len(c.want.Loads) {
			t.Errorf("%s %q: %+v %v, want %+v", c.path, c.text, got, err, c.want)
			continue
		}
		for i := range got.Loads {
			if got.Loads[i] != c.want.Loads[i] {
				t.Errorf("%s %q: loads %v, want %v", c.path, c.text, got.Loads, c.want.Loads)
			}
		}
	}
	if err := Read("/nonexistent/spec.yaml", &spec{}); err == nil || !strings.Contains(err.Error(), "/nonexistent/spec.yaml") {
		t.Errorf("missing file: %v", err)
	}
}
