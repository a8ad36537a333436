package cc_test

import (
	"fmt"

	"github.com/m4sim/m4/pipeline/cc"
)

// A spec names an algorithm and leaves its parameters to the defaults; its
// record is what the model reads.
func ExampleSpec_Record() {
	s := cc.Spec{Algorithm: cc.HPCC, PFC: true}
	if err := s.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	r, err := s.Record()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.ForkName(), r.CC.Mode(), r.BufferKB, r.WindowBytes, r.HPCCUTarget, r.HPCCAI)
	_, err = cc.Parse("cubic")
	fmt.Println(err)
	// Output:
	// hp95ai500 3 300 18000 0.95 500
	// unknown congestion control "cubic" (want dctcp, dcqcn, hpcc or timely)
}
