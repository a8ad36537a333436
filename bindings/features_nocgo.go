//go:build !cgo

package bindings

// Shapes of m3's input feature map (m4.h's M4_FEAT_*).
const (
	FeatBuckets     = 10
	FeatPercentiles = 100
	FeatParams      = 19
	FeatOutputs     = 400
	FeatCells       = FeatBuckets * FeatPercentiles
	FeatRow         = FeatCells + FeatParams
)

// Features is unavailable without cgo.
type Features struct{}

// NewFeatures returns ErrNoNative.
func NewFeatures() (*Features, error) { return nil, ErrNoNative }

// Close does nothing.
func (*Features) Close() {}

// Build returns ErrNoNative.
func (*Features) Build(int, []float64, []int32, []int32, []float64, []float64, []float32, []float64, []int64) error {
	return ErrNoNative
}

// Slowdowns returns ErrNoNative.
func (*Features) Slowdowns(int, []float64, []int32, []int32, []float64, []float64) error {
	return ErrNoNative
}

// FeatureParams returns ErrNoNative.
func FeatureParams(int, []float64) ([]float64, error) { return nil, ErrNoNative }

// Feature definitions by name.
const (
	FeaturesV1 = "m3-path-v1"
	FeaturesV2 = "m4-path-v2"
	FeaturesV3 = "m4-path-v3"
)

// FeatureParamsFor returns ErrNoNative.
func FeatureParamsFor(string, int, bool, int, []float64) ([]float64, error) { return nil, ErrNoNative }

// EmptyBuckets returns ErrNoNative: libm4 owns m3's empty-bucket rule.
func EmptyBuckets([]float64, int, []uint8) error { return ErrNoNative }

// EmptyCounts returns ErrNoNative: libm4 owns m3's empty-bucket rule.
func EmptyCounts([]int64, []uint8) error { return ErrNoNative }

// Percentiles returns ErrNoNative: libm4 owns the feature map's percentiles.
func Percentiles([]float64, *[FeatPercentiles]float64) error { return ErrNoNative }
