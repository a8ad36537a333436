package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/internal/progress"
	"github.com/m4sim/m4/pipeline/workload"
)

// maxFlowsFlag bounds the workloads a command generates (workload.Generate
// estimates the flows from the spec and refuses before drawing any).
func maxFlowsFlag() cli.Flag {
	return &cli.IntFlag{Name: "max-flows", Value: workload.DefaultMaxFlows,
		Usage: fmt.Sprintf("refuse workloads of more flows, estimated from the spec before any is generated (about %d bytes a flow)", workload.BytesPerFlow)}
}

// longGeneration is the flows from which generating a workload shows
// progress (about half a second per 10^6 flows on one core).
const longGeneration = 1_000_000

// generateWorkload generates s's workload within --max-flows, reporting
// progress on stderr when it is long. A workload past the limit is refused
// at once, naming its size and the flag.
func generateWorkload(c *cli.Context, s *workload.Spec) (*workload.Workload, error) {
	var bar progress.Reporter
	last := 0
	o := workload.Options{MaxFlows: c.Int("max-flows"), Progress: func(done, total int) {
		if bar == nil && total >= longGeneration {
			bar = progress.New(c.App.ErrWriter, total, progress.Options{Desc: "workload", Unit: "flows", Every: 10 * time.Second})
		}
		if bar != nil {
			bar.Add(done - last)
			last = done
		}
	}}
	w, err := workload.GenerateWith(s, o)
	if bar != nil {
		bar.Finish()
	}
	if errors.Is(err, workload.ErrTooLarge) {
		return nil, fmt.Errorf("%w; --max-flows raises the limit", err)
	}
	return w, err
}
