package bindings

import "fmt"

// DynConfig is the shape of m4's flow-level dynamics model (m4_dyn_config
// in m4.h): flow and link states Hidden wide, GNNLayers GraphSAGE layers
// (the inner ones GNNWidth wide) over the active flows and their links, and
// three MLP heads (MLPHidden) reading a flow's slowdown, its remaining
// bytes and a link's queue. The loss weighs the remaining-bytes and queue
// terms by WRemain and WQueue; a queue of QueueNormBytes reads as 1.
type DynConfig struct {
	Hidden         int     `json:"hidden"`
	GNNWidth       int     `json:"gnn_width"`
	GNNLayers      int     `json:"gnn_layers"`
	MLPHidden      int     `json:"mlp_hidden"`
	LNEps          float32 `json:"ln_eps"`
	WRemain        float32 `json:"w_remain"`
	WQueue         float32 `json:"w_queue"`
	QueueNormBytes float32 `json:"queue_norm_bytes"`
	// NParams configuration values (the workload's congestion control,
	// buffer, ...: DynWorkload.Params) are appended to every flow's
	// features; 0 for none.
	NParams int `json:"n_params"`
	// Prior 1: every flow has a prior slowdown (DynWorkload.Prior; m4's
	// pipeline: flowsim's), read as a feature and corrected by the slowdown
	// head (m4.h, m4_dyn_config.prior); 0: none (as in checkpoints that do
	// not name it).
	Prior int `json:"prior,omitempty"`
	// WEvery weighs a slowdown loss of every active flow after every
	// event (m4_dyn_config.w_every): the estimates the event loop
	// schedules departures from. 0: off (as in checkpoints that do not
	// name it).
	WEvery float32 `json:"w_every,omitempty"`
}

// DynCheckpointInfo is what a dynamics checkpoint says besides its
// tensors (m4_dyn_checkpoint_info).
type DynCheckpointInfo struct {
	Config         DynConfig
	OptimizerState bool   // the file holds AdamW's moments (a resumable checkpoint)
	Training       []byte // the training record, a JSON object (its fields are the writer's)
}

// DynWorkload is a workload as the dynamics model reads it (m4_dyn_workload):
// F flows with their routes over L directed links. FlowIdealNs (the
// slowdown denominator) may be nil for Run, which then uses DynIdealNs.
type DynWorkload struct {
	FlowSize     []int64 // F: payload bytes > 0
	FlowStartNs  []int64 // F: start, ns, any order
	FlowIdealNs  []int64 // F or nil: ideal FCT, ns
	FlowRoutePtr []int64 // F+1: flow f crosses FlowRoute[FlowRoutePtr[f]:FlowRoutePtr[f+1]]
	FlowRoute    []int32 // directed link ids, source to destination
	LinkGbps     []float64
	LinkDelayNs  []int64
	Params       []float32 // the workload's configuration values (DynConfig.NParams of them; nil for none)
	Prior        []float32 // F prior slowdowns >= 1 with DynConfig.Prior = 1, else nil
}

// DynTrace is a packet-level trace of a workload, the training data of the
// dynamics model (m4_dyn_trace). Its fields are those of dynamics.npz
// (pipeline/dyntrace.Trace) under the same names, less the link endpoints.
type DynTrace struct {
	DynWorkload
	FlowFCTNs []int64 // F: packet-level FCT, ns

	EvTimeNs []int64 // E: non-decreasing
	EvKind   []int8  // E: 0 arrival, 1 departure
	EvFlow   []int32 // E

	EvActivePtr       []int64   // E+1
	EvActiveFlow      []int32   // flows active right after each event
	EvActiveRemaining []float32 // their remaining bytes

	EvQueuePtr   []int64   // E+1
	EvQueueLink  []int32   // links with a queue at each event
	EvQueueBytes []float32 // its bytes
}

// DynLoss is the loss of a window of events: Total = Slowdown + WRemain x
// Remain + WQueue x Queue + WEvery x Every, each a mean over its samples
// (0 without any).
type DynLoss struct {
	Total, Slowdown, Remain, Queue, Every float64
	NSlowdown, NRemain, NQueue, NEvery    int
}

// checkCSR checks that ptr (n+1 offsets from 0) indexes arrays of length m.
func checkCSR(name string, ptr []int64, n, m int) error {
	if len(ptr) != n+1 {
		return fmt.Errorf("%s: %d offsets, want %d", name, len(ptr), n+1)
	}
	if ptr[0] != 0 {
		return fmt.Errorf("%s[0] = %d, want 0", name, ptr[0])
	}
	for i := 1; i <= n; i++ {
		if ptr[i] < ptr[i-1] {
			return fmt.Errorf("%s[%d] = %d decreases", name, i, ptr[i])
		}
	}
	if ptr[n] != int64(m) {
		return fmt.Errorf("%s[%d] = %d, but %d entries", name, n, ptr[n], m)
	}
	return nil
}

// Check checks w's array lengths (its values are checked natively); ideal
// says whether FlowIdealNs is required.
func (w *DynWorkload) Check(ideal bool) error {
	f := len(w.FlowSize)
	if f == 0 {
		return fmt.Errorf("workload: no flows")
	}
	if len(w.FlowStartNs) != f || (w.FlowIdealNs != nil && len(w.FlowIdealNs) != f) || (ideal && w.FlowIdealNs == nil) {
		return fmt.Errorf("workload: flow arrays of different lengths (%d sizes, %d starts, %d ideal FCTs)", f, len(w.FlowStartNs), len(w.FlowIdealNs))
	}
	if len(w.LinkGbps) == 0 || len(w.LinkDelayNs) != len(w.LinkGbps) {
		return fmt.Errorf("workload: %d link rates, %d link delays", len(w.LinkGbps), len(w.LinkDelayNs))
	}
	return checkCSR("flow_route_ptr", w.FlowRoutePtr, f, len(w.FlowRoute))
}

// Check checks t's array lengths (its values are checked natively).
func (t *DynTrace) Check() error {
	if err := t.DynWorkload.Check(true); err != nil {
		return err
	}
	if len(t.FlowFCTNs) != len(t.FlowSize) {
		return fmt.Errorf("trace: %d FCTs for %d flows", len(t.FlowFCTNs), len(t.FlowSize))
	}
	e := len(t.EvTimeNs)
	if e == 0 || len(t.EvKind) != e || len(t.EvFlow) != e {
		return fmt.Errorf("trace: %d event times, %d kinds, %d flows", e, len(t.EvKind), len(t.EvFlow))
	}
	if len(t.EvActiveFlow) != len(t.EvActiveRemaining) {
		return fmt.Errorf("trace: %d active flows, %d remaining sizes", len(t.EvActiveFlow), len(t.EvActiveRemaining))
	}
	if len(t.EvQueueLink) != len(t.EvQueueBytes) {
		return fmt.Errorf("trace: %d queue links, %d queue sizes", len(t.EvQueueLink), len(t.EvQueueBytes))
	}
	if err := checkCSR("ev_active_ptr", t.EvActivePtr, e, len(t.EvActiveFlow)); err != nil {
		return err
	}
	return checkCSR("ev_queue_ptr", t.EvQueuePtr, e, len(t.EvQueueLink))
}
