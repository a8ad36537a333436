package datagen

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzLoadSpec: a datagen spec (YAML or JSON, with CDF files beside it)
// either loads into one that validates, or fails naming the file.
func FuzzLoadSpec(f *testing.F) {
	def, err := yaml.Marshal(DefaultSpec())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def, false, []byte(""))
	f.Add([]byte(`{"shards":{"count":2},"hosts":[3],"traffic":{"size_dists":["web"],"size_cdfs":{"web":{"file":"web.cdf"}}}}`),
		true, []byte("0 0\n1000 50\n20000 100\n"))
	f.Add([]byte("hosts: [5]\ntraffic: {size_dists: [w], size_cdfs: {w: {points: [[0, 0], [1e9, 100]]}}}\n"), false, []byte(""))
	f.Fuzz(func(t *testing.T, spec []byte, isJSON bool, cdf []byte) {
		dir := t.TempDir()
		name := filepath.Join(dir, "fuzz.yaml")
		if isJSON {
			name = filepath.Join(dir, "fuzz.json")
		}
		if err := os.WriteFile(name, spec, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "web.cdf"), cdf, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := LoadSpec(name)
		if err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("loaded a spec that does not validate: %v", err)
		}
	})
}

// FuzzParseTask: --shard i/N either parses into 0 <= i < N or fails.
func FuzzParseTask(f *testing.F) {
	for _, s := range []string{"0/1", "3/16", " 2 / 3 ", "-1/2", "9999999999999999999/1", "1/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tk, err := ParseTask(s)
		if err != nil {
			return
		}
		if tk.Count < 1 || tk.Index < 0 || tk.Index >= tk.Count {
			t.Fatalf("%q parsed as %d/%d", s, tk.Index, tk.Count)
		}
	})
}

// FuzzDecodeStatsNPY: stats.npy (a pickled dict in an object array) either
// decodes into stats that encode back to the same, or fails; the unpickler
// runs no code and allocates no more than the input backs.
func FuzzDecodeStatsNPY(f *testing.F) {
	f.Add(encodeStatsNPY(sampleStats()))
	f.Add(encodeStatsNPY(&Stats{}))
	f.Add([]byte("\x93NUMPY\x01\x00\x20\x00{'descr': '|O', 'shape': ()}   \x80\x02]q\x00(K\x01K\x02e."))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeStatsNPY(b)
		if err != nil {
			return
		}
		if len(s.HostPairList) > len(b) {
			t.Fatalf("%d host pairs from %d bytes", len(s.HostPairList), len(b))
		}
		back, err := decodeStatsNPY(encodeStatsNPY(s))
		if err != nil || !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip: %+v -> %+v, %v", s, back, err)
		}
	})
}
