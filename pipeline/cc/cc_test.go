package cc

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/m4sim/m4/internal/refdata"
)

func TestMain(m *testing.M) { refdata.Main(m) }

func TestNames(t *testing.T) {
	for i, c := range All() {
		if c.Index() != i || !c.Valid() {
			t.Errorf("%d: %s has index %d", i, c, c.Index())
		}
		if got, err := FromMode(c.Mode()); err != nil || got != c {
			t.Errorf("%d: FromMode(%d) = %q, %v, want %s", i, c.Mode(), got, err, c)
		}
		if got, err := Parse(Names()[i]); err != nil || got != c {
			t.Errorf("%d: Parse(%q) = %q, %v", i, Names()[i], got, err)
		}
		if got, err := ParseFork(c.ForkName(25)); err != nil || got != c {
			t.Errorf("%d: ParseFork(%q) = %q, %v", i, c.ForkName(25), got, err)
		}
	}
	if CC("reno").Valid() || CC("reno").Mode() != 0 || CC("reno").Index() != -1 {
		t.Error("reno is valid")
	}
}

func TestParseErrors(t *testing.T) {
	for i, tc := range []struct {
		parse func() (CC, error)
		want  string
	}{
		{func() (CC, error) { return Parse("reno") }, `unknown congestion control "reno" (want dctcp, dcqcn, hpcc or timely)`},
		{func() (CC, error) { return Parse("DCTCP") }, `unknown congestion control "DCTCP"`},
		{func() (CC, error) { return Parse("hp95ai25") }, `unknown congestion control "hp95ai25"`},
		{func() (CC, error) { return ParseFork("cubic") }, `unknown congestion control "cubic"`},
		{func() (CC, error) { return FromMode(10) }, "CC_MODE 10: m4 knows 8 (DCTCP), 1 (DCQCN), 3 (HPCC) or 7 (TIMELY)"},
		{func() (CC, error) { return FromMode(0) }, "CC_MODE 0: "},
	} {
		c, err := tc.parse()
		var u *UnknownError
		if c != "" || !errors.As(err, &u) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d: %q, %v, want an *UnknownError with %q", i, c, err, tc.want)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	var s Spec
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s != DefaultSpec() {
		t.Errorf("zero spec validates to %+v, want DefaultSpec %+v", s, DefaultSpec())
	}
	for i, tc := range []struct {
		s    Spec
		want string
	}{
		{Spec{Algorithm: "cubic"}, `algorithm: unknown congestion control "cubic"`},
		{Spec{BufferKB: -1}, "buffer_kb = -1: want a finite value > 0"},
		{Spec{WindowBytes: -1}, "window_bytes = -1"},
		{Spec{HPCCUTarget: 2}, "hpcc_u_target = 2"},
		{Spec{DCQCNKmin: 60}, "dcqcn_kmin = 60: above dcqcn_kmax (50)"},
		{Spec{TimelyTLowNs: 200000}, "timely_t_low_ns = 200000"},
	} {
		if err := tc.s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d: %v, want %q", i, err, tc.want)
		}
	}
}

// A spec's record keeps the algorithm's parameters, rounded, and
// run_m3.py's defaults for the others; the record's spec maps back.
func TestSpecRecord(t *testing.T) {
	for i, c := range All() {
		s := Spec{Algorithm: c, BufferKB: 300.4, WindowBytes: 18000, PFC: true}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		r, err := s.Record()
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		want := NewRecord(c, 300, 18000, true)
		d := DefaultSpec()
		switch c {
		case DCTCP:
			want.DCTCPK = int(d.DCTCPK)
		case DCQCN:
			want.DCQCNKmin, want.DCQCNKmax = int(d.DCQCNKmin), int(d.DCQCNKmax)
		case HPCC:
			want.HPCCUTarget, want.HPCCAI = d.HPCCUTarget, int(d.HPCCAI)
		case TIMELY:
			want.TimelyTLow, want.TimelyTHigh = int(d.TimelyTLowNs), int(d.TimelyTHighNs)
		}
		if r != want {
			t.Errorf("%d: record %+v, want %+v", i, r, want)
		}
		if back, err := r.Spec().Record(); err != nil || back != r {
			t.Errorf("%d: the record's spec maps back to %+v, %v", i, back, err)
		}
	}
	if _, err := (Spec{Algorithm: DCTCP, BufferKB: 300, WindowBytes: 18000}).Record(); err == nil {
		t.Error("a record with dctcp_K 0 is valid")
	}
}

// NewRecord's defaults are what run_m3.py wrote for the algorithms not in
// use, in every param_*.txt of the reference paths.
func TestNewRecordMatchesReference(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(refdata.Root(t), "ns3-paths", "*", "param_*.txt"))
	if len(files) == 0 {
		t.Skip("no param_*.txt in the reference ns3-paths")
	}
	d := NewRecord(DCTCP, 1, 1, false)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		v := strings.Fields(lines[len(lines)-1]) // sample buffer window pfc name K Kmin Kmax eta AI T_low T_high
		if len(v) != 12 {
			t.Fatalf("%s: %d fields", f, len(v))
		}
		c, err := ParseFork(v[4])
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		num := func(i int) float64 { x, _ := strconv.ParseFloat(v[i], 64); return x }
		for _, p := range []struct {
			cc   CC
			idx  []int
			want []float64
		}{
			{DCTCP, []int{5}, []float64{float64(d.DCTCPK)}},
			{DCQCN, []int{6, 7}, []float64{float64(d.DCQCNKmin), float64(d.DCQCNKmax)}},
			{HPCC, []int{8, 9}, []float64{d.HPCCUTarget, float64(d.HPCCAI)}},
			{TIMELY, []int{10, 11}, []float64{float64(d.TimelyTLow), float64(d.TimelyTHigh)}},
		} {
			if p.cc == c {
				continue
			}
			for k, i := range p.idx {
				if num(i) != p.want[k] {
					t.Fatalf("%s: %s field %d = %s, NewRecord has %v", f, p.cc, i, v[i], p.want[k])
				}
			}
		}
	}
}

// Every key of Defaulted is a key of Spec that Validate fills in.
func TestDefaulted(t *testing.T) {
	var s Spec
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	v := reflect.ValueOf(s)
	filled := map[string]bool{}
	for i := 0; i < v.NumField(); i++ {
		key, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		filled[key] = !v.Field(i).IsZero()
	}
	for _, k := range Defaulted() {
		if !filled[k] {
			t.Errorf("%s: not a key of Spec, or left at zero by Validate", k)
		}
	}
}
