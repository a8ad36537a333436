// Package flowsim runs the native max-min flow-level simulator on path
// scenarios and writes the FCTs it estimates.
package flowsim

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/scenario"
)

// Result is the FCT estimate of every flow of a path, in the path's order.
type Result struct {
	FCTNs []float64 // completion minus arrival, ns (queueing + transmission)
	Stats bindings.FlowsimStats
}

// Run simulates p on m3's parking-lot constants (bindings.DefaultPathConfig).
func Run(p *scenario.Path) (*Result, error) {
	return RunConfig(p, bindings.DefaultPathConfig(p.Hosts))
}

// RunConfig simulates p on the path described by cfg (cfg.Hosts must equal p.Hosts).
func RunConfig(p *scenario.Path, cfg bindings.PathConfig) (*Result, error) {
	if cfg.Hosts != p.Hosts {
		return nil, fmt.Errorf("flowsim %s: config has %d hosts, scenario %d", p.Name, cfg.Hosts, p.Hosts)
	}
	sim, err := bindings.NewFlowsim(cfg)
	if err != nil {
		return nil, fmt.Errorf("flowsim %s: %w", p.Name, err)
	}
	defer sim.Close()
	fct, err := sim.Run(p.ArrivalNs, p.SizeBytes, p.Src, p.Dst)
	if err != nil {
		var ie *bindings.InputError
		if errors.As(err, &ie) {
			return nil, fmt.Errorf("%s: %s", p.FileOf(ie.Field), ie.Msg)
		}
		return nil, fmt.Errorf("flowsim %s: %w", p.Name, err)
	}
	return &Result{FCTNs: fct, Stats: sim.Stats()}, nil
}

// WriteFCT writes the FCTs to path atomically: float64 .npy when path ends
// in .npy, otherwise text with one line per flow,
// "index src dst size_bytes arrival_ns fct_ns".
func WriteFCT(path string, p *scenario.Path, fct []float64) error {
	if strings.EqualFold(filepath.Ext(path), ".npy") {
		return npyfile.Write(path, fct, nil)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		if _, err := io.WriteString(w, "# index src dst size_bytes arrival_ns fct_ns\n"); err != nil {
			return err
		}
		buf := make([]byte, 0, 128)
		for i := range fct {
			buf = buf[:0]
			buf = strconv.AppendInt(buf, int64(i), 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, int64(p.Src[i]), 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, int64(p.Dst[i]), 10)
			buf = append(buf, ' ')
			buf = strconv.AppendFloat(buf, p.SizeBytes[i], 'f', -1, 64)
			buf = append(buf, ' ')
			buf = strconv.AppendFloat(buf, p.ArrivalNs[i], 'f', -1, 64)
			buf = append(buf, ' ')
			buf = strconv.AppendFloat(buf, fct[i], 'g', 17, 64)
			buf = append(buf, '\n')
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
}
