package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/features"
)

// FormatName and FormatVersion identify m4's checkpoint files (the
// "format" and "format_version" metadata; see docs/checkpoint.md).
const (
	FormatName    = "m4-checkpoint"
	FormatVersion = 1
)

// Optimizer-state tensor name prefixes in resume checkpoints, and the input
// normalisation's tensors.
const (
	prefixExpAvg   = "adamw.exp_avg."
	prefixExpAvgSq = "adamw.exp_avg_sq."
	prefixEMA      = "ema."
	normShift      = "input_norm.shift"
	normScale      = "input_norm.scale"
	calibLevels    = "calibration.levels"
)

// Dtype is a tensor storage type of a checkpoint file.
type Dtype string

// The storage types m4 reads and writes.
const (
	F32 Dtype = "F32"
	F16 Dtype = "F16"
)

// Checkpoint is everything m4 keeps of a model: its configuration, its
// parameters (in the order of Tensors(Config)), how its input features are
// made, how it was trained, and for resuming, the optimizer's state.
type Checkpoint struct {
	Config    bindings.ModelConfig
	Params    []float32
	Features  FeatureSpec
	Training  *TrainInfo  // nil if unknown (e.g. imported from m3)
	Optim     *OptimState // only in resume checkpoints
	InputNorm *InputNorm  // nil: the model reads the features as they are
	// Calibration holds OutDim levels (Pct per output bucket): the reported
	// percentile k of bucket b is the model's curve read at level
	// Calibration[b*Pct+k] (bindings.CalibrateSlowdowns; m4 ckpt calibrate
	// measures them on held-out data). nil: the curve as the model gives it.
	Calibration []float32
	// Checksummed is set by Decode when the file carries the SHA-256 of its
	// tensor data (MetaChecksum) and it matched. Files written before m4
	// 0.2 carry none: nothing vouches for their data (callers warn).
	Checksummed bool
}

// MetaChecksum is the metadata key of the SHA-256 (64 lowercase hex
// digits) of a checkpoint's data section, the bytes after the header: Encode
// writes it, Decode (and libm4's m4_model_load) refuse a file whose data do
// not match it.
const MetaChecksum = "data_sha256"

// OptimState is AdamW's per-parameter state (first and second moments, in
// parameter order; the step count is TrainInfo.Steps), and the running
// exponential average of the parameters when training keeps one (nil if not).
type OptimState struct {
	ExpAvg, ExpAvgSq []float32
	EMA              []float32
}

// FeatureSpec describes the model's input and output: how a path scenario
// becomes feature rows and what the outputs mean. m4 checks it on load so a
// model is never fed features of another kind.
type FeatureSpec struct {
	Name             string    `json:"name"`              // "m3-path-v1"
	RowWidth         int       `json:"row_width"`         // values per input row
	InputBuckets     int       `json:"input_buckets"`     // size buckets per row
	Percentiles      int       `json:"percentiles"`       // per bucket: 1..100
	Params           int       `json:"params"`            // configuration values per row
	InputEdges       []float64 `json:"input_edges"`       // bucket edges, bytes (numpy.digitize)
	OutputEdges      []float64 `json:"output_edges"`      // output bucket edges, bytes
	PercentileMethod string    `json:"percentile_method"` // numpy's "nearest"
	Normalisation    string    `json:"normalisation"`     // what is done to the values before the model
	EmptyBuckets     string    `json:"empty_buckets"`     // how empty cells are filled
	Output           string    `json:"output"`            // what the outputs are
}

// M3Features is the feature definition of m3's path model, as m3's
// util/dataset.py builds it (and pipeline/features reproduces).
func M3Features() FeatureSpec {
	return FeatureSpec{
		Name: bindings.FeaturesV1, RowWidth: 1019, InputBuckets: 10, Percentiles: 100, Params: 19,
		InputEdges:       []float64{250, 500, 750, 1000, 2000, 5000, 7500, 10000, 50000},
		OutputEdges:      []float64{1000, 10000, 50000},
		PercentileMethod: "nearest",
		Normalisation: "none beyond m3's: slowdowns clipped below at 1; parameters scaled as in m3's " +
			"param vector (buffer/10 KB, window/1000 B, thresholds and timers as m3 samples them)",
		EmptyBuckets: "a bucket with no flows (num_flows_per_cell 0) is replaced by const_tensor",
		Output:       "4 output size buckets x slowdown percentiles 1..100 of the foreground flows; estimate = MLP output + 1",
	}
}

