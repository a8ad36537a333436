//go:build cgo

package bindings_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/model"
)

// FuzzCheckpointNative runs libm4's checkpoint model loader
// (m4_model_load_buffer) on any image, beside model.Decode (libm4's
// m4_checkpoint_read, which reads all a file holds without making a model):
// the loader never crashes or reads out of bounds, names the file in every
// error, accepts nothing Decode refuses (Decode reads the training record's
// fields, which the loader only checks is a JSON object), and where both
// accept, they read the same config and the same parameters bit for bit.
func FuzzCheckpointNative(f *testing.F) {
	tiny := bindings.DefaultModelConfig()
	tiny.Dim, tiny.Layers, tiny.Heads, tiny.Hidden, tiny.MaxSeq, tiny.MLPHidden1, tiny.MLPHidden2 = 2, 1, 1, 1, 3, 1, 1
	for _, c := range []struct {
		dtype       model.Dtype
		optim, norm bool
	}{{model.F16, false, false}, {model.F16, true, true}} {
		ck := smallCheckpoint(c.optim, false, c.norm)
		ck.Config = tiny
		n, err := model.NumParams(tiny)
		if err != nil {
			f.Fatal(err)
		}
		ck.Params = ck.Params[:n]
		if c.optim {
			ck.Optim.ExpAvg, ck.Optim.ExpAvgSq = ck.Optim.ExpAvg[:n], ck.Optim.ExpAvgSq[:n]
		}
		img, err := model.Encode(ck, c.dtype)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(img)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, info, err := bindings.LoadModelBytes("fuzz.safetensors", b, 1)
		goCk, goErr := model.Decode("fuzz.safetensors", b)
		if err != nil {
			var ce *bindings.CheckpointError
			if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), "fuzz.safetensors: ") {
				t.Fatalf("C error does not name the file: %v", err)
			}
			return
		}
		defer m.Close()
		if goErr != nil {
			// the one exception: C checks that the training record is a JSON
			// object but does not read it (inference needs none of it)
			if strings.HasPrefix(goErr.Error(), "fuzz.safetensors: metadata training: ") {
				return
			}
			t.Fatalf("C accepts what Go refuses (%v)", goErr)
		}
		if info.Config != goCk.Config {
			t.Fatalf("config: C %+v, Go %+v", info.Config, goCk.Config)
		}
		p := m.Params()
		for i := range p {
			if p[i] != goCk.Params[i] {
				t.Fatalf("parameter %d: C %g, Go %g", i, p[i], goCk.Params[i])
			}
		}
	})
}

// FuzzFeaturesNative builds m3's feature map in C (m4_features_build) from
// flows decoded from the input (any size, host, FCT bits, NaN included) and
// checks it against a plain Go oracle: the cell counts, and every
// percentile as numpy's 'nearest' picks it from the sorted slowdowns.
func FuzzFeaturesNative(f *testing.F) {
	f.Add(uint8(3), []byte("\x00\x00\x00\x00\x00\x40\x8f\x40\x00\x02\x00\x00\x00\x00\x00\x88\xc3\x40"))
	f.Add(uint8(5), bytes.Repeat([]byte("\x01\x04\x00\x00\x00\x00\x00\x00\x59\x40\x00\x00\x00\x00\x00\x00\xf0\x3f"), 40))
	f.Fuzz(func(t *testing.T, hosts uint8, b []byte) {
		h := 2 + int(hosts%7)
		const rec = 18 // src, dst, size float64, fct float64
		n := len(b) / rec
		size, fct := make([]float64, n), make([]float64, n)
		src, dst := make([]int32, n), make([]int32, n)
		for i := 0; i < n; i++ {
			r := b[i*rec:]
			src[i], dst[i] = int32(int8(r[0])), int32(int8(r[1]))
			size[i] = math.Float64frombits(binary.LittleEndian.Uint64(r[2:]))
			fct[i] = math.Float64frombits(binary.LittleEndian.Uint64(r[10:]))
		}
		params := make([]float64, bindings.FeatParams)
		fb, err := bindings.NewFeatures()
		if err != nil {
			t.Fatal(err)
		}
		defer fb.Close()
		res := make([]float32, h*bindings.FeatRow)
		counts := make([]int64, h*bindings.FeatBuckets)
		err = fb.Build(h, size, src, dst, fct, params, res, nil, counts)
		sl := make([]float64, n)
		errS := fb.Slowdowns(h, size, src, dst, fct, sl)
		if (err == nil) != (errS == nil) {
			t.Fatalf("Build: %v, Slowdowns: %v", err, errS)
		}
		if n == 0 {
			if !errors.Is(err, bindings.ErrNoFlows) || !errors.Is(errS, bindings.ErrNoFlows) {
				t.Fatalf("no flows: Build %v, Slowdowns %v; want ErrNoFlows", err, errS)
			}
			return
		}
		if err != nil {
			var ie *bindings.InputError
			if !errors.As(err, &ie) || ie.Index < 0 || ie.Index >= n {
				t.Fatalf("not an input error naming a flow: %v", err)
			}
			return
		}
		edges := []float64{250, 500, 750, 1000, 2000, 5000, 7500, 10000, 50000}
		cells := make([][]float64, h*bindings.FeatBuckets)
		for i := 0; i < n; i++ {
			bk := 0 // numpy.digitize: the number of edges <= size
			for bk < len(edges) && edges[bk] <= size[i] {
				bk++
			}
			if src[i] == 0 && int(dst[i]) == h-1 {
				cells[bk] = append(cells[bk], sl[i])
				continue
			}
			for l := src[i]; l < dst[i]; l++ {
				c := int(1+l)*bindings.FeatBuckets + bk
				cells[c] = append(cells[c], sl[i])
			}
		}
		for c, v := range cells {
			if int64(len(v)) != counts[c] {
				t.Fatalf("cell %d: %d flows, C counts %d", c, len(v), counts[c])
			}
			sort.Float64s(v)
			row, bk := c/bindings.FeatBuckets, c%bindings.FeatBuckets
			for k := 0; k < bindings.FeatPercentiles; k++ {
				want := float32(0)
				if len(v) > 0 {
					want = float32(v[int(math.RoundToEven(float64(len(v)-1)*(float64(k+1)/100)))])
				}
				if got := res[row*bindings.FeatRow+bk*bindings.FeatPercentiles+k]; got != want {
					t.Fatalf("row %d bucket %d p%d: C %g, oracle %g", row, bk, k+1, got, want)
				}
			}
		}
	})
}
