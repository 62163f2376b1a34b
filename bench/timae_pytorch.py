#!/usr/bin/env python3
"""Plain-PyTorch speed baseline for ssmkit's Ti-MAE models on ECG5000.

Trains the same models as ssmkit (same shapes, data, batch, optimiser and schedule) in eager
PyTorch and reports the median seconds per epoch (training pass + validation pass), so that
ssmkit's epoch times have a reference point. Only torch and numpy; runs on PyTorch 1.13 (CPU)
and 2.x (CPU or CUDA).

Parameter counts (ECG5000 recipe; these must equal ssmkit's):
  timae        pretrain 127329   finetune 100229
  timae_mamba  pretrain  48977   finetune  35485

Example:
  python3 bench/timae_pytorch.py --model timae_mamba --phase pretrain --data_dir DIR \
      --device cpu --epochs 5 --threads 1 --batch_size 64 --seed 2021 --json
"""
import argparse
import json
import math
import os
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEQ_LEN, NUM_CLASSES, MASK_RATIO, DROPOUT = 140, 5, 0.75, 0.1
# (emb, heads, layers, intermediate or ssm state) of the encoder and of the decoder.
RECIPES = {
    "timae": dict(enc=(64, 4, 2, 256), dec=(32, 4, 2, 128)),
    "timae_mamba": dict(enc=(64, 8, 1, 64), dec=(32, 8, 1, 64)),
}


def sinusoid_table(rows, dim):
    """Fixed positional table: sin on even dims, cos on odd dims (Vaswani et al.)."""
    pos = torch.arange(rows, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(rows, dim)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)
    return table


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.out = nn.Linear(dim, dim)

    def forward(self, x):
        b, l, d = x.shape
        q, k, v = self.qkv(x).view(b, l, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        p = DROPOUT if self.training else 0.0
        if hasattr(F, "scaled_dot_product_attention"):  # PyTorch >= 2.0: the fused kernel
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
        else:  # PyTorch 1.13: the same maths spelled out
            att = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))
            y = F.dropout(att.softmax(-1), p, self.training) @ v
        return self.out(y.transpose(1, 2).reshape(b, l, d))


class TransformerLayer(nn.Module):
    """Pre-norm encoder layer: x + Dropout(MHA(LN(x))), then x + FFN(LN(x))."""

    def __init__(self, dim, heads, intermediate):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.ffn = nn.Sequential(nn.Linear(dim, intermediate), nn.GELU(), nn.Dropout(DROPOUT),
                                 nn.Linear(intermediate, dim), nn.Dropout(DROPOUT))

    def forward(self, x):
        x = x + F.dropout(self.attn(self.norm1(x)), DROPOUT, self.training)
        return x + self.ffn(self.norm2(x))


def segsum(a):
    """(..., T) -> (..., T, T): sum of a[j+1..i] below the diagonal, -inf above (exp -> decay)."""
    t = a.size(-1)
    a = a[..., None].expand(*a.shape, t)
    strict = torch.tril(torch.ones(t, t, dtype=torch.bool, device=a.device), -1)
    s = torch.cumsum(a.masked_fill(~strict, 0), dim=-2)
    lower = torch.tril(torch.ones(t, t, dtype=torch.bool, device=a.device))
    return s.masked_fill(~lower, -math.inf)


