package scenario

import (
	"bytes"
	"testing"
)

// FuzzParseFlowFile: any input either parses into a valid path or returns an
// error; never a panic, and never more flows than the input has lines.
func FuzzParseFlowFile(f *testing.F) {
	f.Add([]byte("2\n0 0 2 3 100 1000 1.000000000\n1 1 2 3 100 2000 1.000001000\n"), 3)
	f.Add([]byte("1\n0 0 2 3 100 1000 1e400\n"), 3)
	f.Add([]byte("99999999999\n"), 5)
	f.Add([]byte("1\n0 0 -1 3 100 NaN 1.0\n"), 3)
	f.Fuzz(func(t *testing.T, data []byte, hosts int) {
		p, err := ParseFlowFile("fuzz.txt", bytes.NewReader(data), hosts%10)
		if err != nil {
			return
		}
		if p.Len() > bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("%d flows from %d lines", p.Len(), bytes.Count(data, []byte("\n"))+1)
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed a path that does not validate: %v", err)
		}
	})
}
