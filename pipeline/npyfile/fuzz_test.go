package npyfile

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode: any input either decodes to an array whose length matches its
// shape, or returns an error; no panic, no allocation beyond the input's size.
func FuzzDecode(f *testing.F) {
	for _, v := range []struct {
		data  any
		shape []int
	}{
		{[]float64{1, 2, 3}, nil},
		{[]int32{1, 2, 3, 4}, []int{2, 2}},
		{[]int64{7}, []int{}},
		{[]float32{1.5}, []int{1, 1}},
	} {
		var b bytes.Buffer
		if err := Encode(&b, v.data, v.shape); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Add([]byte("\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Decode("fuzz.npy", b)
		if err != nil {
			return
		}
		n := a.Len()
		got := 0
		switch v := a.Data.(type) {
		case []float64:
			got = len(v)
		case []float32:
			got = len(v)
		case []int64:
			got = len(v)
		case []int32:
			got = len(v)
		case []uint8:
			got = len(v)
		case []int8:
			got = len(v)
		}
		if got != n {
			t.Fatalf("shape %v holds %d values, data has %d", a.Shape, n, got)
		}
		if n > len(b) {
			t.Fatalf("%d values decoded from %d bytes", n, len(b))
		}
	})
}

// FuzzDecodeNPZ: any input either decodes to arrays or returns an error
// naming the archive; never a panic, and no more values than the archive's
// bytes could inflate to.
func FuzzDecodeNPZ(f *testing.F) {
	dir := f.TempDir()
	for i, entries := range [][]Entry{
		{{Name: "res", Data: []float32{1, 2, 3, 4, 5, 6}, Shape: []int{2, 3}}, {Name: "n_input", Data: []int64{2}, Shape: []int{}}},
		{{Name: "x", Data: []float64{0.5}}},
	} {
		path := filepath.Join(dir, fmt.Sprintf("s%d.npz", i))
		if err := WriteNPZ(path, entries); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeNPZ("fuzz.npz", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.npz") {
				t.Fatalf("error does not name the archive: %v", err)
			}
			return
		}
		n := 0
		for _, a := range m {
			n += a.Len()
		}
		// deflate inflates at most ~1032x
		if n > 1100*len(b) {
			t.Fatalf("%d values from %d bytes", n, len(b))
		}
	})
}

// DecodeNPZ decodes every array of an .npz archive image, as ReadNPZ does
// a file (decodeNPZ); name is used in error messages.
func DecodeNPZ(name string, b []byte) (map[string]*Array, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return decodeNPZ(name, zr)
}
