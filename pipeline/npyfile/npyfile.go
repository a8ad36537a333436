// Package npyfile reads and writes NumPy .npy and .npz files for m4's data:
// flat little-endian arrays of int32/int64/float32/float64 with any C-order
// shape.
//
// It is its own small parser rather than a wrapper: m4 reads files from users
// and must answer every malformed, truncated or hostile header with an error
// naming the file, never a panic or an allocation the file's size cannot back.
package npyfile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/m4sim/m4/pipeline/atomicfile"
)

var magic = []byte("\x93NUMPY")

// maxHeader bounds the header dictionary; NumPy's own headers are < 1 KiB.
const maxHeader = 1 << 16

// Array is a decoded array: Data is one of []int32, []int64, []float32,
// []float64, []int8 (or []uint8 for booleans and bytes), in C order, with
// len = product(Shape).
type Array struct {
	Dtype string // NumPy type string, e.g. "<f8"
	Shape []int
	Data  any
}

// Len returns the number of elements.
func (a *Array) Len() int { return product(a.Shape) }

func product(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func itemSize(dtype string) (int, error) {
	switch dtype {
	case "<i4", "<f4", "<u4":
		return 4, nil
	case "<i8", "<f8", "<u8":
		return 8, nil
	case "|b1", "|u1", "|i1":
		return 1, nil
	}
	return 0, fmt.Errorf("unsupported dtype %q (want little-endian int32/int64/float32/float64)", dtype)
}

// Decode parses a whole .npy image. name is used in error messages.
func Decode(name string, b []byte) (*Array, error) {
	if len(b) < 10 || !bytes.Equal(b[:6], magic) {
		return nil, fmt.Errorf("%s: not a .npy file (bad magic)", name)
	}
	major := b[6]
	var hlen, off int
	switch major {
	case 1:
		hlen, off = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, fmt.Errorf("%s: truncated header", name)
		}
		hlen, off = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return nil, fmt.Errorf("%s: unsupported .npy version %d", name, major)
	}
	if hlen > maxHeader || off+hlen > len(b) {
		return nil, fmt.Errorf("%s: truncated or oversized header (%d bytes)", name, hlen)
	}
	dtype, fortran, shape, err := parseHeader(string(b[off : off+hlen]))
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	if fortran && len(shape) > 1 {
		return nil, fmt.Errorf("%s: Fortran-order arrays are not supported", name)
	}
	size, err := itemSize(dtype)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	data := b[off+hlen:]
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > len(data)/d) {
			return nil, fmt.Errorf("%s: truncated: shape %v needs more than the %d data bytes present", name, shape, len(data))
		}
		n *= d
	}
	if n*size > len(data) {
		return nil, fmt.Errorf("%s: truncated: shape %v of %s needs %d data bytes, file has %d", name, shape, dtype, n*size, len(data))
	}
	if n*size < len(data) {
		return nil, fmt.Errorf("%s: %d trailing bytes after the array data", name, len(data)-n*size)
	}
	a := &Array{Dtype: dtype, Shape: shape}
	le := binary.LittleEndian
	switch dtype {
	case "<i4":
		v := make([]int32, n)
		for i := range v {
			v[i] = int32(le.Uint32(data[4*i:]))
		}
		a.Data = v
	case "<u4":
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(le.Uint32(data[4*i:]))
		}
		a.Data, a.Dtype = v, "<i8"
	case "<i8", "<u8":
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(le.Uint64(data[8*i:]))
		}
		a.Data = v
	case "<f4":
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(le.Uint32(data[4*i:]))
		}
		a.Data = v
	case "<f8":
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Float64frombits(le.Uint64(data[8*i:]))
		}
		a.Data = v
	case "|b1", "|u1":
		a.Data = append([]uint8(nil), data[:n]...)
	case "|i1":
		v := make([]int8, n)
		for i := range v {
			v[i] = int8(data[i])
		}
		a.Data = v
	}
	return a, nil
}

