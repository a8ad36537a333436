package dynamics

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/atomicfile"
)

// FormatName and FormatVersion identify a dynamics checkpoint (the
// safetensors metadata keys "format" and "format_version"). It is not the
// path model's format (docs/checkpoint.md): m4 predict refuses it, Load
// refuses the path model's.
const (
	FormatName    = "m4-dynamics"
	FormatVersion = 1
)

// Optimizer-state tensor name prefixes in a resumable checkpoint.
const (
	prefixExpAvg   = "optim.exp_avg."
	prefixExpAvgSq = "optim.exp_avg_sq."
)

// Checkpoint is everything m4 keeps of a dynamics model: its shape, its
// parameters (in the native tensor order), optionally AdamW's moments (a
// resumable checkpoint), and how it was trained.
type Checkpoint struct {
	Config   bindings.DynConfig
	Params   []float32
	ExpAvg   []float32 // nil, or AdamW's first moments
	ExpAvgSq []float32 // nil, or AdamW's second moments
	Training TrainInfo
}

// TrainInfo records how a checkpoint was trained and where a resumed run
// goes on from.
type TrainInfo struct {
	Command     string   `json:"command,omitempty"`
	Data        []string `json:"data,omitempty"` // the training traces
	Seed        uint64   `json:"seed"`
	LR          float64  `json:"lr"`
	WeightDecay float64  `json:"weight_decay"`
	Window      int      `json:"window"`             // events per backpropagation window
	Replicas    int      `json:"replicas,omitempty"` // data-parallel replicas (Options.Replicas; absent: 1)
	Init        string   `json:"init,omitempty"`     // the checkpoint a fine-tune started from
	// Ranges is what the training traces covered (nil in checkpoints
	// written before 2026-12-07 that were not given theirs since).
	Ranges  *Ranges     `json:"ranges,omitempty"`
	Epochs  int         `json:"epochs"`  // asked for
	Epoch   int         `json:"epoch"`   // finished
	Step    int         `json:"step"`    // AdamW steps taken
	History []EpochStat `json:"history"` // one per finished epoch
	// ValFCTErrorStart is the held-out FCT error before the first epoch:
	// the --init model's, else, with a flowsim prior, flowsim's own (the bar
	// training must clear).
	ValFCTErrorStart float64 `json:"val_fct_error_start,omitempty"`
}

// EpochStat is one epoch's mean losses over its windows (each window's
// loss weighted by its events) and, with validation traces, the FCT error
// of the event loop on them.
type EpochStat struct {
	Epoch    int     `json:"epoch"`
	Loss     float64 `json:"loss"`
	Slowdown float64 `json:"slowdown"`
	Remain   float64 `json:"remain"`
	Queue    float64 `json:"queue"`
	Every    float64 `json:"every,omitempty"` // with Config.WEvery
	// ValFCTError is the mean |estimated FCT / true FCT - 1| of Estimate on
	// the validation traces (0 without any).
	ValFCTError float64 `json:"val_fct_error,omitempty"`
	Seconds     float64 `json:"seconds"`
}

type headerEntry struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// layout returns the tensor table of a model of cfg (asked of the native
// model, the one owner of the order).
func layout(cfg bindings.DynConfig) ([]bindings.TensorInfo, int, error) {
	d, err := bindings.NewDyn(cfg, false)
	if err != nil {
		return nil, 0, err
	}
	defer d.Close()
	return d.Tensors(), d.NumParams(), nil
}

// Encode returns ck as a safetensors image: F32 tensors under the native
// names (and prefixExpAvg/prefixExpAvgSq + name for AdamW's moments), the
// metadata format, format_version, dyn_config, training (JSON) and
// data_sha256 (of the tensor data).
func Encode(ck *Checkpoint) ([]byte, error) {
	ts, np, err := layout(ck.Config)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if len(ck.Params) != np {
		return nil, fmt.Errorf("checkpoint: %d parameters for a model of %d", len(ck.Params), np)
	}
	if (ck.ExpAvg == nil) != (ck.ExpAvgSq == nil) || (ck.ExpAvg != nil && (len(ck.ExpAvg) != np || len(ck.ExpAvgSq) != np)) {
		return nil, fmt.Errorf("checkpoint: AdamW state of %d and %d values for %d parameters", len(ck.ExpAvg), len(ck.ExpAvgSq), np)
	}
	cj, err := json.Marshal(ck.Config)
	if err != nil {
		return nil, err
	}
	tj, err := json.Marshal(ck.Training)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{"format": FormatName, "format_version": strconv.Itoa(FormatVersion),
		"dyn_config": string(cj), "training": string(tj)}
	header := map[string]any{}
	var data bytes.Buffer
	put := func(name string, shape []int, v []float32) {
		begin := int64(data.Len())
		var b [4]byte
		for _, x := range v {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
			data.Write(b[:])
		}
		header[name] = headerEntry{"F32", shape, [2]int64{begin, int64(data.Len())}}
	}
	for _, t := range ts {
		put(t.Name, t.Shape, ck.Params[t.Offset:t.Offset+t.Size])
	}
	if ck.ExpAvg != nil {
		for _, t := range ts {
			put(prefixExpAvg+t.Name, t.Shape, ck.ExpAvg[t.Offset:t.Offset+t.Size])
		}
		for _, t := range ts {
			put(prefixExpAvgSq+t.Name, t.Shape, ck.ExpAvgSq[t.Offset:t.Offset+t.Size])
		}
	}
	sum := sha256.Sum256(data.Bytes())
	meta["data_sha256"] = hex.EncodeToString(sum[:])
	header["__metadata__"] = meta
	hj, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	for (8+len(hj))%8 != 0 { // the data starts 8-byte aligned
		hj = append(hj, ' ')
	}
	out := make([]byte, 8, 8+len(hj)+data.Len())
	binary.LittleEndian.PutUint64(out, uint64(len(hj)))
	out = append(out, hj...)
	return append(out, data.Bytes()...), nil
}

