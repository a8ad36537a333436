package npyfile

import (
	"bytes"
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
		}
		if got != n {
			t.Fatalf("shape %v holds %d values, data has %d", a.Shape, n, got)
		}
		if n > len(b) {
			t.Fatalf("%d values decoded from %d bytes", n, len(b))
		}
	})
}
