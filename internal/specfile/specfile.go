// Package specfile decodes the YAML and JSON spec files of m4's generators
// strictly: an unknown key, trailing data or an unknown extension is an
// error naming the file (and in YAML the line and the key: DecodeYAML), so
// a typo in a spec never silently falls back to a default. Nor does an
// explicit 0: a key left out takes its default, but "hosts_per_rack: 0",
// where 0 makes no sense, is an error naming the key (see NoZero).
package specfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
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
// format by its extension: YAML through DecodeYAML (an empty document leaves
// v as it is), JSON strictly by encoding/json. Keys matching a noZero
// pattern must not be given as 0 (see NoZero).
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
		if len(noZero) > 0 {
			var root yaml.Node
			if err := yaml.Unmarshal(b, &root); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			return NoZero(path, &root, noZero)
		}
	case ".yaml", ".yml":
		root, err := DecodeYAML(path, b, v)
		if err != nil {
			return err
		}
		if root != nil && len(noZero) > 0 {
			return NoZero(path, root, noZero)
		}
	default:
		return fmt.Errorf("%s: want a .yaml, .yml or .json spec", path)
	}
	return nil
}

// DecodeYAML decodes spec text b as YAML (JSON is YAML too) into v, whatever
// name's extension, rejecting unknown keys. Its errors start with name and,
// where known, the line, and name the key: `spec.yaml:3: unknown key
// "topology.podz"`, `spec.yaml:4: flows: cannot unmarshal ...`; a document
// that is not a mapping of keys is an error too. It returns the document's
// mapping (for NoZero and other checks), or nil for a document without
// content (an empty file, only comments, null), which leaves v as it is.
func DecodeYAML(name string, b []byte, v any) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, syntaxError(name, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the spec must be a mapping of keys%s", name, root.Line, keysHint(v))
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return nil, decodeError(name, err, root)
	}
	return root, nil
}

var (
	errLineRe    = regexp.MustCompile(`^\s*line (\d+): (.*)$`)
	unknownKeyRe = regexp.MustCompile(`^field (\S+) not found in type`)
)

// syntaxError is yaml's error less its "yaml: " prefix. Its "line N" is
// kept as yaml words it: for a syntax error yaml counts some lines from 0.
func syntaxError(name string, err error) error {
	return fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
}

type keyAt struct {
	path      string // dotted key path
	key       string
	valueLine int
}

// indexKeys records every key of mapping n (and of mappings within it) by
// the line it is on.
func indexKeys(n *yaml.Node, prefix string, out map[int][]keyAt) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		path := k.Value
		if prefix != "" {
			path = prefix + "." + k.Value
		}
		out[k.Line] = append(out[k.Line], keyAt{path: path, key: k.Value, valueLine: v.Line})
		indexKeys(v, path, out)
	}
}

// decodeError rewrites yaml's "line N: ..." decoding errors, one a line, as
// "name:N: key: ...", the key found by its line in root.
func decodeError(name string, err error, root *yaml.Node) error {
	te, ok := err.(*yaml.TypeError)
	if !ok {
		return syntaxError(name, err)
	}
	keys := map[int][]keyAt{} // line -> keys on it
	indexKeys(root, "", keys)
	var msgs []string
	for _, e := range te.Errors {
		m := errLineRe.FindStringSubmatch(e)
		if m == nil {
			msgs = append(msgs, name+": "+e)
			continue
		}
		line, _ := strconv.Atoi(m[1])
		msg := m[2]
		if u := unknownKeyRe.FindStringSubmatch(msg); u != nil {
			path := u[1]
			for _, k := range keys[line] {
				if k.key == u[1] {
					path = k.path
				}
			}
			msgs = append(msgs, fmt.Sprintf("%s:%d: unknown key %q", name, line, path))
			continue
		}
		for _, k := range keys[line] { // the key whose value is on this line
			if k.valueLine == line {
				msg = k.path + ": " + msg
				break
			}
		}
		msgs = append(msgs, fmt.Sprintf("%s:%d: %s", name, line, msg))
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// keysHint names the first two keys of the struct v points to, as
// " (seed, shards, ...)"; "" when v is no pointer to a struct with keys.
func keysHint(v any) string {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return ""
	}
	var keys []string
	for i := 0; i < t.Elem().NumField() && len(keys) < 2; i++ {
		f := t.Elem().Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || strings.Contains(opts, "inline") {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		keys = append(keys, name)
	}
	if len(keys) == 0 {
		return ""
	}
	return " (" + strings.Join(keys, ", ") + ", ...)"
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
