package model

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/atomicfile"
)

// m3's exported C checkpoints (util/model.py export_to_bin_llama_v0 and
// export_to_bin_mlp, read by clibs/run.c), all little-endian:
//
// model_llama.bin: int32 dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size (negative: the output projection is stored, not shared),
// max_seq_len; then float32 tok_embeddings weight (dim, vocab) and bias
// (dim); for each of attention_norm, wq, wk, wv, wo, ffn_norm, w1, w2, w3 that
// tensor of every layer in turn; the final norm (dim); RoPE cos and sin
// tables (max_seq_len, head_dim/2) each; the output projection (dim, dim).
//
// model_mlp.bin: int32 input_dim, hidden1, hidden2, output_dim, y_len; then
// each Linear's weight (out, in) and bias; then const_tensor (y_len).
//
// run.c fixes what the files do not say: RMSNorm eps 1e-5, RoPE base 10000,
// and 10 input buckets of y_len percentiles per row.

const m3BucketsIn = 10

// ImportM3 reads m3's model_llama.bin and model_mlp.bin into a checkpoint.
func ImportM3(llamaPath, mlpPath string) (*Checkpoint, error) {
	lb, err := os.ReadFile(llamaPath)
	if err != nil {
		return nil, err
	}
	mb, err := os.ReadFile(mlpPath)
	if err != nil {
		return nil, err
	}
	return DecodeM3(llamaPath, lb, mlpPath, mb)
}