// M4Features is m4's second feature definition: m3's feature maps with the
// parameter block of features.V2 (log-scaled buffer, window, thresholds and
// HPCC AI; a flag for paths cut from a network).
func M4Features() FeatureSpec {
	f := M3Features()
	f.Name = bindings.FeaturesV2
	f.Normalisation = "slowdowns as m3's (clipped below at 1); parameters: [H==3, H==5, H==7, network, log2 buffer_KB, " +
		"log2 window_B, pfc, 1-pfc, CC one-hot, log2 dctcp_K, log2 dcqcn_Kmin, log2 dcqcn_Kmax, hpcc_eta*100, " +
		"log2 hpcc_AI_Mbps, T_low_us, T_high_us] (m4_features_params_v2)"
	return f
}

// M4FeaturesV3 is m4's third feature definition: M4Features with the
// path's own flow count, log2(1 + foreground flows), in place of 1-pfc
// (m4_features_params_v3).
func M4FeaturesV3() FeatureSpec {
	f := M4Features()
	f.Name = bindings.FeaturesV3
	f.Normalisation = strings.Replace(f.Normalisation, "pfc, 1-pfc", "pfc, log2(1 + foreground flows)", 1)
	f.Normalisation = strings.Replace(f.Normalisation, "m4_features_params_v2", "m4_features_params_v3", 1)
	return f
}

// FeatureSpecs lists the feature definitions m4 builds, oldest first.
func FeatureSpecs() []FeatureSpec { return []FeatureSpec{M3Features(), M4Features(), M4FeaturesV3()} }

// FeatureSpecNamed returns the definition named name.
func FeatureSpecNamed(name string) (FeatureSpec, error) {
	var names []string
	for _, f := range FeatureSpecs() {
		if f.Name == name {
			return f, nil
		}
		names = append(names, f.Name)
	}
	return FeatureSpec{}, fmt.Errorf("feature definition %q: m4 builds %s", name, strings.Join(names, ", "))
}

// TrainInfo records how a checkpoint was trained, and where a resumed run
// carries on: counters, hyper-parameters, data, and per-epoch history.
type TrainInfo struct {
	Command         string      `json:"command,omitempty"`
	Data            []string    `json:"data,omitempty"`
	Date            string      `json:"date,omitempty"`
	M4Version       string      `json:"m4_version,omitempty"`
	Seed            uint64      `json:"seed"`
	SplitSeed       uint64      `json:"split_seed"`
	ValFrac         float64     `json:"val_frac"`
	TrainScenarios  int         `json:"train_scenarios"`
	Resamples       int         `json:"resamples,omitempty"` // bootstrap resamples added per training scenario
	ValScenarios    int         `json:"val_scenarios"`
	Batch           int         `json:"batch"`
	LR              float64     `json:"lr"`
	Beta1           float64     `json:"beta1"`
	Beta2           float64     `json:"beta2"`
	Eps             float64     `json:"eps"`
	WeightDecay     float64     `json:"weight_decay"`
	MaxEpochs       int         `json:"max_epochs"`
	Patience        int         `json:"patience"`
	Warmup          int         `json:"warmup,omitempty"`           // learning-rate warm-up steps
	EMA             float64     `json:"ema,omitempty"`              // decay of the parameter average the checkpoints hold (0: none)
	PriorDecay      float64     `json:"prior_decay,omitempty"`      // pull of the MLP toward its flowsim-prior start
	QuantileBelow   int         `json:"quantile_below,omitempty"`   // scenarios with fewer foreground flows trained with the quantile loss
	QuantileNetwork bool        `json:"quantile_network,omitempty"` // every path cut from a workload trained with the quantile loss
	FlowWeight      float64     `json:"flow_weight,omitempty"`      // quantile-loss buckets weighted by their flows to this power
	TailWeight      float64     `json:"tail_weight,omitempty"`      // weight of the top tenth of the percentiles' gradients (0: none, i.e. 1)
	TrainOnlyData   []string    `json:"train_only_data,omitempty"`  // folders used for training only (never validation)
	CC              string      `json:"cc,omitempty"`               // the one congestion control trained and validated on (m4 train --cc; empty: all)
	Epochs          int         `json:"epochs"`                     // epochs completed
	Steps           int         `json:"steps"`                      // AdamW steps taken
	BestEpoch       int         `json:"best_epoch"`
	BestValLoss     float64     `json:"best_val_loss"`
	FlowsimValLoss  float64     `json:"flowsim_val_loss,omitempty"`
	History         []EpochStat `json:"history,omitempty"`
	// FineTunedFrom names the checkpoint this run started from (m4 train
	// --init) and Base keeps that checkpoint's own record; empty: a fresh run.
	FineTunedFrom string     `json:"fine_tuned_from,omitempty"`
	Base          *TrainInfo `json:"base,omitempty"`
	// Calibration says how Checkpoint.Calibration was measured (m4 ckpt
	// calibrate); nil: the checkpoint has none.
	Calibration *CalibrationInfo `json:"calibration,omitempty"`
	// Ranges are the inputs the training data covered; m4 reports inputs
	// outside them (nil: not recorded, nothing is checked).
	Ranges *features.Ranges `json:"trained_ranges,omitempty"`
}