def ssd_chunked(x, a, B, C, chunk):
    """SSD scan in chunked matrix form (mamba2-minimal's ssd_minimal_discrete, one group).

    x (b, l, h, p) already times dt, a (b, l, h) = A * dt, B and C (b, l, n) -> y (b, l, h, p).
    """
    b, l, h, p = x.shape
    pad = (-l) % chunk  # zero a after the end leaves earlier outputs untouched (causal)
    x, a, B, C = (F.pad(t, (0, 0) * (t.dim() - 2) + (0, pad)) for t in (x, a, B, C))
    c = x.size(1) // chunk
    x = x.reshape(b, c, chunk, h, p).permute(0, 3, 1, 2, 4)  # (b, h, c, s, p)
    a = a.reshape(b, c, chunk, h).permute(0, 3, 1, 2)  # (b, h, c, s)
    B, C = B.reshape(b, 1, c, chunk, -1), C.reshape(b, 1, c, chunk, -1)  # (b, 1, c, s, n)
    a_cum = torch.cumsum(a, -1)
    # Within each chunk: (C B^T masked by the decays) x.
    y = ((C @ B.transpose(-2, -1)) * torch.exp(segsum(a))) @ x
    # State at the end of each chunk, then carried across chunks.
    states = (B * torch.exp(a_cum[..., -1:] - a_cum)[..., None]).transpose(-2, -1) @ x
    states = torch.cat([torch.zeros_like(states[:, :, :1]), states], 2)  # (b, h, c+1, n, p)
    decay = torch.exp(segsum(F.pad(a_cum[..., -1], (1, 0))))  # (b, h, c+1, c+1)
    states = (decay @ states.flatten(3)).view_as(states)[:, :, :-1]
    # Contribution of the state entering each chunk.
    y = y + (C @ states) * torch.exp(a_cum)[..., None]
    return y.permute(0, 2, 3, 1, 4).reshape(b, -1, h, p)[:, :l]


def ssd_loop(x, a, B, C, chunk=None):
    """The same scan as a sequential recurrence over time (same arguments)."""
    b, l, h, p = x.shape
    state = x.new_zeros(b, h, p, B.size(-1))
    ys = []
    for t in range(l):
        decay = torch.exp(a[:, t])[..., None, None]  # (b, h, 1, 1)
        state = state * decay + x[:, t, :, :, None] * B[:, t, None, None]  # (b, h, p, n)
        ys.append(state @ C[:, t, None, :, None])  # (b, h, p, 1)
    return torch.stack(ys, 1).squeeze(-1)


class Mamba2(nn.Module):
    """Mamba-2 block as ssmkit::nn::Mamba2 (expand 2, d_conv 4, ngroups 1, no in/out bias)."""

    def __init__(self, dim, heads, d_state, scan, expand=2, d_conv=4, chunk=64):
        super().__init__()
        self.d_inner, self.heads, self.d_state, self.chunk = expand * dim, heads, d_state, chunk
        self.scan = ssd_chunked if scan == "chunked" else ssd_loop
        conv_dim = self.d_inner + 2 * d_state  # x, B, C
        self.in_proj = nn.Linear(dim, self.d_inner + conv_dim + heads, bias=False)  # z, xBC, dt
        self.conv = nn.Conv1d(conv_dim, conv_dim, d_conv, groups=conv_dim, padding=d_conv - 1)
        dt = torch.exp(torch.empty(heads).uniform_(math.log(1e-3), math.log(0.1))).clamp(min=1e-4)
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # softplus(dt_bias) = dt
        self.A_log = nn.Parameter(torch.log(torch.empty(heads).uniform_(1.0, 16.0)))
        self.D = nn.Parameter(torch.ones(heads))
        self.norm_weight = nn.Parameter(torch.ones(self.d_inner))
        self.out_proj = nn.Linear(self.d_inner, dim, bias=False)

    def forward(self, u):
        b, l, _ = u.shape
        z, xbc, dt = self.in_proj(u).split([self.d_inner, self.d_inner + 2 * self.d_state,
                                            self.heads], -1)
        xbc = F.silu(self.conv(xbc.transpose(1, 2))[..., :l]).transpose(1, 2)  # causal: keep l
        x, B, C = xbc.split([self.d_inner, self.d_state, self.d_state], -1)
        dt = F.softplus(dt + self.dt_bias)  # (b, l, h)
        x = x.reshape(b, l, self.heads, -1)
        y = self.scan(x * dt[..., None], dt * -torch.exp(self.A_log), B, C, self.chunk)
        y = (y + x * self.D[:, None]).reshape(b, l, self.d_inner) * F.silu(z)  # gate, then norm
        y = y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + 1e-5) * self.norm_weight
        return self.out_proj(y)


