//go:build !cgo

package bindings

// LoadModel returns ErrNoNative.
func LoadModel(string, int) (*Model, CheckpointInfo, error) {
	return nil, CheckpointInfo{}, ErrNoNative
}

// LoadModelBytes returns ErrNoNative.
func LoadModelBytes(string, []byte, int) (*Model, CheckpointInfo, error) {
	return nil, CheckpointInfo{}, ErrNoNative
}

// CheckCheckpoint returns ErrNoNative.
func CheckCheckpoint(string, []byte) (CheckpointInfo, error) { return CheckpointInfo{}, ErrNoNative }

// ReadCheckpoint returns ErrNoNative.
func ReadCheckpoint(string, []byte) (*CheckpointData, error) { return nil, ErrNoNative }

// EstimatePath returns ErrNoNative.
func (*Model) EstimatePath(int, []float64, []float64, []int32, []int32, []float64) ([]float32, error) {
	return nil, ErrNoNative
}

// TrainedRanges needs the native library.
type TrainedRanges struct{}

// ReadTrainedRanges returns ErrNoNative.
func ReadTrainedRanges(string, []byte) (*TrainedRanges, error) { return nil, ErrNoNative }

// Check returns ErrNoNative.
func (*TrainedRanges) Check(CCConfig, bool) ([]string, error) { return nil, ErrNoNative }
