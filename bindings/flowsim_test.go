//go:build cgo

package bindings

import (
	"errors"
	"math"
	"testing"
)

// wire returns the bits m3's flowsim sends for a payload of size bytes.
func wire(size float64) float64 { return (size + math.Ceil(size/1000)*48) * 8 }

// DefaultPathConfig is m4_path_config_default: m3's parking-lot constants.
func TestDefaultPathConfig(t *testing.T) {
	want := PathConfig{Hosts: 5, EdgeGbps: 10, CoreGbps: 40, FlowCapGbps: 10, PayloadBytes: 1000, HeaderBytes: 48}
	if got := DefaultPathConfig(5); got != want {
		t.Errorf("DefaultPathConfig(5) = %+v, want %+v", got, want)
	}
}

// TestFlowsimHandCases checks cases solvable by hand (rates in bit/ns).
func TestFlowsimHandCases(t *testing.T) {
	cases := []struct {
		name     string
		hosts    int
		at, size []float64
		src, dst []int32
		want     []float64
	}{
		{"one flow alone at the edge rate", 3,
			[]float64{0}, []float64{10000}, []int32{0}, []int32{2},
			[]float64{wire(10000) / 10}},
		{"two equal flows share a 10G link", 3,
			[]float64{5, 5}, []float64{10000, 10000}, []int32{0, 0}, []int32{2, 2},
			[]float64{2 * wire(10000) / 10, 2 * wire(10000) / 10}},
		{"a flow arrives while another drains", 3,
			[]float64{0, 1000}, []float64{10000, 1000}, []int32{0, 0}, []int32{2, 2},
			// A alone for 1000 ns (10000 bits), then both at 5 Gb/s until B's
			// 8384 bits are through, then A alone at 10 Gb/s.
			[]float64{1000 + wire(1000)/5 + (wire(10000)-10000-wire(1000))/10, wire(1000) / 5}},
		{"opposite directions do not share", 3,
			[]float64{0, 0}, []float64{5000, 5000}, []int32{0, 2}, []int32{2, 0},
			[]float64{wire(5000) / 10, wire(5000) / 10}},
		{"inner 40G link: flows capped at 10G", 4,
			[]float64{0, 0, 0}, []float64{3000, 3000, 3000}, []int32{1, 1, 1}, []int32{2, 2, 2},
			[]float64{wire(3000) / 10, wire(3000) / 10, wire(3000) / 10}},
		{"three flows share the last edge link", 4,
			// A 0->3 and B 1->3 and C 1->3 share link 2 (10G): 10/3 each.
			[]float64{0, 0, 0}, []float64{2000, 2000, 2000}, []int32{0, 1, 1}, []int32{3, 3, 3},
			[]float64{3 * wire(2000) / 10, 3 * wire(2000) / 10, 3 * wire(2000) / 10}},
	}
	for i, c := range cases {
		sim, err := NewFlowsim(DefaultPathConfig(c.hosts))
		if err != nil {
			t.Fatal(err)
		}
		got, err := sim.Run(c.at, c.size, c.src, c.dst)
		sim.Close()
		if err != nil {
			t.Fatalf("case %d (%s): %v", i, c.name, err)
		}
		for j := range got {
			if math.Abs(got[j]-c.want[j]) > 1e-9*c.want[j] {
				t.Errorf("case %d (%s): flow %d fct %.6f ns, want %.6f", i, c.name, j, got[j], c.want[j])
			}
		}
	}
}

// TestFlowsimMaxMinUnequal: a long flow bottlenecked upstream frees capacity
// downstream. 4 hosts; A 0->3 shares link 0 with B 0->1 (5G each); C 2->3
// gets what A leaves of link 2: 10 - 5 = 5G... until B finishes.
func TestFlowsimMaxMinUnequal(t *testing.T) {
	sim, err := NewFlowsim(DefaultPathConfig(4))
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	// A, B, C all start at 0. Link 0: A, B -> 5 each. Link 2: A, C -> 5 each.
	// B (1000 B, 8384 bits) and C (1000 B) finish at 8384/5 ns; A is then alone.
	size := []float64{100000, 1000, 1000}
	got, err := sim.Run([]float64{0, 0, 0}, size, []int32{0, 0, 2}, []int32{3, 1, 3})
	if err != nil {
		t.Fatal(err)
	}
	tb := wire(1000) / 5
	wantA := tb + (wire(100000)-5*tb)/10
	for j, w := range []float64{wantA, tb, tb} {
		if math.Abs(got[j]-w) > 1e-9*w {
			t.Errorf("flow %d: fct %.6f, want %.6f", j, got[j], w)
		}
	}
	if st := sim.Stats(); st.Events != 6 || st.MaxActive != 3 {
		t.Errorf("stats %+v, want 6 events, 3 active at most", st)
	}
}

func TestFlowsimRejectsBadInput(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name     string
		at, size []float64
		src, dst []int32
		field    string
		index    int
	}{
		{"NaN size", []float64{0, 1}, []float64{100, nan}, []int32{0, 0}, []int32{2, 2}, "size_bytes", 1},
		{"negative size", []float64{0}, []float64{-5}, []int32{0}, []int32{2}, "size_bytes", 0},
		{"negative time", []float64{-1}, []float64{5}, []int32{0}, []int32{2}, "arrival_ns", 0},
		{"NaN time", []float64{nan}, []float64{5}, []int32{0}, []int32{2}, "arrival_ns", 0},
		{"unsorted", []float64{10, 5}, []float64{5, 5}, []int32{0, 0}, []int32{2, 2}, "arrival_ns", 1},
		{"src == dst", []float64{0}, []float64{5}, []int32{1}, []int32{1}, "dst", 0},
		{"host outside", []float64{0}, []float64{5}, []int32{0}, []int32{3}, "dst", 0},
		{"negative host", []float64{0}, []float64{5}, []int32{-1}, []int32{2}, "src", 0},
	}
	sim, err := NewFlowsim(DefaultPathConfig(3))
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	for i, c := range cases {
		_, err := sim.Run(c.at, c.size, c.src, c.dst)
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("case %d (%s): err = %v, want *InputError", i, c.name, err)
			continue
		}
		if ie.Field != c.field || ie.Index != c.index {
			t.Errorf("case %d (%s): field %s[%d], want %s[%d] (%s)", i, c.name, ie.Field, ie.Index, c.field, c.index, ie.Msg)
		}
	}
	if _, err := sim.Run([]float64{0}, []float64{1, 2}, []int32{0}, []int32{1}); err == nil {
		t.Error("mismatched lengths accepted")
	}
	if _, err := NewFlowsim(PathConfig{Hosts: 1, EdgeGbps: 10, CoreGbps: 40, FlowCapGbps: 10, PayloadBytes: 1000}); err == nil {
		t.Error("a 1-host path accepted")
	}
}

func TestVersionMatchesHeader(t *testing.T) {
	if Version() != HeaderVersion() {
		t.Fatalf("native library %q, header %q: stale build", Version(), HeaderVersion())
	}
}