class MambaLayer(nn.Module):
    def __init__(self, dim, heads, d_state, scan):
        super().__init__()
        self.norm, self.mixer = nn.LayerNorm(dim), Mamba2(dim, heads, d_state, scan)

    def forward(self, x):
        return x + self.mixer(self.norm(x))


def make_stack(model, dim, heads, layers, extra, scan):
    make = (lambda: TransformerLayer(dim, heads, extra)) if model == "timae" else \
        (lambda: MambaLayer(dim, heads, extra, scan))
    return nn.Sequential(*[make() for _ in range(layers)], nn.LayerNorm(dim))


class TiMAE(nn.Module):
    """Encoder plus either the reconstruction decoder (pretrain) or the classifier (finetune)."""

    def __init__(self, model, phase, scan):
        super().__init__()
        (e, eh, el, ex), (d, dh, dl, dx) = RECIPES[model]["enc"], RECIPES[model]["dec"]
        # A causal scan's last token has seen the whole sequence, so the Mamba CLS goes last.
        self.cls_last, self.phase = model == "timae_mamba", phase
        self.embed = nn.Linear(1, e)
        self.register_buffer("pos", sinusoid_table(SEQ_LEN + 1, e))  # row 0: the CLS
        self.cls = nn.Parameter(torch.zeros(1, 1, e))
        self.encoder = make_stack(model, e, eh, el, ex, scan)
        if phase == "pretrain":
            self.dec_embed = nn.Linear(e, d)
            self.mask_token = nn.Parameter(torch.zeros(1, 1, d))
            self.register_buffer("dec_pos", sinusoid_table(SEQ_LEN + 1, d))
            self.decoder = make_stack(model, d, dh, dl, dx, scan)
            self.head = nn.Linear(d, 1)
        else:
            self.head = nn.Linear(e, NUM_CLASSES)

    def with_cls(self, tokens, cls):
        return torch.cat([tokens, cls] if self.cls_last else [cls, tokens], 1)

    def without_cls(self, tokens):
        return tokens[:, :-1] if self.cls_last else tokens[:, 1:]

    def forward(self, x):  # x (b, L, 1)
        b, l, _ = x.shape
        tokens = self.embed(x) + self.pos[1:l + 1]
        cls = (self.cls + self.pos[:1]).expand(b, -1, -1)
        if self.phase == "finetune":
            h = self.without_cls(self.encoder(self.with_cls(tokens, cls)))
            return self.head(h.mean(1))  # avg pooling over the steps
        # Random masking: keep len_keep steps per sample, in time order.
        keep = int(l * (1 - MASK_RATIO))
        shuffle = torch.rand(b, l, device=x.device).argsort(1)
        ids_keep = shuffle[:, :keep].sort(1).values
        mask = torch.ones(b, l, device=x.device).scatter(1, ids_keep, 0.0)  # 1 = removed
        kept = tokens.gather(1, ids_keep[..., None].expand(-1, -1, tokens.size(-1)))
        h = self.dec_embed(self.encoder(self.with_cls(kept, cls)))
        # Mask tokens everywhere, the kept tokens scattered back to their time steps.
        d = h.size(-1)
        full = self.mask_token.expand(b, l, d).scatter(1, ids_keep[..., None].expand(-1, -1, d),
                                                       self.without_cls(h))
        cls_h = h[:, -1:] if self.cls_last else h[:, :1]
        h = self.with_cls(full + self.dec_pos[1:l + 1], cls_h + self.dec_pos[:1])
        pred = self.without_cls(self.head(self.decoder(h)))
        return ((pred - x) ** 2 * mask[..., None]).sum() / mask.sum()  # masked MSE (input_dim 1)