// Save writes ck to path atomically (whole or absent).
func Save(path string, ck *Checkpoint) error {
	b, err := Encode(ck)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, b)
}

// Load reads and checks the dynamics checkpoint at path (a missing file is
// fs.ErrNotExist).
func Load(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(path, b)
}

// Decode reads a checkpoint image with the native reader (m4_dyn_load, the
// one reader of the format: bindings.LoadDynBytes); name is used in
// errors, which name the field or tensor at fault.
func Decode(name string, b []byte) (*Checkpoint, error) {
	d, info, err := bindings.LoadDynBytes(name, b, true)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	ck := &Checkpoint{Config: info.Config, Params: d.Params()}
	if info.OptimizerState {
		if ck.ExpAvg, ck.ExpAvgSq, err = d.Adam(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := json.Unmarshal(info.Training, &ck.Training); err != nil {
		return nil, fmt.Errorf("%s: metadata training: %w", name, err)
	}
	return ck, nil
}

// WriteCard writes the model card of ck (markdown) to path atomically: what
// the model is, its shape and size, its data, how it was trained and its
// loss per epoch.
func WriteCard(path string, ck *Checkpoint) error {
	_, np, err := layout(ck.Config)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	c, t := ck.Config, ck.Training
	fmt.Fprintf(&b, "# m4 dynamics checkpoint\n\n")
	fmt.Fprintf(&b, "m4's flow-level dynamics model (format %s v%d): per-flow and per-link GRU states "+
		"(hidden %d), %d GraphSAGE layers (width %d) over the active flows and their links at every arrival "+
		"and departure, MLP heads of %d for slowdown, remaining bytes and queue length. %d parameters.\n\n",
		FormatName, FormatVersion, c.Hidden, c.GNNLayers, c.GNNWidth, c.MLPHidden, np)
	if c.NParams > 0 {
		fmt.Fprintf(&b, "Every flow's features end with the workload's %d configuration values (dynamics.ConfigFeatures).\n\n", c.NParams)
	}
	if c.Prior != 0 {
		fmt.Fprintf(&b, "Flowsim prior: each flow's flowsim slowdown (every path) is its last feature, and the slowdown "+
			"head corrects it (an untrained model answers flowsim's FCTs).\n\n")
	}
	fmt.Fprintf(&b, "Loss: mean |slowdown estimate / truth - 1| + %g x L1(remaining / size) + %g x L1(queue / %g B)",
		c.WRemain, c.WQueue, c.QueueNormBytes)
	if c.WEvery > 0 {
		fmt.Fprintf(&b, " + %g x the first term over every active flow after every event", c.WEvery)
	}
	fmt.Fprintf(&b, ".\n\n")
	fmt.Fprintf(&b, "## Training\n\n")
	if t.Command != "" {
		fmt.Fprintf(&b, "Command: `%s`\n\n", t.Command)
	}
	fmt.Fprintf(&b, "AdamW lr %g, weight decay %g, windows of %d events (truncated BPTT), seed %d; "+
		"%d of %d epochs, %d steps.\n\n", t.LR, t.WeightDecay, t.Window, t.Seed, t.Epoch, t.Epochs, t.Step)
	if t.Init != "" {
		fmt.Fprintf(&b, "Fine-tuned from %s.\n\n", t.Init)
	}
	if t.Replicas > 1 {
		fmt.Fprintf(&b, "Data-parallel: %d replicas, each step the mean gradient of their %d windows.\n\n", t.Replicas, t.Replicas)
	}
	if r := t.Ranges; r != nil {
		fmt.Fprintf(&b, "Trained ranges (m4 run and m4 eval report inputs outside them): %s.\n\n", r)
	}
	fmt.Fprintf(&b, "Data (%d traces):\n\n", len(t.Data))
	for _, d := range t.Data {
		fmt.Fprintf(&b, "- %s\n", d)
	}
	if t.ValFCTErrorStart > 0 {
		fmt.Fprintf(&b, "\nHeld-out FCT error before training: %.4f.\n", t.ValFCTErrorStart)
	}
	fmt.Fprintf(&b, "\n| epoch | loss | slowdown | remain | queue | val FCT error | seconds |\n|---|---|---|---|---|---|---|\n")
	for _, h := range t.History {
		fmt.Fprintf(&b, "| %d | %.4f | %.4f | %.4f | %.4f | %.4f | %.1f |\n", h.Epoch, h.Loss, h.Slowdown, h.Remain,
			h.Queue, h.ValFCTError, h.Seconds)
	}
	return atomicfile.WriteBytes(path, b.Bytes())
}