// DecodeM3 decodes the images of m3's model_llama.bin and model_mlp.bin
// (see ImportM3); the paths name them in errors.
func DecodeM3(llamaPath string, lb []byte, mlpPath string, mb []byte) (*Checkpoint, error) {
	var lh [7]int32
	if len(lb) < 28 {
		return nil, fmt.Errorf("%s: truncated: %d bytes, no 7 x int32 header", llamaPath, len(lb))
	}
	binary.Read(bytes.NewReader(lb), binary.LittleEndian, &lh)
	dim, hidden, layers, heads, kvHeads, vocab, seq := int(lh[0]), int(lh[1]), int(lh[2]), int(lh[3]), int(lh[4]), int(lh[5]), int(lh[6])
	if vocab >= 0 {
		return nil, fmt.Errorf("%s: header vocab_size = %d: a shared classifier (positive vocab_size) cannot be m3's path model, whose output projection is (dim, dim)", llamaPath, vocab)
	}
	vocab = -vocab
	if kvHeads != heads {
		return nil, fmt.Errorf("%s: header n_kv_heads = %d != n_heads = %d: grouped-query attention is not supported", llamaPath, kvHeads, heads)
	}
	var mh [5]int32
	if len(mb) < 20 {
		return nil, fmt.Errorf("%s: truncated: %d bytes, no 5 x int32 header", mlpPath, len(mb))
	}
	binary.Read(bytes.NewReader(mb), binary.LittleEndian, &mh)
	in, h1, h2, out, ylen := int(mh[0]), int(mh[1]), int(mh[2]), int(mh[3]), int(mh[4])
	cfg := bindings.ModelConfig{FeatDim: vocab, BucketsIn: m3BucketsIn, Pct: ylen, Dim: dim, Layers: layers,
		Heads: heads, Hidden: hidden, MaxSeq: seq, MLPHidden1: h1, MLPHidden2: h2, OutDim: out,
		NormEps: 1e-5, RopeTheta: 10000, Dropout: 0.2}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s, %s: headers %v and %v: %w", llamaPath, mlpPath, lh, mh, err)
	}
	if in != vocab+dim {
		return nil, fmt.Errorf("%s: header input_dim = %d, want vocab_size + dim = %d (from %s)", mlpPath, in, vocab+dim, llamaPath)
	}
	hd := dim / heads
	// the headers' sizes must fit the files before anything is allocated
	// for them: all parameters and the RoPE tables, then each file's part
	np, err := NumParams(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s, %s: %w", llamaPath, mlpPath, err)
	}
	if need := 4 * (int64(np) + int64(seq)*int64(hd)); need > int64(len(lb)-28)+int64(len(mb)-20) {
		return nil, fmt.Errorf("%s: truncated: its and %s's headers describe %d bytes of floats, the files hold %d after them", llamaPath, mlpPath, need, len(lb)-28+len(mb)-20)
	}
	ts, err := Tensors(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s, %s: %w", llamaPath, mlpPath, err)
	}
	byName := map[string]Tensor{}
	for _, t := range ts {
		byName[t.Name] = t
	}
	// and each file its own tensors: transformer and RoPE tables, MLP
	var nL, nM int64
	for _, t := range ts {
		if strings.HasPrefix(t.Name, "model_transformer.") {
			nL += int64(t.Size)
		} else {
			nM += int64(t.Size)
		}
	}
	nL += int64(seq) * int64(hd)
	if 4*nL > int64(len(lb)-28) {
		return nil, fmt.Errorf("%s: truncated: its header describes %d floats, the file holds %d bytes after it", llamaPath, nL, len(lb)-28)
	}
	if 4*nM > int64(len(mb)-20) {
		return nil, fmt.Errorf("%s: truncated: its header describes %d floats, the file holds %d bytes after it", mlpPath, nM, len(mb)-20)
	}
	last := ts[len(ts)-1]
	params := make([]float32, last.Offset+last.Size)
	r := &floatReader{name: llamaPath, b: lb[28:]}
	take := func(name string) {
		t := byName[name]
		r.read(name, params[t.Offset:t.Offset+t.Size])
	}
	take("model_transformer.tok_embeddings.weight")
	take("model_transformer.tok_embeddings.bias")
	for _, part := range layerParts(ts) {
		for l := 0; l < layers; l++ {
			take(fmt.Sprintf("model_transformer.layers.%d.%s", l, part))
		}
	}
	take("model_transformer.norm.weight")
	rope := make([]float32, seq*hd/2)
	r.read("freqs_cos", rope)
	r.read("freqs_sin", rope)
	take("model_transformer.output.weight")
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%s: %d bytes after the output projection (a shared classifier, or not m3's layout)", llamaPath, len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	r = &floatReader{name: mlpPath, b: mb[20:]}
	for j := 0; j < 3; j++ {
		take(fmt.Sprintf("model_mlp.%d.weight", 2*j))
		take(fmt.Sprintf("model_mlp.%d.bias", 2*j))
	}
	take("const_tensor")
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%s: %d bytes after const_tensor", mlpPath, len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	fs := M3Features()
	if vocab != fs.RowWidth || ylen != fs.Percentiles || out != 4*ylen {
		// a differently shaped model: describe what the file says
		fs.Name = "m3-path-custom"
		fs.RowWidth, fs.Percentiles, fs.Params = vocab, ylen, vocab-m3BucketsIn*ylen
	}
	return &Checkpoint{Config: cfg, Params: params, Features: fs}, nil
}

type floatReader struct {
	name string
	b    []byte
	err  error
}

