package npyfile

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		data  any
		shape []int
	}{
		{[]int32{1, -2, 3, 4, 5, 6}, []int{3, 2}},
		{[]int64{1 << 40, -7}, nil},
		{[]float32{1.5, -2.25}, []int{2}},
		{[]float64{3.25}, []int{}},
		{[]int8{0, 1, -128, 127}, nil},
	}
	for i, c := range cases {
		var buf bytes.Buffer
		if err := Encode(&buf, c.data, c.shape); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		a, err := Decode("x.npy", buf.Bytes())
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		want := c.shape
		if want == nil {
			want = []int{reflect.ValueOf(c.data).Len()}
		}
		if !reflect.DeepEqual(a.Data, c.data) || !reflect.DeepEqual(a.Shape, want) {
			t.Errorf("case %d: got %v %v, want %v %v", i, a.Data, a.Shape, c.data, want)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	var good bytes.Buffer
	Encode(&good, []float64{1, 2, 3}, nil)
	g := good.Bytes()
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "bad magic"},
		{"truncated data", g[:len(g)-1], "truncated"},
		{"trailing", append(append([]byte{}, g...), 0), "trailing"},
		{"huge shape", bytes.Replace(g, []byte("(3,)"), []byte("(9,)"), 1), "truncated"},
		{"object dtype", bytes.Replace(g, []byte("'<f8'"), []byte("'|O8'"), 1), "unsupported dtype"},
		{"bad dict", bytes.Replace(g, []byte("'shape'"), []byte("'shapX'"), 1), "unknown key"},
	}
	for i, c := range cases {
		_, err := Decode("f.npy", c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "f.npy") {
			t.Errorf("case %d (%s): %v, want an error naming f.npy saying %q", i, c.name, err, c.want)
		}
	}
}

func TestNPZ(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.npz")
	err := WriteNPZ(path, []Entry{{"res", []float32{1, 2, 3, 4}, []int{2, 2}}, {"n", []int64{5}, []int{}}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m["res"].Shape, []int{2, 2}) || m["n"].Data.([]int64)[0] != 5 {
		t.Fatalf("read back %+v %+v", m["res"], m["n"])
	}
}