// parseHeader reads the Python dict literal of a .npy header, e.g.
// {'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }
func parseHeader(h string) (dtype string, fortran bool, shape []int, err error) {
	h = strings.TrimSpace(h)
	if !strings.HasPrefix(h, "{") || !strings.HasSuffix(h, "}") {
		return "", false, nil, errors.New("not a dictionary")
	}
	body := h[1 : len(h)-1]
	seen := map[string]bool{}
	for len(strings.TrimSpace(body)) > 0 {
		body = strings.TrimSpace(body)
		key, rest, ok := cutQuoted(body)
		if !ok {
			return "", false, nil, fmt.Errorf("bad key near %.20q", body)
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ":") {
			return "", false, nil, fmt.Errorf("missing ':' after %q", key)
		}
		rest = strings.TrimSpace(rest[1:])
		var val string
		switch {
		case strings.HasPrefix(rest, "("):
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return "", false, nil, errors.New("unterminated shape tuple")
			}
			val, rest = rest[:end+1], rest[end+1:]
		case strings.HasPrefix(rest, "'") || strings.HasPrefix(rest, "\""):
			var q string
			q, rest, ok = cutQuoted(rest)
			if !ok {
				return "", false, nil, fmt.Errorf("bad value for %q", key)
			}
			val = "'" + q + "'"
		default:
			end := strings.IndexAny(rest, ",}")
			if end < 0 {
				end = len(rest)
			}
			val, rest = strings.TrimSpace(rest[:end]), rest[end:]
		}
		switch key {
		case "descr":
			if !strings.HasPrefix(val, "'") {
				return "", false, nil, errors.New("descr is not a simple type string")
			}
			dtype = strings.Trim(val, "'")
		case "fortran_order":
			switch val {
			case "True":
				fortran = true
			case "False":
			default:
				return "", false, nil, fmt.Errorf("fortran_order = %q", val)
			}
		case "shape":
			if shape, err = parseShape(val); err != nil {
				return "", false, nil, err
			}
		default:
			return "", false, nil, fmt.Errorf("unknown key %q", key)
		}
		seen[key] = true
		rest = strings.TrimSpace(rest)
		rest = strings.TrimPrefix(rest, ",")
		body = rest
	}
	if !seen["descr"] || !seen["fortran_order"] || !seen["shape"] {
		return "", false, nil, errors.New("missing descr, fortran_order or shape")
	}
	return dtype, fortran, shape, nil
}

func cutQuoted(s string) (q, rest string, ok bool) {
	if len(s) == 0 || (s[0] != '\'' && s[0] != '"') {
		return "", s, false
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", s, false
	}
	return s[1 : 1+end], s[2+end:], true
}

func parseShape(v string) ([]int, error) {
	if len(v) < 2 || v[0] != '(' || v[len(v)-1] != ')' {
		return nil, fmt.Errorf("shape %q is not a tuple", v)
	}
	inner := strings.TrimSpace(v[1 : len(v)-1])
	shape := []int{}
	if inner == "" {
		return shape, nil
	}
	for _, p := range strings.Split(inner, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		p = strings.TrimSuffix(p, "L")
		d, err := strconv.Atoi(p)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("bad shape %s", v)
		}
		shape = append(shape, d)
	}
	if len(shape) > 8 {
		return nil, fmt.Errorf("shape %s has too many dimensions", v)
	}
	return shape, nil
}

// Read reads and decodes the .npy file at path.
func Read(path string) (*Array, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(path, b)
}

// Float64s converts the array's values to float64 (integers exactly where
// they fit in 53 bits).
func (a *Array) Float64s() []float64 {
	switch v := a.Data.(type) {
	case []float64:
		return v
	case []float32:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case []int64:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case []int32:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case []uint8:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case []int8:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	}
	return nil
}

// Int64s returns integer arrays as int64; float arrays are an error.
func (a *Array) Int64s() ([]int64, error) {
	switch v := a.Data.(type) {
	case []int64:
		return v, nil
	case []int32:
		out := make([]int64, len(v))
		for i, x := range v {
			out[i] = int64(x)
		}
		return out, nil
	case []uint8:
		out := make([]int64, len(v))
		for i, x := range v {
			out[i] = int64(x)
		}
		return out, nil
	case []int8:
		out := make([]int64, len(v))
		for i, x := range v {
			out[i] = int64(x)
		}
		return out, nil
	}
	return nil, fmt.Errorf("dtype %s is not an integer type", a.Dtype)
}

