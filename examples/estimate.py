#!/usr/bin/env python3
"""Estimate a path scenario with libm4 from Python, through ctypes.

    estimate.py CKPT SHARD_DIR [--hosts H] [--sample S] [--lib PATH] [--compare FILE.npy]

SHARD_DIR is a folder in m4's reference layout (fat.npy, fsize.npy, fsd.npy,
param_topo-pl-H_sS.npy). The script loads the checkpoint with m4_model_load,
estimates the scenario with m4_estimate_path (flowsim -> m3's feature map ->
the model) and prints the 400 slowdown estimates, one a line: per output
size bucket (< 1 kB, < 10 kB, < 50 kB, larger) the percentiles 1..100 of the
foreground flows' slowdown. --compare checks them against an .npy file of
the same values (e.g. from `m4 predict`) to a relative 1e-5.

The library is found by --lib, else $M4_LIB, else ctypes.util.find_library.
Needs numpy (Debian: python3-numpy). Every problem (a missing or truncated
file, a library that does not load, libm4's own errors) ends the script with
a one-line message naming what is wrong and exit status 1, never a traceback.
"""
import argparse
import ctypes
import ctypes.util
import os
import re
import sys

try:
    import numpy as np
except ImportError:
    sys.exit("estimate.py: needs numpy (Debian: apt-get install python3-numpy; else pip install numpy)")

M4_OK = 0
M4_FEAT_PARAMS = 19
M4_FEAT_OUTPUTS = 400


class ModelConfig(ctypes.Structure):
    """m4_model_config in m4.h."""
    _fields_ = [(name, ctypes.c_int) for name in (
        "feat_dim", "n_buckets_in", "n_pct", "dim", "n_layers", "n_heads", "hidden_dim",
        "max_seq", "mlp_hidden1", "mlp_hidden2", "out_dim")] + [
        ("norm_eps", ctypes.c_float), ("rope_theta", ctypes.c_float), ("dropout", ctypes.c_float)]


RANGE_KEYS = 9  # M4_RANGE_KEYS in m4.h


class TrainedRanges(ctypes.Structure):
    """m4_trained_ranges in m4.h."""
    _fields_ = [("has", ctypes.c_int), ("cc", ctypes.c_int * 4), ("pfc", ctypes.c_int * 2),
                ("network", ctypes.c_int * 2), ("lo", ctypes.c_double * RANGE_KEYS),
                ("hi", ctypes.c_double * RANGE_KEYS), ("network_pfc", ctypes.c_int * 2)]


class CheckpointInfo(ctypes.Structure):
    """m4_checkpoint_info in m4.h."""
    _fields_ = [("config", ModelConfig), ("features", ctypes.c_char * 64), ("m3_features", ctypes.c_int),
                ("f16", ctypes.c_int), ("has_input_norm", ctypes.c_int), ("has_optimizer_state", ctypes.c_int),
                ("checksum", ctypes.c_int), ("ranges", TrainedRanges)]


class PathScenario(ctypes.Structure):
    """m4_path_scenario in m4.h."""
    _fields_ = [("n_hosts", ctypes.c_int), ("n_flows", ctypes.c_size_t),
                ("arrival_ns", ctypes.POINTER(ctypes.c_double)), ("size_bytes", ctypes.POINTER(ctypes.c_double)),
                ("src", ctypes.POINTER(ctypes.c_int32)), ("dst", ctypes.POINTER(ctypes.c_int32)),
                ("params", ctypes.POINTER(ctypes.c_double))]


def check_layout(lib, path):
    """Exits when a struct above is laid out unlike the library's (m4_sizeof)."""
    if not hasattr(lib, "m4_sizeof"):
        return  # libm4 before 0.2.1 cannot say
    lib.m4_sizeof.restype = ctypes.c_size_t
    lib.m4_sizeof.argtypes = [ctypes.c_char_p]
    for name, cls in (("m4_model_config", ModelConfig), ("m4_trained_ranges", TrainedRanges),
                      ("m4_checkpoint_info", CheckpointInfo), ("m4_path_scenario", PathScenario)):
        want = lib.m4_sizeof(name.encode())
        if want != ctypes.sizeof(cls):
            sys.exit(f"{path}: {name} is {want} bytes in the library, {ctypes.sizeof(cls)} here: "
                     "this script does not match its m4.h")


def load_library(path):
    path = path or os.environ.get("M4_LIB") or ctypes.util.find_library("m4")
    if not path:
        sys.exit("libm4 not found: pass --lib PATH/libm4.so or set M4_LIB")
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        sys.exit(f"{path}: cannot load libm4: {e}")
    if not hasattr(lib, "m4_estimate_path"):
        sys.exit(f"{path}: not libm4 (no m4_estimate_path)")
    lib.m4_version.restype = ctypes.c_char_p
    check_layout(lib, path)
    lib.m4_strerror.restype = ctypes.c_char_p
    lib.m4_strerror.argtypes = [ctypes.c_int]
    lib.m4_model_load.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p, ctypes.c_int,
                                  ctypes.POINTER(CheckpointInfo), ctypes.c_char_p, ctypes.c_size_t]
    lib.m4_model_destroy.argtypes = [ctypes.c_void_p]
    lib.m4_model_destroy.restype = None
    version = lib.m4_version().decode()
    if tuple(int(x) for x in version.split(".")[:2]) < (0, 3):
        sys.exit(f"{path}: libm4 {version}: this script needs 0.3 or later (m4_features_params_for's foreground)")
    lib.m4_features_params_for.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_long,
                                           ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double)]
    lib.m4_estimate_path.argtypes = [ctypes.c_void_p, ctypes.POINTER(PathScenario), ctypes.POINTER(ctypes.c_float),
                                     ctypes.c_char_p, ctypes.c_size_t]
    return lib


