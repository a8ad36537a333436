package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
)

// FuzzDecodeCheckpoint: a checkpoint image either decodes into a checkpoint
// that encodes back to the same parameters, or fails naming the file; no
// panic, and nothing allocated beyond what the image's size backs.
func FuzzDecodeCheckpoint(f *testing.F) {
	if !bindings.Native {
		f.Skip("needs the native library (libm4 reads checkpoints)")
	}
	for _, c := range []struct {
		dtype Dtype
		optim bool
	}{{F32, false}, {F16, true}} {
		img, err := Encode(testCheckpoint(c.optim), c.dtype)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(img)
	}
	// a header promising a huge model in a few bytes
	f.Add([]byte("\x40\x00\x00\x00\x00\x00\x00\x00{\"__metadata__\":{\"format\":\"m4-checkpoint\",\"format_version\":\"1\"}}   "))
	f.Fuzz(func(t *testing.T, b []byte) {
		ck, err := Decode("fuzz.safetensors", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.safetensors: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if 2*len(ck.Params) > len(b) {
			t.Fatalf("%d parameters from %d bytes", len(ck.Params), len(b))
		}
		img, err := Encode(ck, F32)
		if err != nil {
			t.Fatalf("decoded checkpoint does not encode: %v", err)
		}
		back, err := Decode("back", img)
		if err != nil {
			t.Fatalf("re-encoded checkpoint does not decode: %v", err)
		}
		for i := range ck.Params {
			if back.Params[i] != ck.Params[i] {
				t.Fatalf("parameter %d: %g after a round trip, was %g", i, back.Params[i], ck.Params[i])
			}
		}
	})
}

// FuzzDecodeM3: m3's exported C checkpoints (model_llama.bin and
// model_mlp.bin) either decode or fail naming a file; headers promising more
// than the files hold are refused before anything is allocated for them.
func FuzzDecodeM3(f *testing.F) {
	if !bindings.Native {
		f.Skip("needs the native library (libm4 owns the parameter layout)")
	}
	dir := f.TempDir()
	lp, mp := filepath.Join(dir, "l.bin"), filepath.Join(dir, "m.bin")
	if err := ExportM3(testCheckpoint(false), lp, mp); err != nil {
		f.Fatal(err)
	}
	lb, _ := os.ReadFile(lp)
	mb, _ := os.ReadFile(mp)
	f.Add(lb, mb)
	// dim 2^20, 1 head, 4096 positions: 2^31 RoPE floats if trusted
	f.Add([]byte("\x00\x00\x10\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\xfd\xfc\xff\xff\x00\x10\x00\x00"), mb)
	f.Fuzz(func(t *testing.T, lb, mb []byte) {
		ck, err := DecodeM3("l.bin", lb, "m.bin", mb)
		if err != nil {
			if !strings.Contains(err.Error(), "l.bin") && !strings.Contains(err.Error(), "m.bin") {
				t.Fatalf("error names neither file: %v", err)
			}
			return
		}
		if 4*len(ck.Params) > len(lb)+len(mb) {
			t.Fatalf("%d parameters from %d bytes", len(ck.Params), len(lb)+len(mb))
		}
	})
}

// TestDecodeBoundsAllocation: headers that describe models far larger than
// the file are refused with a message, not trusted with an allocation.
func TestDecodeBoundsAllocation(t *testing.T) {
	if !bindings.Native {
		t.Skip("needs the native library (libm4 reads checkpoints)")
	}
	cfg := `{\"feat_dim\":1048576,\"n_buckets_in\":10,\"n_pct\":100,\"dim\":1048576,\"n_layers\":1024,\"n_heads\":1,` +
		`\"hidden_dim\":1048576,\"max_seq\":16,\"mlp_hidden1\":1,\"mlp_hidden2\":1,\"out_dim\":1,\"norm_eps\":1e-5,\"rope_theta\":10000,\"dropout\":0}`
	h := `{"__metadata__":{"format":"m4-checkpoint","format_version":"1","model_config":"` + cfg + `","features":"{}"}}`
	for len(h)%8 != 0 {
		h += " "
	}
	img := append([]byte{byte(len(h)), byte(len(h) >> 8), 0, 0, 0, 0, 0, 0}, h...)
	if _, err := Decode("huge.safetensors", img); err == nil || !strings.Contains(err.Error(), "cannot fit") {
		t.Errorf("huge config: %v", err)
	}
	// m3 headers: dim 2^20 with 1 head and 4096 positions (2^31 RoPE floats),
	// vocab 1019, an MLP file of the right input width and no data
	le := func(v ...int32) []byte {
		var b []byte
		for _, x := range v {
			b = append(b, byte(x), byte(x>>8), byte(x>>16), byte(x>>24))
		}
		return b
	}
	lb := le(1<<20, 1, 0, 1, 1, -1019, 4096)
	mb := le(1019+1<<20, 1, 1, 400, 100)
	if _, err := DecodeM3("l.bin", lb, "m.bin", mb); err == nil || !strings.Contains(err.Error(), "l.bin: truncated") {
		t.Errorf("huge m3 model: %v", err)
	}
}