// Encode writes an .npy image of data (a []int8, []int32, []int64,
// []float32 or []float64) with the given shape; a nil shape means 1-D.
func Encode(w io.Writer, data any, shape []int) error {
	var dtype string
	var n int
	switch v := data.(type) {
	case []int8:
		dtype, n = "|i1", len(v)
	case []int32:
		dtype, n = "<i4", len(v)
	case []int64:
		dtype, n = "<i8", len(v)
	case []float32:
		dtype, n = "<f4", len(v)
	case []float64:
		dtype, n = "<f8", len(v)
	default:
		return fmt.Errorf("npyfile: unsupported type %T", data)
	}
	if shape == nil {
		shape = []int{n}
	}
	if product(shape) != n {
		return fmt.Errorf("npyfile: shape %v does not hold %d values", shape, n)
	}
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	st := strings.Join(dims, ", ")
	if len(shape) == 1 {
		st += ","
	}
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", dtype, st)
	// pad so that the data starts on a 64-byte boundary, newline-terminated
	total := 10 + len(hdr) + 1
	pad := (64 - total%64) % 64
	hdr += strings.Repeat(" ", pad) + "\n"
	var pre [10]byte
	copy(pre[:], magic)
	pre[6], pre[7] = 1, 0
	binary.LittleEndian.PutUint16(pre[8:], uint16(len(hdr)))
	if _, err := w.Write(pre[:]); err != nil {
		return err
	}
	if _, err := io.WriteString(w, hdr); err != nil {
		return err
	}
	return binary.Write(w, binary.LittleEndian, data)
}

// Write writes data with shape to path atomically.
func Write(path string, data any, shape []int) error {
	return atomicfile.Write(path, func(w io.Writer) error { return Encode(w, data, shape) })
}

// Entry is one array of an .npz archive.
type Entry struct {
	Name  string // without the .npy suffix
	Data  any
	Shape []int
}

// WriteNPZ writes entries as an uncompressed .npz archive, atomically.
func WriteNPZ(path string, entries []Entry) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		zw := zip.NewWriter(w)
		for _, e := range entries {
			f, err := zw.CreateHeader(&zip.FileHeader{Name: e.Name + ".npy", Method: zip.Store})
			if err != nil {
				return err
			}
			if err := Encode(f, e.Data, e.Shape); err != nil {
				return fmt.Errorf("%s: %w", e.Name, err)
			}
		}
		return zw.Close()
	})
}

// maxNPZMember bounds one decompressed member, and maxNPZTotal all of them
// together (1 GiB), against zip bombs.
const (
	maxNPZMember = 1 << 30
	maxNPZTotal  = 1 << 30
)

// ReadNPZ reads every array of the .npz archive at path.
func ReadNPZ(path string) (map[string]*Array, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer zr.Close()
	return decodeNPZ(path, &zr.Reader)
}

func decodeNPZ(path string, zr *zip.Reader) (map[string]*Array, error) {
	out := map[string]*Array{}
	total := int64(0)
	for _, f := range zr.File {
		if f.UncompressedSize64 > maxNPZMember {
			return nil, fmt.Errorf("%s: member %s is too large (%d bytes)", path, f.Name, f.UncompressedSize64)
		}
		key := strings.TrimSuffix(f.Name, ".npy")
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%s: member %s: array %q appears twice", path, f.Name, key)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, f.Name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, min(maxNPZMember, maxNPZTotal-total)+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, f.Name, err)
		}
		if total += int64(len(b)); total > maxNPZTotal || len(b) > maxNPZMember {
			return nil, fmt.Errorf("%s: %s: the archive decompresses to more than %d bytes", path, f.Name, maxNPZTotal)
		}
		a, err := Decode(path+":"+f.Name, b)
		if err != nil {
			return nil, err
		}
		out[key] = a
	}
	return out, nil
}
