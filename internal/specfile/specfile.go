// Package specfile decodes the YAML and JSON spec files of m4's generators
// strictly: an unknown key, trailing data or an unknown extension is an
// error naming the file, so a typo in a spec never silently falls back to a
// default.
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
// (an empty file leaves v as it is) or .json.
func Read(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return Decode(path, b, v)
}

// Decode decodes spec text b into v; path names it in errors and picks the
// format by its extension.
func Decode(path string, b []byte, v any) error {
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
	return nil
}
