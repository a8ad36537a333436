// Package ns3 reads a run of the HPCC ns-3 fork as its users hold it: the
// fork's config file, with the topology and flow files it names (resolved
// beside it), becomes an m4 workload that `m4 run` and `m4 eval` estimate,
// and the fork's FCT output file becomes ground truth.
//
// The config is read with pipeline/pktsim's parser (every key the fork
// reads), the topology with both pipeline/workload's reader (routing and
// decomposition) and pipeline/pktsim's (the packet simulator); node ids and
// link order are the file's in both. Flow i of the workload is line i of
// the flow file; its start is the time the fork schedules (the file's
// seconds through ns-3's Seconds(), which can be 1 ns early).
package ns3

import (
	"fmt"

	"github.com/m4sim/m4/pipeline/pktsim"
	"github.com/m4sim/m4/pipeline/workload"
)

// Run is one fork run: its config, topology and flows, and the same
// network and flows as an m4 workload.
type Run struct {
	ConfigFile string // the config's path
	Config     *pktsim.Config
	Topo       *pktsim.NS3Topology
	Flows      *pktsim.NS3Flows
	// Workload has the file's topology and flows (Workload.Flows row i is
	// Flows row i), with its routing; no spec, matrix or size
	// distribution.
	Workload *workload.Workload
	// HostGbps and FabricGbps are the rates of the host links and of the
	// links between switches (each must be a single rate).
	HostGbps, FabricGbps float64
	// FCTFile is FCT_OUTPUT_FILE resolved beside the config (it may not
	// exist: the fork has not run yet).
	FCTFile string
}

// Load reads the config file at path and the TOPOLOGY_FILE and FLOW_FILE
// it names. Errors name the file, line and key or field.
func Load(path string) (*Run, error) {
	fr, err := pktsim.LoadForkRun(path, "", "")
	if err != nil {
		return nil, err
	}
	r := &Run{ConfigFile: path, Config: fr.Config, Topo: fr.Topology, Flows: fr.Flows, FCTFile: fr.FCTFile}
	topoFile, flowFile := fr.Topology.Name, fr.Flows.Name
	wt, err := workload.ReadNS3(topoFile)
	if err != nil {
		return nil, fmt.Errorf("%s: TOPOLOGY_FILE: %w", path, err)
	}
	if r.HostGbps, r.FabricGbps, err = wt.LinkRates(); err != nil {
		return nil, fmt.Errorf("%s: %w", topoFile, err)
	}
	rt, err := workload.NewRouting(wt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", topoFile, err)
	}
	w := &workload.Workload{Topo: wt, Routing: rt, Busiest: -1}
	f := &w.Flows
	n := r.Flows.Len()
	f.Src, f.Dst = make([]int32, n), make([]int32, n)
	f.Size, f.StartNs = make([]int64, n), make([]int64, n)
	for i := 0; i < n; i++ {
		f.Src[i], f.Dst[i] = r.Flows.Src[i], r.Flows.Dst[i]
		f.Size[i], f.StartNs[i] = int64(r.Flows.SizeBytes[i]), int64(r.Flows.StartNs[i])
	}
	if err := f.Validate(wt); err != nil {
		return nil, fmt.Errorf("%s: %w", flowFile, err)
	}
	r.Workload = w
	return r, nil
}

// FCT is the fork's outcome for the flows of a run, in flow-file order.
type FCT = pktsim.ForkFCT

// ReadFCT reads the fork's FCT output (`id sip dip sport dport size
// start_ns fct_ns ideal_ns` per finished flow, in completion order) for
// the flows of r. Every flow must appear once, with its size; errors name
// the file and line.
func (r *Run) ReadFCT(path string) (*FCT, error) { return pktsim.ReadFCTFile(path, r.Flows) }
