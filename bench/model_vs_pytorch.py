#!/usr/bin/python3
"""m4's model kernels against PyTorch on the same model, same machine, one run.

Times m3's model (18.1M parameters: Linear(1019, 576) + 4 Llama blocks of width 576,
4 heads, SwiGLU 1536, then RMSNorm + Linear(576, 576), mean-pooled, and the MLP
1595 -> 512 -> 512 -> 400) in PyTorch on the CPU, batched over scenarios (all paths
H hosts: H-1 transformer rows each), then runs `m4 bench model --json` with the same
shapes and thread count and prints both and the ratios:

  - training: forward + backward + AdamW at batch 20 (samples/s)
  - inference: ms per path at batch 1 and 256
  - m4's matmul GFLOP/s against one core's measured fp32 FMA peak

Usage (Debian's python3 with python3-torch, not a pyenv python3 that may come first
on PATH):

    /usr/bin/python3 bench/model_vs_pytorch.py [--threads 2] [--hosts 5] [--m4 PATH]

Without --m4 it builds the CLI with `go build` into a temporary directory. The
PyTorch model here is written for this benchmark (its forward matches m4's to float
rounding; see native/tests/fixtures/gen_model_fixtures.py for the reference used in
the tests); dropout 0.2 as in training.
"""
import argparse
import json
import math
import os
import subprocess
import tempfile
import time

import torch
import torch.nn.functional as F
from torch import nn

DIM, LAYERS, HEADS, HIDDEN, FEAT, PCT, BUCKETS, OUT, MLP = 576, 4, 4, 1536, 1019, 100, 10, 400, 512


