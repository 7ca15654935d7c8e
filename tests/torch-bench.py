#!/usr/bin/python3
"""torch-bench.py: the PyTorch side of bench/bench-model.c, on the same configurations.

Training: d_model 256, 4 layers, 4 heads, vocab 512, d_ff 704, batch 8 x 256, forward + backward +
torch.optim.AdamW step. Generation: d_model 288, 6 layers, 6 heads, vocab 512, d_ff 768, a KV cache, one
token at a time for 256 tokens from position 0, greedy. The model is the same Llama-style block as
tests/torch-model.py (eager PyTorch, float32). Threads: torch.set_num_threads(N) with N from
--threads or $OPENBLAS_NUM_THREADS (default 1); run it with the same OPENBLAS_* environment as the C
benchmark and leave OPENBLAS_CORETYPE alone. A benchmark, not a test.

usage: torch-bench.py [--threads N] [--steps N] [--only train|generate]
"""
import argparse
import math
import os
import time

import torch


def rope_tables(context, hd, theta=10000.0):
    i = torch.arange(hd // 2, dtype=torch.float64)
    freq = theta ** (-2.0 * i / hd)
    ang = torch.arange(context, dtype=torch.float64)[:, None] * freq[None, :]
    return torch.cos(ang).float(), torch.sin(ang).float()


def rope(x, cos, sin):
    # x (b, t, h, hd); cos, sin (t, hd/2)
    b, t, h, hd = x.shape
    xp = x.reshape(b, t, h, hd // 2, 2)
    x0, x1 = xp[..., 0], xp[..., 1]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).reshape(b, t, h, hd)


class RMSNorm(torch.nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w


class Block(torch.nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.heads, self.hd = heads, d // heads
        self.n1, self.n2 = RMSNorm(d), RMSNorm(d)
        self.wqkv = torch.nn.Linear(d, 3 * d, bias=False)
        self.wo = torch.nn.Linear(d, d, bias=False)
        self.w13 = torch.nn.Linear(d, 2 * ff, bias=False)
        self.w2 = torch.nn.Linear(ff, d, bias=False)
        self.ff = ff

    def forward(self, x, cos, sin, cache=None, pos=0):
        b, t, d = x.shape
        q, k, v = self.wqkv(self.n1(x)).split(d, dim=-1)
        q = rope(q.view(b, t, self.heads, self.hd), cos[pos:pos + t], sin[pos:pos + t])
        k = rope(k.view(b, t, self.heads, self.hd), cos[pos:pos + t], sin[pos:pos + t])
        v = v.view(b, t, self.heads, self.hd)
        if cache is not None:
            cache[0][:, pos:pos + t] = k
            cache[1][:, pos:pos + t] = v
            k, v = cache[0][:, :pos + t], cache[1][:, :pos + t]
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        if t > 1:
            s = s.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float("-inf"))
        a = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.wo(a)
        g1, g3 = self.w13(self.n2(x)).split(self.ff, dim=-1)
        return x + self.w2(torch.nn.functional.silu(g1) * g3)


class Model(torch.nn.Module):
    def __init__(self, vocab, context, d, layers, heads, ff):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, d)
        self.blocks = torch.nn.ModuleList([Block(d, heads, ff) for _ in range(layers)])
        self.norm = RMSNorm(d)
        self.out = torch.nn.Linear(d, vocab, bias=False)
        cos, sin = rope_tables(context, d // heads)
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)
        for p in self.parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, std=0.02)

    def forward(self, idx, caches=None, pos=0):
        x = self.emb(idx)
        for i, blk in enumerate(self.blocks):
            x = blk(x, self.cos, self.sin, caches[i] if caches else None, pos)
        return self.out(self.norm(x))


def bench_train(steps):
    torch.manual_seed(1)
    m = Model(512, 256, 256, 4, 4, 704)
    decay = [p for p in m.parameters() if p.dim() == 2]
    nodecay = [p for p in m.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": nodecay, "weight_decay": 0}],
                            lr=3e-4, betas=(0.9, 0.95), eps=1e-8)
    x = torch.randint(0, 512, (8, 256))
    y = torch.roll(x, -1)
    for s in range(-1, steps):
        if s == 0:
            t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(m(x).view(-1, 512), y.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = sum(p.numel() for p in m.parameters())
    print("torch train: %.0f tokens/s, %.0f tokens per CPU-second (%d steps, %.3f s/step), %d parameters, "
          "loss %.3f" % (8 * 256 * steps / wall, 8 * 256 * steps / cpu, steps, wall / steps, n, loss.item()))


@torch.no_grad()
def bench_generate(runs):
    torch.manual_seed(2)
    m = Model(512, 256, 288, 6, 6, 768)
    rates, cpu = [], 0.0
    for r in range(-1, runs):
        caches = [(torch.zeros(1, 256, 6, 48), torch.zeros(1, 256, 6, 48)) for _ in range(6)]
        tok = torch.tensor([[1]])
        t0, c0 = time.perf_counter(), time.process_time()
        for pos in range(256):
            logits = m(tok, caches, pos)
            tok = logits[:, -1].argmax(-1, keepdim=True)
        if r >= 0:
            rates.append(256 / (time.perf_counter() - t0))
            cpu += time.process_time() - c0
    print("torch generate: %.0f tokens/s mean, %.0f best, %.0f tokens per CPU-second (%d runs of 256 "
          "tokens, KV cache, greedy)" % (sum(rates) / len(rates), max(rates), 256 * runs / cpu, runs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OPENBLAS_NUM_THREADS", "1") or 1))
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--only", choices=["train", "generate"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print("torch %s, threads %d" % (torch.__version__, torch.get_num_threads()))
    if a.only in (None, "train"):
        bench_train(a.steps)
    if a.only in (None, "generate"):
        bench_generate(5)


if __name__ == "__main__":
    main()