// read fills dst from the stream, checking length and finiteness.
func (r *floatReader) read(tensor string, dst []float32) {
	if r.err != nil {
		return
	}
	if len(r.b) < 4*len(dst) {
		r.err = fmt.Errorf("%s: truncated in tensor %s: %d bytes left, need %d", r.name, tensor, len(r.b), 4*len(dst))
		return
	}
	for i := range dst {
		v := math.Float32frombits(binary.LittleEndian.Uint32(r.b[4*i:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			r.err = fmt.Errorf("%s: tensor %s: element %d is %v", r.name, tensor, i, v)
			return
		}
		dst[i] = v
	}
	r.b = r.b[4*len(dst):]
}

// ExportM3 writes ck in m3's C layout (model_llama.bin, model_mlp.bin), so
// m3's run.c can run an m4-trained model. Both files are written atomically.
func ExportM3(ck *Checkpoint, llamaPath, mlpPath string) error {
	ck, err := FoldInputNorm(ck) // m3 has no input normalisation
	if err != nil {
		return fmt.Errorf("export to m3: %w", err)
	}
	c := ck.Config
	if c.BucketsIn != m3BucketsIn {
		return fmt.Errorf("export to m3: m3's run.c reads %d input buckets, the model has %d", m3BucketsIn, c.BucketsIn)
	}
	ts, err := Tensors(c)
	if err != nil {
		return fmt.Errorf("export to m3: %w", err)
	}
	if last := ts[len(ts)-1]; len(ck.Params) != last.Offset+last.Size {
		return fmt.Errorf("export to m3: %d parameters for a model of %d", len(ck.Params), last.Offset+last.Size)
	}
	byName := map[string]Tensor{}
	for _, t := range ts {
		byName[t.Name] = t
	}
	put := func(w io.Writer, vals []float32) error { return binary.Write(w, binary.LittleEndian, vals) }
	tensor := func(name string) []float32 {
		t := byName[name]
		return ck.Params[t.Offset : t.Offset+t.Size]
	}
	err = atomicfile.Write(llamaPath, func(w io.Writer) error {
		hdr := []int32{int32(c.Dim), int32(c.Hidden), int32(c.Layers), int32(c.Heads), int32(c.Heads), int32(-c.FeatDim), int32(c.MaxSeq)}
		if err := binary.Write(w, binary.LittleEndian, hdr); err != nil {
			return err
		}
		names := []string{"model_transformer.tok_embeddings.weight", "model_transformer.tok_embeddings.bias"}
		for _, part := range layerParts(ts) {
			for l := 0; l < c.Layers; l++ {
				names = append(names, fmt.Sprintf("model_transformer.layers.%d.%s", l, part))
			}
		}
		names = append(names, "model_transformer.norm.weight")
		for _, n := range names {
			if err := put(w, tensor(n)); err != nil {
				return err
			}
		}
		// RoPE tables as m3 exports them (run.c skips them)
		hd := c.Dim / c.Heads
		cs := make([]float32, c.MaxSeq*hd/2)
		sn := make([]float32, c.MaxSeq*hd/2)
		for t := 0; t < c.MaxSeq; t++ {
			for i := 0; i < hd/2; i++ {
				f := 1 / math.Pow(float64(c.RopeTheta), float64(2*i)/float64(hd))
				cs[t*hd/2+i], sn[t*hd/2+i] = float32(math.Cos(float64(t)*f)), float32(math.Sin(float64(t)*f))
			}
		}
		if err := put(w, cs); err != nil {
			return err
		}
		if err := put(w, sn); err != nil {
			return err
		}
		return put(w, tensor("model_transformer.output.weight"))
	})
	if err != nil {
		return err
	}
	return atomicfile.Write(mlpPath, func(w io.Writer) error {
		hdr := []int32{int32(c.FeatDim + c.Dim), int32(c.MLPHidden1), int32(c.MLPHidden2), int32(c.OutDim), int32(c.Pct)}
		if err := binary.Write(w, binary.LittleEndian, hdr); err != nil {
			return err
		}
		for j := 0; j < 3; j++ {
			if err := put(w, tensor(fmt.Sprintf("model_mlp.%d.weight", 2*j))); err != nil {
				return err
			}
			if err := put(w, tensor(fmt.Sprintf("model_mlp.%d.bias", 2*j))); err != nil {
				return err
			}
		}
		return put(w, tensor("const_tensor"))
	})
}

// layerParts returns the names of a transformer block's tensors (after
// "model_transformer.layers.N."), in the layout's order; m3's .bin files
// store each part for every layer in turn.
func layerParts(ts []Tensor) []string {
	const first = "model_transformer.layers.0."
	var parts []string
	for _, t := range ts {
		if p, ok := strings.CutPrefix(t.Name, first); ok {
			parts = append(parts, p)
		}
	}
	return parts
}
