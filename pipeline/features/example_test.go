//go:build cgo

package features_test

import (
	"fmt"

	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/scenario"
)

// The input feature map at inference time: a path scenario, its flowsim FCTs
// (pipeline/flowsim.Run gives them; fixed here) and the configuration.
func ExampleBuildInput() {
	p := &scenario.Path{Name: "example", Hosts: 3,
		ArrivalNs: []float64{0, 100, 200},
		SizeBytes: []float64{500, 20000, 3000},
		Src:       []int32{0, 0, 1},
		Dst:       []int32{2, 2, 2}}
	fct := []float64{900, 40000, 5000} // ns, queueing + transmission

	cfg := features.DefaultConfig(cc.DCTCP, 300, 15000, true)
	cfg.DCTCPK = 12
	vec := cfg.Vector()
	params, err := features.ParamVector(p.Hosts, vec[:])
	if err != nil {
		panic(err)
	}
	in, err := features.BuildInput(p, fct, params)
	if err != nil {
		panic(err)
	}
	row0 := in.Res[:features.RowWidth] // foreground flows 0 -> 2
	fmt.Printf("%d rows of %d\n", in.Hosts, features.RowWidth)
	fmt.Printf("row 0, bucket 2 (500..750 B), p50: %.4f\n", row0[2*features.NumPercentiles+49])
	fmt.Printf("row 0, bucket 8 (10..50 kB), p50: %.4f\n", row0[8*features.NumPercentiles+49])
	fmt.Println("parameters:", row0[features.CellsPerRow:])
	// By hand: flow 0 has base delay 2 links * 1 us + 548 B * 8 / 10 Gbps =
	// 2438.4 ns and ideal 438.4 ns: (900 + 2438.4) / (438.4 + 2438.4) = 1.1605.
	// Flow 1: 2000 + 838.4 ns, ideal 16768 ns: 42838.4 / 19606.4 = 2.1849.

	// Output:
	// 3 rows of 1019
	// row 0, bucket 2 (500..750 B), p50: 1.1605
	// row 0, bucket 8 (10..50 kB), p50: 2.1849
	// parameters: [1 0 0 5 30 15 1 0 1 0 0 0 12 0 0 0 0 0 0]
}
