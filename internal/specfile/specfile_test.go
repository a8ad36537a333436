package specfile

import (
	"strings"
	"testing"
)

type spec struct {
	Seed  int       `json:"seed" yaml:"seed"`
	Loads []float64 `json:"loads" yaml:"loads"`
	Inner struct {
		A int `json:"a" yaml:"a"`
	} `json:"inner" yaml:"inner"`
}

func TestDecode(t *testing.T) {
	cases := []struct {
		path, text string
		want       spec
		err        string // substring of the error; "" for none
	}{
		{"a.yaml", "seed: 3\nloads: [0.5, 0.7]\n", spec{Seed: 3, Loads: []float64{0.5, 0.7}}, ""},
		{"a.yml", "", spec{}, ""},
		{"a.json", `{"seed": 4, "loads": [1]}`, spec{Seed: 4, Loads: []float64{1}}, ""},
		{"a.YAML", "seed: 5\n", spec{Seed: 5}, ""},
		{"a.yaml", "seed: 3\nlaods: [1]\n", spec{}, `a.yaml:2: unknown key "laods"`},
		{"a.yaml", "seed: 3\ninner: {a: 1, b: 2}\n", spec{}, `a.yaml:2: unknown key "inner.b"`},
		{"a.yaml", "seed: x\nloads: [1, y]\n", spec{}, "a.yaml:1: seed: cannot unmarshal !!str `x` into int\na.yaml:2: loads: cannot unmarshal"},
		{"a.yaml", "seed: 3\nloads: [1\n", spec{}, "a.yaml: line 1: did not find expected ',' or ']'"},
		{"a.yml", "- 1\n- 2\n", spec{}, "a.yml:1: the spec must be a mapping of keys (seed, loads, ...)"},
		{"a.yml", "~\n", spec{}, ""},
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

// TestDecodeYAML: text of any name is YAML (JSON too), and errors name the
// line and key; an empty document leaves v and returns no root.
func TestDecodeYAML(t *testing.T) {
	for i, c := range []struct{ name, text, err string }{
		{"default.yaml (embedded)", "seed: 2\n", ""},
		{"spec.json", `{"seed": 2, "loads": [1]}`, ""},
		{"spec.json", "{\n  \"seed\": 2,\n  \"inner\": {\"b\": 1}\n}", `spec.json:3: unknown key "inner.b"`},
		{"spec", "[]", "spec:1: the spec must be a mapping of keys (seed, loads, ...)"},
	} {
		var got spec
		root, err := DecodeYAML(c.name, []byte(c.text), &got)
		if c.err == "" && (err != nil || root == nil || got.Seed != 2) || c.err != "" && (err == nil || err.Error() != c.err) {
			t.Errorf("case %d: %+v, %v; want error %q", i, got, err, c.err)
		}
	}
	for _, text := range []string{"", "# nothing\n", "~\n", "---\n"} {
		got := spec{Seed: 7}
		if root, err := DecodeYAML("e.yaml", []byte(text), &got); root != nil || err != nil || got.Seed != 7 {
			t.Errorf("%q: root %v, %v, seed %d; want nothing decoded", text, root, err, got.Seed)
		}
	}
	var m map[string]int
	if _, err := DecodeYAML("m.yaml", []byte("- 1\n"), &m); err == nil || err.Error() != "m.yaml:1: the spec must be a mapping of keys" {
		t.Errorf("not a mapping, into a map: %v", err)
	}
}
