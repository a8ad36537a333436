package netdata

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestExplicitZeroRefused: keys that take a default when left out are
// errors when given as 0, inside the list of topologies too.
func TestExplicitZeroRefused(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"topologies: [{kind: fabric, hosts_per_rack: 0}]\n", "topologies[0].hosts_per_rack = 0"},
		{"topologies:\n  - {kind: fabric}\n  - {kind: fabric, pods: 0}\n", "spec.yaml:3: topologies[1].pods = 0"},
		{"topologies: [{kind: fabric, host_gbps: 0}]\n", "topologies[0].host_gbps = 0"},
		{"workloads: {first: 2, count: 0}\n", "workloads.count = 0"},
	} {
		_, err := LoadSpec(writeSpec(t, c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.text, err, c.want)
		}
	}
}

// TestExampleSpecRealDefaults: the example spec (--from-workload
// --example-spec) writes out every default, no zero stands for one, and it
// loads back as the spec a file leaving everything out gets.
func TestExampleSpecRealDefaults(t *testing.T) {
	b, err := yaml.Marshal(ExampleSpec())
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(n *yaml.Node, key string)
	walk = func(n *yaml.Node, key string) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, key)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], n.Content[i].Value)
			}
		case yaml.ScalarNode:
			if (n.Value == "0" || n.Value == `""`) && key != "seed" && key != "first" {
				t.Errorf("line %d: %s: %s stands for a default", n.Line, key, n.Value)
			}
		}
	}
	walk(&root, "")
	for _, k := range []string{"host_gbps: 10", "fabric_gbps: 40", "link_delay_ns: 1000", "spines_per_plane: 8"} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("example spec lacks %q:\n%s", k, b)
		}
	}
	p := filepath.Join(t.TempDir(), "ex.yaml")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSpec(p)
	if err != nil {
		t.Fatalf("the example spec does not load: %v", err)
	}
	if want := ExampleSpec(); !reflect.DeepEqual(*got, want) {
		t.Errorf("the example spec reloads as\n%+v\nwant\n%+v", *got, want)
	}
}