def load_tsv(path):
    rows = np.loadtxt(path, delimiter="\t", dtype=np.float32)
    return torch.from_numpy(rows[:, 1:]).unsqueeze(-1), torch.from_numpy(rows[:, 0]).long() - 1


def load_data(args):
    train_x, train_y = load_tsv(os.path.join(args.data_dir, "ECG5000_TRAIN.tsv"))
    if args.phase == "pretrain":  # unlabelled TEST rows to pretrain, the TRAIN rows to validate
        test = os.path.join(args.data_dir, "ECG5000_TEST.tsv")
        if not os.path.exists(test):
            test = os.path.join(args.data_dir, "ECG5000_TEST_approx4499_float32.tsv")
        return load_tsv(test), (train_x, train_y)
    perm = torch.from_numpy(np.random.default_rng(args.seed).permutation(len(train_x)))
    n_train = int(0.85 * len(train_x))
    tr, va = perm[:n_train], perm[n_train:]
    return (train_x[tr], train_y[tr]), (train_x[va], train_y[va])


def run_epoch(model, loss_fn, data, batch_size, opt=None, sched=None):
    x, y = data
    train = opt is not None
    model.train(train)
    n = len(x)
    order = torch.randperm(n, device=x.device) if train else torch.arange(n, device=x.device)
    with torch.set_grad_enabled(train):
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            loss = loss_fn(model, x[idx], y[idx])
            if train:
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=list(RECIPES), default="timae")
    ap.add_argument("--phase", choices=["pretrain", "finetune"], default="pretrain")
    ap.add_argument("--data_dir", required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch_size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=2021)
    ap.add_argument("--scan", choices=["chunked", "loop"], default="chunked",
                    help="Mamba-2 scan: chunked matrix form (default; on CPU with 1 thread "
                         "it beats the sequential loop, by ~4x at L=141) or the loop")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train, val = [tuple(t.to(device) for t in d) for d in load_data(args)]
    model = TiMAE(args.model, args.phase, args.scan).to(device)
    params = sum(p.numel() for p in model.parameters())

    if args.phase == "pretrain":
        loss_fn = lambda m, x, y: m(x)  # the model returns its masked reconstruction loss
    else:  # inverse-frequency class weights, summing to K, clipped to [0.1, 10]
        counts = torch.bincount(train[1], minlength=NUM_CLASSES).clamp(min=1).float()
        w = 1.0 / counts
        w = (w * NUM_CLASSES / w.sum()).clamp(0.1, 10.0)
        ce = nn.CrossEntropyLoss(weight=w.to(device))
        loss_fn = lambda m, x, y: ce(m(x), y)

    steps = math.ceil(len(train[0]) / args.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=args.epochs * steps)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    epoch_s = []
    for _ in range(args.epochs):
        sync()
        start = time.perf_counter()
        run_epoch(model, loss_fn, train, args.batch_size, opt, sched)
        run_epoch(model, loss_fn, val, args.batch_size)
        sync()
        epoch_s.append(time.perf_counter() - start)
    median = statistics.median(epoch_s[1:] if len(epoch_s) > 1 else epoch_s)  # epoch 1: warm-up

    if args.json:
        print(json.dumps(dict(model=args.model, phase=args.phase, device=args.device,
                              threads=args.threads, batch_size=args.batch_size,
                              epochs=args.epochs, median_epoch_s=round(median, 4),
                              epoch_s=[round(s, 4) for s in epoch_s], params=params)))
    else:
        print(f"{'model':<12} {'phase':<9} {'device':<7} {'threads':>7} {'epochs':>6} "
              f"{'median_s/epoch':>14} {'params':>8}")
        print(f"{args.model:<12} {args.phase:<9} {args.device:<7} {args.threads:>7} "
              f"{args.epochs:>6} {median:>14.3f} {params:>8}")


if __name__ == "__main__":
    main()
