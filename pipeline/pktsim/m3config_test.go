package pktsim

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
)

// m3Dirs returns the scenario folders of a reference set.
func m3Dirs(t testing.TB, set string) []string {
	dirs, _ := filepath.Glob(filepath.Join(referenceDir(t), set, "shard*"))
	if len(dirs) == 0 {
		t.Fatalf("no scenarios in %s", set)
	}
	return dirs
}

var absPath = regexp.MustCompile(`(?m) /(?:[^\s/]+/)+([^\s/]+)$`)

// TestM3ConfigTextMatchesReference rebuilds every reference scenario's ns-3
// config from its param_*.txt (plus the stop time, which depends on the flow
// file) and checks it byte for byte: ns3-paths as stored, m3-shards with
// their absolute paths shortened to file names and the fork's default queue
// monitor start.
func TestM3ConfigTextMatchesReference(t *testing.T) {
	stopRe := regexp.MustCompile(`(?m)^SIMULATOR_STOP_TIME (\d+)$`)
	n := 0
	for _, set := range []string{"ns3-paths", "m3-shards"} {
		for _, dir := range m3Dirs(t, set) {
			params, _ := filepath.Glob(filepath.Join(dir, "param_*.txt"))
			configs, _ := filepath.Glob(filepath.Join(dir, "config_*.txt"))
			if len(params) != 1 || len(configs) != 1 {
				t.Fatalf("%s: %d param and %d config files", dir, len(params), len(configs))
			}
			cfg, err := features.ReadParamText(params[0])
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(configs[0])
			want := string(b)
			m := stopRe.FindStringSubmatch(want)
			if m == nil {
				t.Fatalf("%s: no SIMULATOR_STOP_TIME", configs[0])
			}
			stop, _ := strconv.Atoi(m[1])
			hosts := 3
			if strings.Contains(dir, "nhosts5") {
				hosts = 5
			} else if strings.Contains(dir, "nhosts7") {
				hosts = 7
			}
			o := M3Options{Hosts: hosts, LinkGbps: 10, BaseRTTNs: 14400, StopS: stop, QlenMonStartNs: 100000000000}
			if set == "m3-shards" {
				o.QlenMonStartNs = 1000000000
				want = absPath.ReplaceAllString(want, " $1")
			}
			got := M3ConfigText(cfg, o)
			if got != want {
				gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
				for i := range min(len(gl), len(wl)) {
					if gl[i] != wl[i] {
						t.Fatalf("%s: line %d: m4 %q, fork %q", configs[0], i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("%s: m4 writes %d lines, the fork %d", configs[0], len(gl), len(wl))
			}
			n++
		}
	}
	t.Logf("%d configs identical", n)
}

// TestM3ConfigIsItsText: the config M3Config builds is the one ParseConfig
// reads from M3ConfigText, for every algorithm, with and without the file
// keys, so simulating either is the same.
func TestM3ConfigIsItsText(t *testing.T) {
	for i, a := range cc.All() {
		c := features.DefaultConfig(a, 300, 18000, i%2 == 0)
		c.CCName = c.ForkName()
		for _, o := range []M3Options{
			{Hosts: 5, LinkGbps: 10, BaseRTTNs: 14400, StopS: 7, QlenMonStartNs: 100000000000},
			{LinkGbps: 25, BaseRTTNs: 8000, StopS: 3, QlenMonStartNs: 1},
			{LinkGbps: 100, BaseRTTNs: 14400, StopS: 3, QlenMonStartNs: 1},
			{LinkGbps: 10, FabricGbps: 10, BaseRTTNs: 14400, StopS: 3, QlenMonStartNs: 1},
			{LinkGbps: 10, FabricGbps: 100, BaseRTTNs: 14400, StopS: 3, QlenMonStartNs: 1},
		} {
			got, err := M3Config(c, o)
			if err != nil {
				t.Fatalf("case %d (%s): %v", i, a, err)
			}
			want, err := ParseConfig(got.Source, strings.NewReader(M3ConfigText(c, o)))
			if err != nil {
				t.Fatalf("case %d (%s): %v", i, a, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("case %d (%s, %+v): M3Config differs from its text:\n%s\nvs\n%s", i, a, o, got.Format(), want.Format())
			}
			if got.MaxRate != Rate(o.LinkGbps)*1e9 || (a == cc.HPCC && got.INTMulti != uint32(max(o.LinkGbps/25, 1))) {
				t.Errorf("case %d (%s, %d Gbps): MAX_RATE %v, INT_MULTI %d; want the host rate and max(bw/25, 1)", i, a, o.LinkGbps, got.MaxRate, got.INTMulti)
			}
			// the ECN maps: the host rate, then the fabric rate (4x by default), K scaled to each
			fb := o.FabricGbps
			if fb == 0 {
				fb = 4 * o.LinkGbps
			}
			k, per := c.DCQCNKmax, 25
			if a == cc.DCTCP {
				k, per = c.DCTCPK, 10
			}
			wantK := []KMapEntry{{Rate(o.LinkGbps) * 1e9, uint32(k * o.LinkGbps / per)}, {Rate(fb) * 1e9, uint32(k * fb / per)}}
			if fb == o.LinkGbps {
				wantK = wantK[:1]
			}
			if !reflect.DeepEqual(got.KmaxMap, wantK) {
				t.Errorf("case %d (%s, %d/%d Gbps): KMAX_MAP %v, want %v", i, a, o.LinkGbps, fb, got.KmaxMap, wantK)
			}
			if o.Hosts == 0 && (got.TopologyFile != "" || got.FCTOutputFile != DefaultConfig().FCTOutputFile) {
				t.Errorf("case %d (%s): file keys without hosts: %q %q", i, a, got.TopologyFile, got.FCTOutputFile)
			}
		}
	}
}
