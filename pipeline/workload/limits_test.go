package workload

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// speedSpec is the speed issue's workload: 2,048 hosts, 10^6 flows.
const speedSpec = "topology: {kind: fabric, pods: 4, fabs_per_pod: 4, racks_per_pod: 32, hosts_per_rack: 16, oversubscription: 2}\n" +
	"sizes: {dist: webserver}\narrivals: {process: lognormal, sigma: 1}\ntraffic: {matrix: uniform}\nmax_load: 0.5\n" +
	"cc: {algorithm: dctcp, buffer_kb: 3000}\n"

// TestSizeLimits: workloads past the limits are refused within a second,
// before any flow is drawn, with the figure; the default limit admits the
// 10^6-flow, 2,048-host workload, and reports progress while drawing it.
func TestSizeLimits(t *testing.T) {
	for _, c := range []struct {
		text string
		max  int
		want string
	}{
		{speedSpec + "flows: 1000000000\n", 0, "flows = 1000000000, more than the limit of 10000000 flows (they would take about 220 GB"},
		{speedSpec + "duration_s: 1000\n", 0, "duration_s = 1000 gives about 9.34e+09 flows"},
		{speedSpec + "flows: 1000\n", 999, "flows = 1000, more than the limit of 999"},
		{speedSpec + "duration_s: 0.001\n", 100, "duration_s = 0.001 gives about"},
		{"topology: {hosts_per_rack: 88888}\nsizes: {dist: webserver}\nmax_load: 0.5\nflows: 10\n", 0, "2844484 hosts and switches, more than m4 routes"},
		{"topology: {kind: fattree, k: 80}\nsizes: {dist: webserver}\nmax_load: 0.5\nflows: 10\n", 0, "136000 hosts and switches"},
	} {
		s, err := ParseSpec("t.yaml", []byte(c.text))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = GenerateWith(s, Options{MaxFlows: c.max})
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("%q: refused after %v", c.text, el)
		}
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "t.yaml: ") {
			t.Errorf("%q: error %v, want ErrTooLarge saying %q", c.text, err, c.want)
		}
	}
	if testing.Short() {
		t.Skip("-short: not generating the 10^6-flow workload")
	}
	s, err := ParseSpec("speed.yaml", []byte(speedSpec+"flows: 1000000\n"))
	if err != nil {
		t.Fatal(err)
	}
	last, calls := 0, 0
	w, err := GenerateWith(s, Options{Progress: func(done, total int) {
		if done < last || done > total || total != 1_000_000 {
			t.Fatalf("progress %d/%d after %d", done, total, last)
		}
		last = done
		calls++
	}})
	if err != nil {
		t.Fatal(err)
	}
	if w.Flows.Len() != 1_000_000 || len(w.Topo.Hosts()) != 2048 || last != 1_000_000 || calls < 10 {
		t.Errorf("%d flows on %d hosts; progress reached %d in %d calls", w.Flows.Len(), len(w.Topo.Hosts()), last, calls)
	}
}