class Block(nn.Module):
    def __init__(self, drop):
        super().__init__()
        self.n1, self.n2 = nn.Parameter(torch.ones(DIM)), nn.Parameter(torch.ones(DIM))
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(DIM, DIM, bias=False) for _ in range(4))
        self.w1, self.w3 = nn.Linear(DIM, HIDDEN, bias=False), nn.Linear(DIM, HIDDEN, bias=False)
        self.w2 = nn.Linear(HIDDEN, DIM, bias=False)
        self.drop = drop

    @staticmethod
    def norm(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        hd = DIM // HEADS
        n = self.norm(x, self.n1)
        q, k, v = (w(n).view(B, T, HEADS, hd) for w in (self.wq, self.wk, self.wv))

        def rope(t):
            r, i = t.reshape(B, T, HEADS, hd // 2, 2).unbind(-1)
            c, s = cos[None, :, None, :], sin[None, :, None, :]
            return torch.stack([r * c - i * s, r * s + i * c], -1).flatten(3)

        q, k = rope(q).transpose(1, 2), rope(k).transpose(1, 2)
        v = v.transpose(1, 2)
        att = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(hd) + mask, dim=-1)
        att = F.dropout(att, self.drop, self.training)
        o = (att @ v).transpose(1, 2).reshape(B, T, DIM)
        h = x + F.dropout(self.wo(o), self.drop, self.training)
        n = self.norm(h, self.n2)
        return h + F.dropout(self.w2(F.silu(self.w1(n)) * self.w3(n)), self.drop, self.training)


class M3Model(nn.Module):
    def __init__(self, drop=0.2, max_seq=16):
        super().__init__()
        self.emb = nn.Linear(FEAT, DIM)
        self.blocks = nn.ModuleList(Block(drop) for _ in range(LAYERS))
        self.norm = nn.Parameter(torch.ones(DIM))
        self.out = nn.Linear(DIM, DIM, bias=False)
        self.mlp = nn.Sequential(nn.Linear(FEAT + DIM, MLP), nn.ReLU(), nn.Linear(MLP, MLP), nn.ReLU(), nn.Linear(MLP, OUT))
        self.const = nn.Parameter(torch.zeros(PCT))
        hd = DIM // HEADS
        ang = torch.outer(torch.arange(max_seq).float(), 1.0 / (10000.0 ** (torch.arange(0, hd, 2).float() / hd)))
        self.cos, self.sin = torch.cos(ang), torch.sin(ang)
        self.drop = drop

    def forward(self, x, empty):
        """x (B, H, 1019), empty (B, H, 10) bool"""
        B, H, _ = x.shape
        cells = x[..., :BUCKETS * PCT].view(B, H, BUCKETS, PCT)
        cells = torch.where(empty[..., None], self.const.expand(B, H, BUCKETS, PCT), cells)
        x = torch.cat([cells.reshape(B, H, -1), x[..., BUCKETS * PCT:]], -1)
        T = H - 1
        mask = torch.full((T, T), float("-inf")).triu(1)
        h = F.dropout(self.emb(x[:, 1:]), self.drop, self.training)
        for b in self.blocks:
            h = b(h, self.cos[:T], self.sin[:T], mask)
        ctx = self.out(Block.norm(h, self.norm)).mean(1)
        return self.mlp(torch.cat([x[:, 0], ctx], -1)) + 1.0


def best_of(f, seconds):
    f()
    best, end, i = float("inf"), time.perf_counter() + seconds, 0
    while i < 2 or time.perf_counter() < end:
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
        i += 1
    return best


def inputs(B, H):
    x = 1 + 3 * torch.rand(B, H, FEAT)
    empty = torch.rand(B, H, BUCKETS) < 1 / 3
    return x, empty, 1 + 5 * torch.rand(B, OUT), (torch.rand(B, OUT) < 0.5).float()


def torch_bench(hosts, train_batch, infer_batches, seconds):
    torch.manual_seed(0)
    m = M3Model()
    decay = [p for n, p in m.named_parameters() if p.dim() >= 2 and not n.startswith("mlp")]
    other = [p for n, p in m.named_parameters() if not (p.dim() >= 2 and not n.startswith("mlp"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.02}, {"params": other, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.95))
    x, e, t, mk = inputs(train_batch, hosts)
    m.train()

    def step():
        opt.zero_grad()
        loss = (torch.abs(m(x, e) / t - 1) * mk).mean()
        loss.backward()
        opt.step()

    res = {"train_step_ms": 1e3 * best_of(step, seconds)}
    res["train_samples_per_sec"] = train_batch / res["train_step_ms"] * 1e3
    m.eval()
    res["infer_ms_per_path"] = {}
    for b in infer_batches:
        x, e, _, _ = inputs(b, hosts)
        with torch.inference_mode():
            res["infer_ms_per_path"][str(b)] = 1e3 * best_of(lambda: m(x, e), seconds) / b
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--hosts", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--m4", help="m4 binary (default: go build ./cmd/m4)")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    torch.set_num_threads(a.threads)
    pt = torch_bench(a.hosts, 20, [1, 256], a.seconds)
    m4bin = a.m4
    if not m4bin:
        m4bin = os.path.join(tempfile.mkdtemp(), "m4")
        subprocess.run(["go", "build", "-o", m4bin, "./cmd/m4"], cwd=root, check=True)
    out = subprocess.run([m4bin, "bench", "model", "--json", "--threads", str(a.threads), "--hosts", str(a.hosts),
                          "--seconds", str(a.seconds), "--infer-batch", "1", "--infer-batch", "256"],
                         cwd=root, check=True, capture_output=True, text=True).stdout
    m4 = json.loads(out)
    peak = m4["fma_peak_core_gflops"] * m4["threads"]
    print(f"m3's model ({m4['params']} parameters), {a.hosts}-host paths, {a.threads} threads; "
          f"torch {torch.__version__}, m4 {m4['kernel']} kernels; fp32 FMA peak {m4['fma_peak_core_gflops']:.0f} "
          f"GFLOP/s per core, {peak:.0f} on {m4['threads']}\n")
    print("| measurement | PyTorch | m4 | m4 vs PyTorch |")
    print("|---|---|---|---|")
    print(f"| training, batch 20: samples/s (step ms) | {pt['train_samples_per_sec']:.0f} ({pt['train_step_ms']:.0f}) | "
          f"{m4['train_samples_per_sec']:.0f} ({m4['train_step_ms']:.0f}) | {m4['train_samples_per_sec'] / pt['train_samples_per_sec']:.2f}x |")
    for b in ("1", "256"):
        p, q = pt["infer_ms_per_path"][b], m4["infer_ms_per_path"][b]
        print(f"| inference, batch {b}: ms per path | {p:.3f} | {q:.3f} | {p / q:.2f}x |")
    print()
    for b in ("1", "256"):
        g = m4["infer_gflops"][b]
        print(f"m4 inference at batch {b}: {g:.0f} GFLOP/s in the linear layers = {100 * g / peak:.0f}% of the {peak:.0f} GFLOP/s peak")
    for g in m4["gemm"]:
        print(f"m4 matmul {g['M']} x {g['N']} x {g['K']}: {g['gflops']:.0f} GFLOP/s = {100 * g['gflops'] / peak:.0f}% of peak")


if __name__ == "__main__":
    main()
