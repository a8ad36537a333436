//go:build cgo

package bindings_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/model"
)

// TestChecksumAgrees: for data sections of every length mod 64 (SHA-256's
// block; lengths 55..63 put the padding into a second block), the C reader
// computes the digest Go's writer stores: it loads the file and says it
// was verified. A file without a digest (older m4) loads, flagged; one
// with a flipped byte of finite weights is refused by both readers.
func TestChecksumAgrees(t *testing.T) {
	seen := map[uint64]bool{}
	for h := 1; h <= 200 && len(seen) < 32; h++ {
		ck := smallCheckpoint(false, false, false)
		ck.Config.MLPHidden2 = h
		np, err := model.NumParams(ck.Config)
		if err != nil {
			t.Fatal(err)
		}
		ck.Params = make([]float32, np)
		for i := range ck.Params {
			ck.Params[i] = float32(i%97) / 128
		}
		img, err := model.Encode(ck, model.F16)
		if err != nil {
			t.Fatal(err)
		}
		n := binary.LittleEndian.Uint64(img)
		data := uint64(len(img)) - 8 - n
		if seen[data%64] {
			continue
		}
		seen[data%64] = true
		info, err := bindings.CheckCheckpoint("c.safetensors", img)
		if err != nil || !info.Checksum {
			t.Fatalf("%d data bytes (%d mod 64): C reader: %v, verified %v", data, data%64, err, info.Checksum)
		}
	}
	if len(seen) < 32 { // F16 data: even lengths, 32 residues
		t.Fatalf("covered %d residues mod 64", len(seen))
	}

	img, err := model.Encode(smallCheckpoint(false, false, false), model.F32)
	if err != nil {
		t.Fatal(err)
	}
	// flip the low mantissa bits of 50 weights: still finite, not what was written
	bad := append([]byte(nil), img...)
	hl := binary.LittleEndian.Uint64(img)
	for k := 0; k < 50; k++ {
		bad[8+hl+uint64(4*k*7)] ^= 0x5a
	}
	if _, err := model.Decode("bad.safetensors", bad); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("Go reader: %v, want a checksum error", err)
	}
	var ce *bindings.CheckpointError
	if _, err := bindings.CheckCheckpoint("bad.safetensors", bad); !errors.As(err, &ce) || !strings.Contains(err.Error(), "data_sha256") {
		t.Errorf("C reader: %v, want a checksum error", err)
	}
	// without a digest: loads, flagged unverified in both
	old := withoutChecksum(t, img)
	info, err := bindings.CheckCheckpoint("old.safetensors", old)
	if err != nil || info.Checksum {
		t.Errorf("C reader on a file without a checksum: %v, verified %v", err, info.Checksum)
	}
	ck, err := model.Decode("old.safetensors", old)
	if err != nil || ck.Checksummed {
		t.Errorf("Go reader on a file without a checksum: %v, verified %v", err, ck != nil && ck.Checksummed)
	}
}

// withoutChecksum returns img as m4 before 0.2 wrote it: no data_sha256.
func withoutChecksum(t *testing.T, img []byte) []byte {
	t.Helper()
	n := binary.LittleEndian.Uint64(img)
	var h map[string]any
	if err := json.Unmarshal(img[8:8+n], &h); err != nil {
		t.Fatal(err)
	}
	delete(h["__metadata__"].(map[string]any), model.MetaChecksum)
	hj, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	for (8+len(hj))%8 != 0 {
		hj = append(hj, ' ')
	}
	out := make([]byte, 8, 8+len(hj)+len(img))
	binary.LittleEndian.PutUint64(out, uint64(len(hj)))
	return append(append(out, hj...), img[8+n:]...)
}
