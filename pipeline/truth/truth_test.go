package truth

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/m4sim/m4/internal/workloadtest"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/pktsim"
	"github.com/m4sim/m4/pipeline/workload"
)

func generate(t *testing.T, spec string) (*workload.Workload, features.Config) {
	t.Helper()
	w, s := workloadtest.Generate(t, spec)
	return w, features.DefaultConfig(s.CC.Algorithm, 300, 18000, true)
}

// A single DCTCP flow with a window above the BDP, alone in the network,
// finishes in its ideal FCT: slowdown exactly 1.
func TestLoneFlowHasSlowdownOne(t *testing.T) {
	w, cfg := generate(t, `
topology: {kind: fattree, k: 4}
sizes: {dist: webserver}
traffic: {matrix: uniform}
max_load: 0.3
flows: 1
seed: 5
cc: {algorithm: dctcp, window_bytes: 18000, pfc: true}
`)
	tr, err := Simulate(w, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Slowdown) != 1 || tr.Slowdown[0] != 1 {
		t.Fatalf("lone flow slowdown %v, want [1]", tr.Slowdown)
	}
}

// TestInputIsTheForkFiles: the simulator's input built from workload
// types is what the fork reads from the files m3's generator writes for
// the same workload (topology file, config text), so the truth is the
// fork's view of it.
func TestInputIsTheForkFiles(t *testing.T) {
	w, cfg := generate(t, `
topology: {kind: fattree, k: 4}
sizes: {dist: hadoop}
traffic: {matrix: uniform}
max_load: 0.4
flows: 50
seed: 7
cc: {algorithm: hpcc, window_bytes: 18000, pfc: true}
`)
	c, err := Input(w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := w.Topo.WriteNS3(&b); err != nil {
		t.Fatal(err)
	}
	topo, err := pktsim.ParseTopology(w.Topo.Name, &b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Topo, topo) {
		t.Error("topology differs from the one read from its ns-3 file")
	}
	o := pktsim.M3Options{Hosts: 3, LinkGbps: 10, BaseRTTNs: BaseRTTNs, // 10: the spec's host_gbps by default
		StopS: int(c.Config.SimulatorStopTime), QlenMonStartNs: QlenMonStartNs}
	file, err := pktsim.ParseConfig("config.txt", strings.NewReader(pktsim.M3ConfigText(cfg, o)))
	if err != nil {
		t.Fatal(err)
	}
	file.Source = c.Config.Source
	file.TopologyFile, file.FlowFile, file.FlowOnPathFile, file.FlowPathMapFile = "", "", "", ""
	file.TraceFile, file.TraceOutputFile, file.QlenMonFile = "", "", ""
	file.FCTOutputFile, file.PFCOutputFile = c.Config.FCTOutputFile, c.Config.PFCOutputFile
	if !reflect.DeepEqual(c.Config, file) {
		t.Errorf("config differs from the file's:\n%s\nvs\n%s", c.Config.Format(), file.Format())
	}
	if c.Flows.Len() != w.Flows.Len() || c.Flows.SizeBytes[7] != uint64(w.Flows.Size[7]) {
		t.Errorf("%d flows for %d", c.Flows.Len(), w.Flows.Len())
	}
}