// CalibrationInfo records how a checkpoint's calibration levels were
// measured (TrainInfo.Calibration; m4 ckpt calibrate).
type CalibrationInfo struct {
	Data      []string `json:"data"`      // the folders measured (held out from training)
	Scenarios int      `json:"scenarios"` // paths measured
	Rows      []int    `json:"rows"`      // per output bucket, the paths with flows in it
	// Before is, per output bucket, the share of true slowdowns at or below
	// the model's own percentile at levels 0.1, 0.5, 0.9 and 0.99 (1/10, 1/2,
	// 9/10 and 99/100 when calibrated).
	Before [][4]float64 `json:"pit_before"`
	// MinRows is the fewest rows a bucket needs to be calibrated; buckets
	// with fewer keep identity levels.
	MinRows int `json:"min_rows"`
	// TaperFrom and TaperTo are train.Taper's bounds when calibration
	// left the upper tail (levels from TaperTo on) as the model reads it;
	// nil (absent) when every percentile was calibrated. Pointers, so that
	// a taper to 0 (nothing calibrated) is recorded as such.
	TaperFrom *float64 `json:"taper_from,omitempty"`
	TaperTo   *float64 `json:"taper_to,omitempty"`
}

// OutOfRange lists the inputs of a configuration outside what ck was
// trained on (nothing when ck does not record its ranges).
func (ck *Checkpoint) OutOfRange(c features.Config, network bool) []features.OutOfRange {
	if ck.Training == nil {
		return nil
	}
	return ck.Training.Ranges.Check(c, network)
}

// OnNetwork returns the configuration ck reads for c on a path cut from a
// network (features.Ranges.OnNetwork): c, unless its PFC setting was seen on
// parking lots only.
func (ck *Checkpoint) OnNetwork(c features.Config) features.Config {
	if ck.Training == nil {
		return c
	}
	read, _ := ck.Training.Ranges.OnNetwork(c)
	return read
}

// EpochStat is one epoch's losses.
type EpochStat struct {
	Epoch     int     `json:"epoch"`
	TrainLoss float64 `json:"train_loss"`
	ValLoss   float64 `json:"val_loss"`
	Seconds   float64 `json:"seconds"`
}

// jsonConfig is bindings.ModelConfig as stored in "model_config".
type jsonConfig struct {
	FeatDim    int     `json:"feat_dim"`
	BucketsIn  int     `json:"n_buckets_in"`
	Pct        int     `json:"n_pct"`
	Dim        int     `json:"dim"`
	Layers     int     `json:"n_layers"`
	Heads      int     `json:"n_heads"`
	Hidden     int     `json:"hidden_dim"`
	MaxSeq     int     `json:"max_seq"`
	MLPHidden1 int     `json:"mlp_hidden1"`
	MLPHidden2 int     `json:"mlp_hidden2"`
	OutDim     int     `json:"out_dim"`
	NormEps    float32 `json:"norm_eps"`
	RopeTheta  float32 `json:"rope_theta"`
	Dropout    float32 `json:"dropout"`
}

