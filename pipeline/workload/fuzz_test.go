package workload

import (
	"bytes"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
)

// named fails t unless err names the input.
func named(t *testing.T, err error, name string) {
	t.Helper()
	if !strings.Contains(err.Error(), name) {
		t.Fatalf("error does not name %s: %v", name, err)
	}
}

// FuzzParseNS3: an ns-3 topology file either parses into a topology that
// writes back to an equal one, or fails naming the file; the node and link
// counts are bounded by what the text holds.
func FuzzParseNS3(f *testing.F) {
	ft, _ := FatTree(4, 10, 40, 1000)
	var b bytes.Buffer
	ft.WriteNS3(&b)
	f.Add(b.Bytes())
	f.Add([]byte("3 1 2\n2\n0 2 10Gbps 1us 0\n1 2 10Gbps 1000ns 0\n"))
	f.Add([]byte("16777216 0 67108864\n"))
	f.Add([]byte("2 0 1\n\n0 1 1e400Gbps 1ns 0.5\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tp, err := ParseNS3("fuzz.txt", data)
		if err != nil {
			named(t, err, "fuzz.txt")
			return
		}
		if len(tp.Links) > len(data) {
			t.Fatalf("%d links from %d bytes", len(tp.Links), len(data))
		}
		var out bytes.Buffer
		if err := tp.WriteNS3(&out); err != nil {
			t.Fatal(err)
		}
		back, err := ParseNS3("back.txt", out.Bytes())
		if err != nil {
			t.Fatalf("written topology does not parse: %v\n%s", err, out.Bytes())
		}
		if !reflect.DeepEqual(back.IsSwitch, tp.IsSwitch) || !reflect.DeepEqual(back.Links, tp.Links) {
			t.Fatal("round trip changed the topology")
		}
	})
}

// FuzzParseParsimonJSON: Parsimon JSON (cluster or plain network) either
// parses into a valid topology or fails naming the file.
func FuzzParseParsimonJSON(f *testing.F) {
	spec := FabricSpec{1, 2, 2, 2, 1, 10, 40, 1000}
	fab, _ := Fabric(spec)
	var b bytes.Buffer
	fab.WriteParsimonJSON(&b, &spec)
	f.Add(b.Bytes())
	b.Reset()
	fab.WriteParsimonJSON(&b, nil)
	f.Add(b.Bytes())
	f.Add([]byte(`{"nodes":[{"id":0,"kind":"Host"},{"id":1,"kind":"Switch"}],"links":[{"a":0,"b":1,"bandwidth":10000000000,"delay":1000}]}`))
	f.Add([]byte(`{"pods":[{"racks":[{"tor":{"id":5,"kind":"Switch"}}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tp, err := ParseParsimonJSON("fuzz.json", data)
		if err != nil {
			named(t, err, "fuzz.json")
			return
		}
		if len(tp.IsSwitch) > len(data) || len(tp.Links) > len(data) {
			t.Fatalf("%d nodes, %d links from %d bytes", len(tp.IsSwitch), len(tp.Links), len(data))
		}
		var out bytes.Buffer
		if err := tp.WriteParsimonJSON(&out, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseParsimonJSON("back.json", out.Bytes()); err != nil {
			t.Fatalf("written topology does not parse: %v", err)
		}
	})
}

// FuzzParseCDF: a flow-size CDF either parses into one whose quantiles are
// finite and ascending, or fails naming the file.
func FuzzParseCDF(f *testing.F) {
	for _, name := range EmpiricalNames {
		b, err := cdfFiles.ReadFile("data/cdf/" + name + ".txt")
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("0 0\n100 50\n1e300 100\n"))
	f.Add([]byte("# c\n1 10\n1 20\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCDF("fuzz.cdf", data)
		if err != nil {
			named(t, err, "fuzz.cdf")
			return
		}
		prev := -1.0
		for p := 0.0; p <= 100; p += 0.5 {
			q := c.Quantile(p)
			if q != q || q < prev {
				t.Fatalf("quantile(%v) = %v after %v", p, q, prev)
			}
			prev = q
		}
	})
}

// FuzzParseMatrix: a traffic-matrix file (text or Parsimon spatial JSON) for
// a fixed fabric either parses into a matrix that samples valid host pairs,
// or fails naming the file.
func FuzzParseMatrix(f *testing.F) {
	fab, err := Fabric(FabricSpec{2, 2, 2, 2, 2, 10, 40, 1000})
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("0 1 1 1\n1 0 1 1\n1 1 0 1\n1 1 1 0\n"))
	f.Add([]byte("# w\n1e308 1e308 1e308 1e308\n1e308 1e308 1e308 1e308\n0 0 0 0\n0 0 0 1\n"))
	f.Add([]byte(`{"matrix":{"inner":[[0,1],[1,0]],"idx2name":["a","b"]},"pod2tors":{"p0":["a"],"p1":["b"]},"nr_pods":2,"nr_racks":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := rand.New(rand.NewPCG(1, 2))
		m, err := ParseMatrix("fuzz.tm", data, fab, r)
		if err != nil {
			named(t, err, "fuzz.tm")
			return
		}
		for i := 0; i < 20; i++ {
			s, d := m.Sample(fab, r)
			if s == d || fab.IsSwitch[s] || fab.IsSwitch[d] {
				t.Fatalf("sampled pair (%d, %d)", s, d)
			}
		}
	})
}

// FuzzParseSpec: a workload spec (YAML or JSON) either parses into one that
// validates, or fails naming the file.
func FuzzParseSpec(f *testing.F) {
	for _, p := range []string{"testdata/fabric256.yaml", "testdata/fattree.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("topology: {kind: fabric, pods: 99999999}\nflows: 10\n"))
	f.Add([]byte("sizes: {dist: 5}\n&a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec("fuzz.yaml", data)
		if err != nil {
			named(t, err, "fuzz.yaml")
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed a spec that does not validate: %v", err)
		}
	})
}
