package bindings

// CheckpointInfo is what a checkpoint file says besides its parameters
// (m4_checkpoint_info).
type CheckpointInfo struct {
	Config         ModelConfig
	Features       string // the feature definition's name ("m3-path-v1")
	M3Features     bool   // exactly the features the native library builds
	F16            bool   // parameters stored as F16
	InputNorm      bool   // carries an input normalisation
	Calibration    bool   // carries output calibration levels (m4_model_load applies them)
	OptimizerState bool   // a resume checkpoint (AdamW state checked, not loaded)
	Checksum       bool   // the SHA-256 of the tensor data was in the file and matched (false: none, an older file)
}

// CheckpointData is everything a checkpoint holds (m4_checkpoint):
// parameters in the model's order (F16 widened), the input normalisation,
// AdamW's moments and the parameter average (nil where the file has none),
// and the metadata's JSON records, whose fields are the writer's.
type CheckpointData struct {
	Info                            CheckpointInfo
	Params                          []float32
	NormShift, NormScale            []float32
	Calibration                     []float32 // OutDim levels (nil: none)
	ExpAvg, ExpAvgSq, EMA           []float32
	ModelConfig, Features, Training []byte // Training nil when absent
}

// CheckpointError is a checkpoint the native reader refused: Msg names the
// file and the tensor or metadata field. Unsupported is set for a well-formed
// checkpoint the library cannot use (features other than m3-path-v1); IO for
// a file that could not be read.
type CheckpointError struct {
	Msg         string
	Unsupported bool
	IO          bool
}

func (e *CheckpointError) Error() string { return e.Msg }

// CCConfig is libm4's m4_cc_config: a scenario's configuration as m3
// samples it. Mode is the algorithm as the fork's CC_MODE (8 DCTCP, 1 DCQCN,
// 3 HPCC, 7 TIMELY); the parameters of the algorithms not in use are
// ignored.
type CCConfig struct {
	Sample, BufferKB, WindowBytes int
	PFC                           bool
	Mode                          int
	DCTCPK, DCQCNKmin, DCQCNKmax  int
	HPCCUTarget                   float64
	HPCCAI                        int
	TimelyTLowNs, TimelyTHighNs   int
}