func toJSONConfig(c bindings.ModelConfig) jsonConfig { return jsonConfig(c) }

// ------------------------------------------------------------------------
// writing

// Save writes ck to path as an m4 safetensors checkpoint, atomically, with
// the parameters stored as dtype (F32, or F16 to halve the size; optimizer
// state is always F32). F16 fails if a parameter is beyond its range.
func Save(path string, ck *Checkpoint, dtype Dtype) error {
	b, err := Encode(ck, dtype)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, b)
}

type headerEntry struct {
	Dtype       Dtype    `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// Encode returns the bytes of ck as a checkpoint file (see Save).
func Encode(ck *Checkpoint, dtype Dtype) ([]byte, error) {
	if dtype != F32 && dtype != F16 {
		return nil, fmt.Errorf("checkpoint dtype %q: want F32 or F16", dtype)
	}
	if err := ck.Config.Validate(); err != nil {
		return nil, err
	}
	ts, err := Tensors(ck.Config)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	last := ts[len(ts)-1]
	np := last.Offset + last.Size
	if len(ck.Params) != np {
		return nil, fmt.Errorf("checkpoint: %d parameters for a model of %d", len(ck.Params), np)
	}
	meta := map[string]string{"format": FormatName, "format_version": strconv.Itoa(FormatVersion)}
	for k, v := range map[string]any{"model_config": toJSONConfig(ck.Config), "features": ck.Features} {
		j, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		meta[k] = string(j)
	}
	if ck.Training != nil {
		j, err := json.Marshal(ck.Training)
		if err != nil {
			return nil, err
		}
		meta["training"] = string(j)
	}
	type blob struct {
		name  string
		dtype Dtype
		shape []int
		vals  []float32
	}
	var blobs []blob
	for _, t := range ts {
		blobs = append(blobs, blob{t.Name, dtype, t.Shape, ck.Params[t.Offset : t.Offset+t.Size]})
	}
	if ck.InputNorm != nil {
		if err := ck.InputNorm.Check(ck.Config.FeatDim); err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
		blobs = append(blobs, blob{normShift, F32, []int{ck.Config.FeatDim}, ck.InputNorm.Shift},
			blob{normScale, F32, []int{ck.Config.FeatDim}, ck.InputNorm.Scale})
	}
	if ck.Calibration != nil {
		if len(ck.Calibration) != ck.Config.OutDim || ck.Config.Pct < 1 {
			return nil, fmt.Errorf("checkpoint: %d calibration levels for %d outputs", len(ck.Calibration), ck.Config.OutDim)
		}
		blobs = append(blobs, blob{calibLevels, F32, []int{ck.Config.OutDim / ck.Config.Pct, ck.Config.Pct}, ck.Calibration})
	}
	if ck.Optim != nil {
		if len(ck.Optim.ExpAvg) != np || len(ck.Optim.ExpAvgSq) != np {
			return nil, fmt.Errorf("checkpoint: optimizer state of %d and %d values for %d parameters",
				len(ck.Optim.ExpAvg), len(ck.Optim.ExpAvgSq), np)
		}
		for _, t := range ts {
			blobs = append(blobs, blob{prefixExpAvg + t.Name, F32, t.Shape, ck.Optim.ExpAvg[t.Offset : t.Offset+t.Size]})
		}
		for _, t := range ts {
			blobs = append(blobs, blob{prefixExpAvgSq + t.Name, F32, t.Shape, ck.Optim.ExpAvgSq[t.Offset : t.Offset+t.Size]})
		}
		if ck.Optim.EMA != nil {
			if len(ck.Optim.EMA) != np {
				return nil, fmt.Errorf("checkpoint: parameter average of %d values for %d parameters", len(ck.Optim.EMA), np)
			}
			for _, t := range ts {
				blobs = append(blobs, blob{prefixEMA + t.Name, F32, t.Shape, ck.Optim.EMA[t.Offset : t.Offset+t.Size]})
			}
		}
	}
	header := map[string]any{"__metadata__": meta}
	var data bytes.Buffer
	for _, b := range blobs {
		begin := int64(data.Len())
		if err := writeValues(&data, b.dtype, b.vals, b.name); err != nil {
			return nil, err
		}
		header[b.name] = headerEntry{b.dtype, b.shape, [2]int64{begin, int64(data.Len())}}
	}
	sum := sha256.Sum256(data.Bytes())
	meta[MetaChecksum] = hex.EncodeToString(sum[:])
	hj, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	// pad the header with spaces so the data starts 8-byte aligned
	for (8+len(hj))%8 != 0 {
		hj = append(hj, ' ')
	}
	out := make([]byte, 8, 8+len(hj)+data.Len())
	binary.LittleEndian.PutUint64(out, uint64(len(hj)))
	out = append(out, hj...)
	return append(out, data.Bytes()...), nil
}

func writeValues(w io.Writer, dt Dtype, vals []float32, name string) error {
	if dt == F32 {
		b := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		_, err := w.Write(b)
		return err
	}
	b := make([]byte, 2*len(vals))
	for i, v := range vals {
		h, ok := f32ToF16(v)
		if !ok {
			return fmt.Errorf("checkpoint: tensor %s: element %d (%g) does not fit float16", name, i, v)
		}
		binary.LittleEndian.PutUint16(b[2*i:], h)
	}
	_, err := w.Write(b)
	return err
}

// ------------------------------------------------------------------------
// reading

// Load reads and checks the checkpoint at path (memory-mapped where the
// platform allows). Every problem is an error naming the file and, where it
// applies, the tensor or metadata field.
func Load(path string) (*Checkpoint, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	defer unmap()
	return Decode(path, data)
}

// Decode reads a checkpoint image with libm4's reader (m4_checkpoint_read
// through bindings.ReadCheckpoint: the one reader of the format, which
// checks every tensor, the checksum and the metadata); name is used in
// errors. The feature definition and the training record, whose fields are
// m4's, are decoded here from the metadata text it returns.
func Decode(name string, b []byte) (*Checkpoint, error) {
	cd, err := bindings.ReadCheckpoint(name, b)
	if err != nil {
		return nil, err
	}
	ck := &Checkpoint{Config: cd.Info.Config, Params: cd.Params, Checksummed: cd.Info.Checksum}
	if err := strictJSON(string(cd.Features), &ck.Features); err != nil {
		return nil, fmt.Errorf("%s: metadata features: %w", name, err)
	}
	if cd.Training != nil {
		ck.Training = &TrainInfo{}
		if err := strictJSON(string(cd.Training), ck.Training); err != nil {
			return nil, fmt.Errorf("%s: metadata training: %w", name, err)
		}
	}
	if cd.NormShift != nil {
		ck.InputNorm = &InputNorm{Shift: cd.NormShift, Scale: cd.NormScale}
	}
	ck.Calibration = cd.Calibration
	if cd.ExpAvg != nil {
		ck.Optim = &OptimState{ExpAvg: cd.ExpAvg, ExpAvgSq: cd.ExpAvgSq, EMA: cd.EMA}
	}
	return ck, nil
}

// strictJSON decodes s into v, rejecting unknown fields and trailing data.
func strictJSON(s string, v any) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("missing")
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// ------------------------------------------------------------------------
// float16 (IEEE 754 binary16)

// f32ToF16 rounds v to the nearest float16 (ties to even); ok is false if v
// is NaN or beyond float16's range (65504).
func f32ToF16(v float32) (h uint16, ok bool) {
	bits := math.Float32bits(v)
	sign := uint16(bits>>16) & 0x8000
	exp := int32(bits>>23) & 0xff
	mant := bits & 0x7fffff
	if exp == 0xff {
		return 0, false
	}
	e := exp - 127 + 15
	switch {
	case e >= 31:
		return 0, false
	case e <= 0:
		// subnormal or zero: shift the implicit-1 mantissa into place
		if e < -10 {
			return sign, true
		}
		m := mant | 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := m >> shift
		rem := m & ((1 << shift) - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r), true
	}
	r := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent, which is right
	}
	if r >= 0x7c00 {
		return 0, false
	}
	return sign | uint16(r), true
}
