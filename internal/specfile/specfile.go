// Package specfile decodes the YAML and JSON spec files of m4's generators
// strictly: an unknown key, trailing data or an unknown extension is an
// error naming the file, so a typo in a spec never silently falls back to a
// default. Nor does an explicit 0: a key left out takes its default, but
// "hosts_per_rack: 0", where 0 makes no sense, is an error naming the key
// (see NoZero).
package specfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Read decodes the spec file at path into v by its extension: .yaml/.yml
// (an empty file leaves v as it is) or .json. Keys matching a noZero
// pattern must not be given as 0 (see NoZero).
func Read(path string, v any, noZero ...string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return Decode(path, b, v, noZero...)
}

// Decode decodes spec text b into v; path names it in errors and picks the
// format by its extension. Keys matching a noZero pattern must not be given
// as 0 (see NoZero).
func Decode(path string, b []byte, v any, noZero ...string) error {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if dec.More() {
			return fmt.Errorf("%s: trailing data after the spec", path)
		}
	case ".yaml", ".yml":
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: %w", path, err)
		}
	default:
		return fmt.Errorf("%s: want a .yaml, .yml or .json spec", path)
	}
	if len(noZero) > 0 {
		var root yaml.Node
		if err := yaml.Unmarshal(b, &root); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := NoZero(path, &root, noZero); err != nil {
			return err
		}
	}
	return nil
}

// NoZero returns an error naming the first key of the parsed spec root
// (YAML or JSON) that matches one of patterns and is given as the number 0.
// Such keys take a default when left out, and 0 is never a valid value:
// given explicitly it must not silently become the default. A pattern is a
// dotted key path; "[]" stands for any index of a list ("topologies[].pods").
func NoZero(path string, root *yaml.Node, patterns []string) error {
	want := map[string]bool{}
	for _, p := range patterns {
		want[p] = true
	}
	// key is the pattern form of the path, shown the path with its indexes
	var walk func(n *yaml.Node, key, shown string) error
	walk = func(n *yaml.Node, key, shown string) error {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				if err := walk(c, key, shown); err != nil {
					return err
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				if err := walk(c, key+"[]", fmt.Sprintf("%s[%d]", shown, i)); err != nil {
					return err
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, sh := n.Content[i].Value, n.Content[i].Value
				if key != "" {
					k, sh = key+"."+k, shown+"."+sh
				}
				if err := walk(n.Content[i+1], k, sh); err != nil {
					return err
				}
			}
		case yaml.ScalarNode:
			var v float64
			if want[key] && (n.Tag == "!!int" || n.Tag == "!!float") && n.Decode(&v) == nil && v == 0 {
				return fmt.Errorf("%s:%d: %s = %s: 0 is not a valid value here; leave the key out for its default", path, n.Line, shown, n.Value)
			}
		}
		return nil
	}
	return walk(root, "", "")
}
