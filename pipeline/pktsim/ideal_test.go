package pktsim

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/internal/refdata"
	"github.com/m4sim/m4/pipeline/cc"
)

// IdealFCTs reproduces the fork's ideal FCT (fct.txt's last column) on the
// reference fabric runs, without simulating: within 0.1% on at least 99% of
// the flows of every run.
func TestIdealFCTsMatchFabricRuns(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	runs, _ := filepath.Glob(filepath.Join(refdata.Root(t), "ns3-fabrics", "fab*"))
	if len(runs) == 0 {
		t.Skip("no ns3-fabrics runs in the reference data")
	}
	for _, dir := range runs {
		cfg, err := ParseConfigFile(filepath.Join(dir, "config.txt"))
		if err != nil {
			t.Fatal(err)
		}
		topo, err := ParseTopologyFile(filepath.Join(dir, "topology.txt"))
		if err != nil {
			t.Fatal(err)
		}
		flows, err := ParseFlowFile(filepath.Join(dir, "flows.txt"))
		if err != nil {
			t.Fatal(err)
		}
		ideal, err := IdealFCTs(cfg, topo, flows, 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		fork, err := readForkIdeal(filepath.Join(dir, "fct.txt"))
		if err != nil {
			t.Fatal(err)
		}
		close, exact := 0, 0
		for i, id := range flows.ID {
			want, ok := fork[id]
			if !ok {
				t.Fatalf("%s: flow id %d is not in fct.txt", dir, id)
			}
			if math.Abs(float64(ideal[i])/float64(want)-1) <= 1e-3 {
				close++
			}
			if ideal[i] == want {
				exact++
			}
		}
		n := flows.Len()
		t.Logf("%s: %d flows, %d within 0.1%% of the fork's ideal FCT, %d equal", filepath.Base(dir), n, close, exact)
		if float64(close) < 0.99*float64(n) {
			t.Errorf("%s: only %d of %d ideal FCTs within 0.1%% of the fork's", dir, close, n)
		}
	}
}

// readForkIdeal reads fct.txt's ideal FCT per flow id.
func readForkIdeal(path string) (map[uint32]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[uint32]int64{}
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		fs := strings.Fields(sc.Text())
		if len(fs) != 9 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 9", path, ln, len(fs))
		}
		id, err1 := strconv.ParseUint(fs[0], 10, 32)
		v, err2 := strconv.ParseInt(fs[8], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s:%d: bad id or ideal FCT", path, ln)
		}
		out[uint32(id)] = v
	}
	return out, sc.Err()
}

// On 25 Gbps hosts the fork caps the ideal FCT's rate at 10 Gbps; m4's own
// truth caps it at the host rate (IdealCap): a 1 MB flow across one switch
// takes the two hops' propagation, its first packet at each hop and the
// rest of its payload and headers at the capped rate (each term in whole
// ns, as the fork's integer arithmetic truncates them).
func TestIdealCap(t *testing.T) {
	needNative(t)
	if d := Rate(bindings.DefaultPktsimConfig().IdealRateCapBps); d != ForkIdealCap {
		t.Errorf("libm4's default ideal cap %v, ForkIdealCap %v", d, ForkIdealCap)
	}
	if c := IdealCap(star(2, 10e9)); c != 10e9 {
		t.Errorf("10 Gbps hosts: cap %v, want 10 Gbps", c)
	}
	if c := IdealCap(star(2, 1e9)); c != 10e9 {
		t.Errorf("1 Gbps hosts: cap %v, want the fork's 10 Gbps", c)
	}
	topo := star(2, 25e9)
	if c := IdealCap(topo); c != 25e9 {
		t.Fatalf("25 Gbps hosts: cap %v, want 25 Gbps", c)
	}
	flows := &NS3Flows{Name: "one flow"}
	flows.Add(0, 0, 1, 1_000_000, 0)
	cfg := mustTemplate(t, cc.DCTCP)
	first := 2 * math.Floor(1048*8/25.0) // ns
	for _, c := range []struct {
		cap  Rate
		gbps float64
	}{{0, 10}, {25e9, 25}} {
		ideal, err := IdealFCTs(cfg, topo, flows, c.cap)
		if err != nil {
			t.Fatal(err)
		}
		want := 2000 + first + math.Floor(999_000*8/c.gbps) + 999*math.Floor(48*8/c.gbps)
		if float64(ideal[0]) != want {
			t.Errorf("cap %v: ideal %d ns, want %.0f", c.cap, ideal[0], want)
		}
	}
}
