package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"m4/gpu"
)

// useGPU reports whether model kernels should run on the GPU. With --gpu and
// no usable backend it prints the reason in one line and returns false.
func useGPU(c *cli.Context) bool {
	if !c.Bool("gpu") {
		return false
	}
	lib, err := gpu.Open()
	if err != nil {
		fmt.Fprintf(c.App.ErrWriter, "m4: --gpu: %v; using the CPU\n", err)
		return false
	}
	lib.Close()
	return true
}
