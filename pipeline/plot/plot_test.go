package plot

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestCDFsWritesPNGAndSVG(t *testing.T) {
	dir := t.TempDir()
	x := []float64{1, 1.5, 2, 4, 10}
	y := []float64{0.2, 0.5, 0.8, 0.95, 1}
	panels := []Panel{
		{Title: "<1KB", Series: []Series{{Name: "m4", X: x, Y: y}, {Name: "ns-3", X: x, Y: y}}},
		{Title: "all", Series: []Series{{Name: "m4", X: x, Y: y}}},
	}
	for _, name := range []string{"cdf.png", "cdf.svg"} {
		path := filepath.Join(dir, name)
		if err := CDFs(path, "test", panels); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		magic := []byte("\x89PNG")
		if name == "cdf.svg" {
			magic = []byte("<?xml")
		}
		if !bytes.HasPrefix(b, magic) || len(b) < 1000 {
			t.Errorf("%s: %d bytes, starts %q", name, len(b), b[:min(8, len(b))])
		}
	}
	if err := CDFs(filepath.Join(dir, "x.gif"), "", panels); err == nil {
		t.Error(".gif accepted")
	}
	bad := []Panel{{Title: "b", Series: []Series{{Name: "m4", X: x, Y: y[:2]}}}}
	if err := CDFs(filepath.Join(dir, "bad.png"), "", bad); err == nil {
		t.Error("mismatched series accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.png")); err == nil {
		t.Error("a failed plot left a file")
	}
}
