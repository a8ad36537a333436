package features

import (
	"strings"
	"testing"

	"github.com/m4sim/m4/pipeline/cc"
)

// FuzzParseParamText: any text either parses into a valid configuration
// that writes back to the same text, or returns an error naming the file.
func FuzzParseParamText(f *testing.F) {
	for _, c := range cc.All() {
		f.Add([]byte(DefaultConfig(c, 300, 15000, c == cc.DCQCN).ParamText()))
	}
	f.Add([]byte("0.0 30.0\n0 300 15000 1 dctcp 20 10 40 0.95 25 10000 50000\n"))
	f.Add([]byte("nan inf\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseParamText("param_fuzz.txt", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "param_fuzz.txt") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed an invalid config: %v", err)
		}
		back, err := ParseParamText("back", []byte(c.ParamText()))
		if err != nil || back != c {
			t.Fatalf("round trip: %+v -> %q -> %+v, %v", c, c.ParamText(), back, err)
		}
	})
}
