package infer

import (
	_ "embed"

	"github.com/m4sim/m4/pipeline/workload"
)

//go:embed default.yaml
var defaultSpec []byte

// DefaultSpec returns the embedded default workload (default.yaml): the
// 256-host fabric cluster at 50% load with WebServer sizes under DCTCP.
func DefaultSpec() (*workload.Spec, error) {
	return workload.ParseSpec("default.yaml (embedded)", defaultSpec)
}

// DefaultSpecYAML returns the embedded default spec's text.
func DefaultSpecYAML() []byte { return append([]byte(nil), defaultSpec...) }
