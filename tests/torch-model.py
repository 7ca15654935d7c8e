#!/usr/bin/python3
"""torch-model.py: the PyTorch oracle for the tactus transformer (used by tests/test-model-torch.c).

Reads a tactus checkpoint with a plain reader of the safetensors format (struct + json, no safetensors
package), rebuilds the Llama-style model in PyTorch from the configuration in its metadata, and on a
batch (another safetensors file holding I32 "inputs" and "targets") computes logits, the mean
cross-entropy and the gradients, or runs a few AdamW steps with torch.optim.AdamW. The results go to an
output safetensors file for the C side to compare. This is a test oracle, not a training script.

usage: torch-model.py MODE CKPT BATCH OUT [MODE CKPT BATCH OUT ...]   (several jobs: one torch import)
  MODE grads: logits, loss and gradients
  MODE adamw: losses and parameters after AdamW steps (settings in BATCH's metadata: lr, weight_decay,
              beta1, beta2, eps, grad_clip, steps)
"""
import json
import math
import struct
import sys

import torch

DTYPES = {"F32": (torch.float32, 4), "I32": (torch.int32, 4), "F64": (torch.float64, 8),
          "I64": (torch.int64, 8)}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        dtype, size = DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        buf = bytearray(data[base + b:base + e])
        t = torch.frombuffer(buf, dtype=dtype) if e > b else torch.zeros(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"]).clone()
    return tensors, meta


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().to(torch.float32)
        raw = t.numpy().tobytes() if hasattr(t, "numpy") else bytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def rope_tables(context, hd, theta):
    # the same tables as the C side: angles in double precision, then rounded to float
    i = torch.arange(hd // 2, dtype=torch.float64)
    freq = torch.pow(torch.tensor(theta, dtype=torch.float64), -2.0 * i / hd)
    ang = torch.arange(context, dtype=torch.float64)[:, None] * freq[None, :]
    return torch.cos(ang).float(), torch.sin(ang).float()


def rope(x, cos, sin):
    # x (b, t, h, hd): pairs (x[2i], x[2i+1]) rotate by the angle of their position
    b, t, h, hd = x.shape
    xp = x.reshape(b, t, h, hd // 2, 2)
    x0, x1 = xp[..., 0], xp[..., 1]
    c, s = cos[:t][None, :, None, :], sin[:t][None, :, None, :]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).reshape(b, t, h, hd)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def forward(P, cfg, inputs):
    D, H, KV = cfg["d_model"], cfg["heads"], cfg["kv_heads"]
    hd = D // H
    eps = cfg["norm_eps"]
    b, t = inputs.shape
    cos, sin = rope_tables(cfg["context"], hd, cfg["rope_theta"])
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    x = P["tok_embeddings.weight"][inputs.long()]
    for l in range(cfg["layers"]):
        pre = "layers.%d." % l
        h = rmsnorm(x, P[pre + "attention_norm.weight"], eps)
        q = (h @ P[pre + "attention.wq.weight"].T).view(b, t, H, hd)
        k = (h @ P[pre + "attention.wk.weight"].T).view(b, t, KV, hd)
        v = (h @ P[pre + "attention.wv.weight"].T).view(b, t, KV, hd)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        k = k.repeat_interleave(H // KV, dim=2)
        v = v.repeat_interleave(H // KV, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(mask, float("-inf"))
        a = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(b, t, D)
        x = x + a @ P[pre + "attention.wo.weight"].T
        h = rmsnorm(x, P[pre + "ffn_norm.weight"], eps)
        g = torch.nn.functional.silu(h @ P[pre + "feed_forward.w1.weight"].T) * \
            (h @ P[pre + "feed_forward.w3.weight"].T)
        x = x + g @ P[pre + "feed_forward.w2.weight"].T
    x = rmsnorm(x, P["norm.weight"], eps)
    out = P["tok_embeddings.weight"] if cfg["tied"] else P["output.weight"]
    return x @ out.T


def loss_of(logits, targets):
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                             targets.reshape(-1).long(), ignore_index=-1)


def job(mode, ckpt, batch, outp):
    P, meta = read_safetensors(ckpt)
    cfg = json.loads(meta["tactus.config"])
    B, bmeta = read_safetensors(batch)
    inputs, targets = B["inputs"], B["targets"]
    P = {k: v.requires_grad_(True) for k, v in P.items() if not k.startswith("optim.")}
    out = {}
    if mode == "grads":
        logits = forward(P, cfg, inputs)
        loss = loss_of(logits, targets)
        loss.backward()
        out["logits"] = logits
        out["loss"] = loss.reshape(1)
        for k, v in P.items():
            out["grad." + k] = v.grad
    elif mode == "adamw":
        decay = [v for v in P.values() if v.dim() == 2]
        nodecay = [v for v in P.values() if v.dim() < 2]
        wd = float(bmeta["weight_decay"])
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd},
                                 {"params": nodecay, "weight_decay": 0.0}],
                                lr=float(bmeta["lr"]), betas=(float(bmeta["beta1"]), float(bmeta["beta2"])),
                                eps=float(bmeta["eps"]))
        losses = []
        for _ in range(int(bmeta["steps"])):
            opt.zero_grad()
            loss = loss_of(forward(P, cfg, inputs), targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(P.values()), float(bmeta["grad_clip"]))
            opt.step()
            losses.append(loss.item())
        out["losses"] = torch.tensor(losses)
        for k, v in P.items():
            out["param." + k] = v
    else:
        sys.exit("unknown mode " + mode)
    write_safetensors(outp, out)


def main():
    torch.set_num_threads(1)
    args = sys.argv[1:]
    if not args or len(args) % 4:
        sys.exit(__doc__)
    for i in range(0, len(args), 4):
        job(*args[i:i + 4])


if __name__ == "__main__":
    main()