def load_npy(path):
    """np.load, with a one-line error naming the file for a missing, truncated or foreign one."""
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        sys.exit(f"{path}: no such file")
    except (OSError, ValueError, EOFError) as e:
        sys.exit(f"{path}: not a readable .npy array (truncated or another format?): {e}")


def c_array(a, dtype, ctype):
    """A contiguous copy of a in dtype and a ctypes pointer into it (keep the copy alive)."""
    a = np.ascontiguousarray(a, dtype=dtype)
    return a, a.ctypes.data_as(ctypes.POINTER(ctype))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ckpt")
    ap.add_argument("shard_dir")
    ap.add_argument("--hosts", type=int, default=0)
    ap.add_argument("--sample", type=int, default=0)
    ap.add_argument("--lib")
    ap.add_argument("--compare")
    args = ap.parse_args()

    lib = load_library(args.lib)
    print("libm4", lib.m4_version().decode(), file=sys.stderr)
    hosts = args.hosts
    if hosts == 0:
        m = re.search(r"_nhosts(\d+)(_|$)", os.path.basename(os.path.normpath(args.shard_dir)))
        if not m:
            sys.exit(f"{args.shard_dir}: cannot tell the number of hosts from the name; pass --hosts")
        hosts = int(m.group(1))

    d = args.shard_dir
    if not os.path.isdir(d):
        sys.exit(f"{d}: no such folder")
    fat = load_npy(os.path.join(d, "fat.npy"))
    fsize = load_npy(os.path.join(d, "fsize.npy"))
    fsd = load_npy(os.path.join(d, "fsd.npy"))
    vec = load_npy(os.path.join(d, f"param_topo-pl-{hosts}_s{args.sample}.npy"))
    n = len(fat)
    if fsize.shape != (n,) or fsd.shape != (n, 2) or vec.shape != (15,):
        sys.exit(f"{d}: shapes {fat.shape} {fsize.shape} {fsd.shape} {vec.shape}: want (n,) (n,) (n, 2) (15,)")

    err = ctypes.create_string_buffer(512)
    model = ctypes.c_void_p()
    info = CheckpointInfo()
    st = lib.m4_model_load(ctypes.byref(model), args.ckpt.encode(), 1, ctypes.byref(info), err, len(err))
    if st != M4_OK:
        sys.exit(err.value.decode())

    # the parameters as the checkpoint's feature definition encodes them; a
    # shard folder is one of m3's parking lots (network = 0); m4-path-v3 also
    # reads the path's foreground flows (host 0 to host H-1)
    fg = int(np.count_nonzero((fsd[:, 0] == 0) & (fsd[:, 1] == hosts - 1)))
    vec_c, vec_p = c_array(vec, np.float64, ctypes.c_double)
    params = np.zeros(M4_FEAT_PARAMS)
    params_p = params.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    st = lib.m4_features_params_for(info.features, hosts, 0, fg, vec_p, params_p)
    if st != M4_OK:
        lib.m4_model_destroy(model)
        sys.exit(f"{d}: configuration vector: {lib.m4_strerror(st).decode()}")
    print(f"{args.ckpt}: {info.features.decode()} features, {info.config.n_layers} layers of width {info.config.dim}",
          file=sys.stderr)
    if not info.checksum:
        print(f"{args.ckpt}: warning: no checksum of its tensor data (written before m4 0.2): nothing vouches for them",
              file=sys.stderr)
    try:
        at, at_p = c_array(fat, np.float64, ctypes.c_double)
        size, size_p = c_array(fsize, np.float64, ctypes.c_double)
        src, src_p = c_array(fsd[:, 0], np.int32, ctypes.c_int32)
        dst, dst_p = c_array(fsd[:, 1], np.int32, ctypes.c_int32)
        sc = PathScenario(hosts, n, at_p, size_p, src_p, dst_p, params_p)
        out = np.zeros(M4_FEAT_OUTPUTS, dtype=np.float32)
        st = lib.m4_estimate_path(model, ctypes.byref(sc), out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                  err, len(err))
        if st != M4_OK:
            sys.exit(f"{d}: {err.value.decode()}")
    finally:
        lib.m4_model_destroy(model)

    sys.stdout.write("".join(f"{float(v):.9g}\n" for v in out))
    if args.compare:
        want = load_npy(args.compare).astype(np.float64).ravel()
        if want.shape != (M4_FEAT_OUTPUTS,):
            sys.exit(f"{args.compare}: {want.size} values, want {M4_FEAT_OUTPUTS}")
        worst = float(np.max(np.abs(out - want) / np.maximum(np.abs(want), 1e-30)))
        print(f"compared with {args.compare}: worst relative difference {worst:.3g}", file=sys.stderr)
        if not worst <= 1e-5:
            sys.exit(1)


if __name__ == "__main__":
    main()
