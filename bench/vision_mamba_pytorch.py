#!/usr/bin/env python3
"""Plain-PyTorch speed baseline for ssmkit's Vision Mamba (models/vision_mamba.h).

The same model (conv patch embedding, class token, learned positions, hybrid blocks of a
bidirectional Mamba scan and multi-head self-attention mixed by a learned gate, MLP, LayerNorm,
linear head), the same data (the first steps * batch Fashion-MNIST training images, random crop
with padding 2 and horizontal flips, normalised), AdamW, label smoothing and gradient clipping as
`train_vision_mamba --config fashion_mnist`, in eager PyTorch. The selective scan is either a
sequential loop over the tokens (`--scan loop`, mamba-minimal style) or a parallel Blelloch scan
(`--scan pscan`, mamba.py style: in-place up- and down-sweeps over strided views, its own
backward by the reversed scan); bench/compare_vision_mamba.py times both and compares ssmkit
with the faster. Times `steps` optimizer steps per epoch over `epochs` epochs (the first one a
warm-up) and reports the median seconds per epoch, and per step. Only torch and numpy; runs on
PyTorch 1.13 (CPU) and 2.x (CPU or CUDA).

  python3 bench/vision_mamba_pytorch.py --data_dir /usr/share/datasets/fashion-mnist \
      --device cpu --threads 2 --steps 20 --epochs 3 --batch_size 256 --json
"""
import argparse
import gzip
import json
import math
import os
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# The "small" preset of the fashion_mnist config.
PRESETS = {"tiny": (64, 4, 2, 8, 4), "small": (128, 6, 4, 16, 4), "base": (256, 8, 8, 16, 4),
           "large": (384, 12, 8, 16, 4)}


SCAN = "loop"  # --scan


def blelloch_scan_(a, x):
    """In place, x[:, :, t] <- a[:, :, t] * x[:, :, t - 1] + x[:, :, t] over dim 2 (length a power
    of two), a <- the running products: an up-sweep combining pairs at strides 1, 2, 4, ... and a
    down-sweep filling in the positions between, as mamba.py's pscan does."""
    batch, dim, length, _ = a.shape
    levels = int(math.log2(length))
    for level in range(levels):
        s = 2 ** level
        aa = a[:, :, s - 1::s].view(batch, dim, length // (2 * s), 2, -1)
        xa = x[:, :, s - 1::s].view(batch, dim, length // (2 * s), 2, -1)
        xa[:, :, :, 1].add_(aa[:, :, :, 1] * xa[:, :, :, 0])
        aa[:, :, :, 1].mul_(aa[:, :, :, 0])
    for level in range(levels - 2, -1, -1):
        s = 2 ** level
        aa = a[:, :, s - 1::s].view(batch, dim, length // (2 * s), 2, -1)
        xa = x[:, :, s - 1::s].view(batch, dim, length // (2 * s), 2, -1)
        xa[:, :, 1:, 0].add_(aa[:, :, 1:, 0] * xa[:, :, :-1, 1])
        aa[:, :, 1:, 0].mul_(aa[:, :, :-1, 1])


class ParallelScan(torch.autograd.Function):
    """h[:, t] = a[:, t] * h[:, t - 1] + x[:, t] for (B, L, E, N) inputs, by the Blelloch scan."""

    @staticmethod
    def forward(ctx, a_in, x_in):
        length = a_in.shape[1]
        padded = 1 << max(1, (length - 1).bit_length())
        pad = (0, 0, 0, 0, 0, padded - length)
        a = F.pad(a_in, pad).transpose(1, 2).contiguous()  # (B, E, Lp, N)
        x = F.pad(x_in, pad).transpose(1, 2).contiguous()
        blelloch_scan_(a, x)
        h = x.transpose(1, 2)[:, :length]  # (B, L, E, N)
        ctx.save_for_backward(a_in, h)
        return h

    @staticmethod
    def backward(ctx, grad_h):
        a_in, h = ctx.saved_tensors
        length = a_in.shape[1]
        padded = 1 << max(1, (length - 1).bit_length())
        # g[t] = grad_h[t] + a[t + 1] g[t + 1]: the same scan over the reversed sequence.
        a_next = F.pad(a_in[:, 1:], (0, 0, 0, 0, 0, 1))
        pad = (0, 0, 0, 0, 0, padded - length)
        a = F.pad(a_next.flip(1), pad).transpose(1, 2).contiguous()
        g = F.pad(grad_h.flip(1), pad).transpose(1, 2).contiguous()
        blelloch_scan_(a, g)
        grad_x = g.transpose(1, 2)[:, :length].flip(1)
        h_before = F.pad(h[:, :-1], (0, 0, 0, 0, 1, 0))
        return grad_x * h_before, grad_x


class Mamba(nn.Module):
    """Mamba block as ssmkit's nn/mamba.h: in_proj (no bias), causal depthwise conv + SiLU,
    x_proj -> (dt, B, C), dt_proj with bias, softplus, selective scan with D skip, SiLU(z) gate,
    out_proj (no bias)."""

    def __init__(self, d_model, d_state, d_conv, expand=2):
        super().__init__()
        d_inner = expand * d_model
        self.d_inner, self.d_state = d_inner, d_state
        self.dt_rank = math.ceil(d_model / 16)
        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
        self.conv1d = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, d_inner)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1).float()).repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)

    def forward(self, x):  # (B, L, D)
        length = x.shape[1]
        xz = self.in_proj(x)
        u, z = xz.chunk(2, dim=-1)
        u = F.silu(self.conv1d(u.transpose(1, 2))[..., :length].transpose(1, 2))  # (B, L, E)
        dt, b, c = self.x_proj(u).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj(dt))  # (B, L, E)
        a = -torch.exp(self.A_log.float())  # (E, N)
        delta_a = torch.exp(delta.unsqueeze(-1) * a)  # (B, L, E, N)
        delta_bu = delta.unsqueeze(-1) * b.unsqueeze(2) * u.unsqueeze(-1)  # (B, L, E, N)
        if SCAN == "pscan":
            h = ParallelScan.apply(delta_a, delta_bu)  # (B, L, E, N)
            y = (h * c.unsqueeze(2)).sum(-1) + u * self.D
        else:
            h = torch.zeros(x.shape[0], self.d_inner, self.d_state, device=x.device,
                            dtype=delta_a.dtype)
            ys = []
            for t in range(length):
                h = delta_a[:, t] * h + delta_bu[:, t]
                ys.append((h * c[:, t].unsqueeze(1)).sum(-1))
            y = torch.stack(ys, dim=1) + u * self.D
        return self.out_proj(y * F.silu(z))


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x):
        b, l, d = x.shape
        q, k, v = self.qkv(x).view(b, l, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if hasattr(F, "scaled_dot_product_attention"):  # PyTorch >= 2.0: the fused kernel
            y = F.scaled_dot_product_attention(q, k, v)
        else:
            y = ((q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))).softmax(-1) @ v
        return self.out(y.transpose(1, 2).reshape(b, l, d))


def drop_path(x, p, training):
    if not training or p == 0.0:
        return x
    keep = torch.empty(x.shape[0], 1, 1, device=x.device, dtype=x.dtype).bernoulli_(1 - p)
    return x * keep / (1 - p)


class Block(nn.Module):
    def __init__(self, dim, heads, d_state, d_conv, mlp_ratio, drop_path_rate):
        super().__init__()
        self.mixer_norm = nn.LayerNorm(dim, eps=1e-6)
        self.forward_mamba = Mamba(dim, d_state, d_conv)
        self.backward_mamba = Mamba(dim, d_state, d_conv)
        self.attention = Attention(dim, heads)
        self.gate = nn.Parameter(torch.zeros(()))
        self.mlp_norm = nn.LayerNorm(dim, eps=1e-6)
        hidden = round(mlp_ratio * dim)
        self.mlp_in, self.mlp_out = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.drop_path = drop_path_rate

    def forward(self, x):
        h = self.mixer_norm(x)
        ssm = (self.forward_mamba(h) + self.backward_mamba(h.flip(1)).flip(1)) * 0.5
        share = torch.sigmoid(self.gate)
        x = x + drop_path(ssm * share + self.attention(h) * (1 - share), self.drop_path, self.training)
        return x + drop_path(self.mlp_out(F.gelu(self.mlp_in(self.mlp_norm(x)))), self.drop_path,
                             self.training)


class VisionMamba(nn.Module):
    def __init__(self, size, image_size=28, in_channels=1, classes=10, patch=4, mlp_ratio=2.0,
                 drop_path_rate=0.1):
        super().__init__()
        dim, depth, heads, d_state, d_conv = PRESETS[size]
        self.patch_embed = nn.Conv2d(in_channels, dim, patch, stride=patch)
        tokens = (image_size // patch) ** 2 + 1
        self.class_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.positions = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)
        self.blocks = nn.ModuleList(
            Block(dim, heads, d_state, d_conv, mlp_ratio,
                  drop_path_rate * i / (depth - 1) if depth > 1 else 0.0) for i in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, images):
        x = self.patch_embed(images).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], 1) + self.positions
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, 0])


def read_idx_images(folder, count):
    path = os.path.join(folder, "train-images-idx3-ubyte.gz")
    opener = gzip.open if os.path.exists(path) else open
    with opener(path if os.path.exists(path) else path[:-3], "rb") as f:
        data = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    with (gzip.open if os.path.exists(path) else open)(
            os.path.join(folder, "train-labels-idx1-ubyte" + (".gz" if os.path.exists(path) else "")),
            "rb") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    images = torch.from_numpy(data.reshape(-1, 1, 28, 28)[:count].copy())
    return images, torch.from_numpy(labels[:count].astype(np.int64))


def augment(images, generator, pad=2):
    """Random crop after zero padding and horizontal flip, per example, on the whole batch."""
    b, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))
    top = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    left = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    rows = (top[:, None] + torch.arange(h))[:, None, :, None]
    cols = (left[:, None] + torch.arange(w))[:, None, None, :]
    out = padded[torch.arange(b)[:, None, None, None], torch.arange(images.shape[1])[None, :, None, None],
                 rows, cols]
    flip = torch.rand(b, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(3), out)


def check_parallel_scan():
    """The parallel scan against the loop in float64: outputs and both gradients."""
    torch.manual_seed(0)
    for length in (1, 2, 5, 16, 50):
        a = torch.rand(3, length, 4, 2, dtype=torch.float64, requires_grad=True)
        x = torch.randn(3, length, 4, 2, dtype=torch.float64, requires_grad=True)
        h = ParallelScan.apply(a, x)
        state, loop = torch.zeros_like(x[:, 0]), []
        for t in range(length):
            state = a[:, t] * state + x[:, t]
            loop.append(state)
        expected = torch.stack(loop, 1)
        seed = torch.randn_like(expected)
        got = torch.autograd.grad(h, (a, x), seed)
        want = torch.autograd.grad(expected, (a, x), seed)
        error = max((h - expected).abs().max().item(),
                    *((g - w).abs().max().item() for g, w in zip(got, want)))
        assert error < 1e-12, f"length {length}: parallel scan differs from the loop by {error}"
    print("parallel scan: equal to the loop (outputs and gradients, float64)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data_dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", default="small")
    ap.add_argument("--steps", type=int, default=20, help="optimizer steps per timed epoch")
    ap.add_argument("--epochs", type=int, default=3, help="epochs (the first is a warm-up)")
    ap.add_argument("--batch_size", type=int, default=256)
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (CUDA)")
    ap.add_argument("--scan", choices=("loop", "pscan"), default="loop",
                    help="selective scan: sequential loop or parallel (Blelloch) scan")
    ap.add_argument("--check_scan", action="store_true",
                    help="check the parallel scan and its gradients against the loop, then exit")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    global SCAN
    SCAN = args.scan
    if args.check_scan:
        check_parallel_scan()
        return
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    device = torch.device(args.device)
    images, labels = read_idx_images(args.data_dir, args.steps * args.batch_size)
    # Images stay on the host and are augmented there, batch by batch, as ssmkit's batch source does.
    model = VisionMamba(args.size).to(device)
    params = sum(p.numel() for p in model.parameters())
    no_decay = [p for n, p in model.named_parameters()
                if n.split(".")[-1] in ("bias", "positions", "class_token", "A_log", "D", "gate")]
    decay = [p for n, p in model.named_parameters()
             if n.split(".")[-1] not in ("bias", "positions", "class_token", "A_log", "D", "gate")]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=1.5e-3)
    generator = torch.Generator().manual_seed(42)
    seconds = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        order = torch.randperm(images.shape[0], generator=generator)
        model.train()
        for s in range(args.steps):
            index = order[s * args.batch_size:(s + 1) * args.batch_size]
            x = ((augment(images[index].float() / 255.0, generator) - 0.2860) / 0.3530).to(device)
            y = labels[index].to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
                loss = F.cross_entropy(model(x).float(), y, label_smoothing=0.1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            loss.item()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds[1:] if len(seconds) > 1 else seconds)
    result = {"impl": "pytorch", "scan": args.scan, "size": args.size, "device": args.device, "threads": args.threads,
              "batch_size": args.batch_size, "steps": args.steps, "median_epoch_s": median,
              "step_s": median / args.steps, "epoch_s": seconds, "params": params,
              "torch": torch.__version__}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"pytorch ({args.scan}) {args.size} {args.device}: {median / args.steps * 1000:.1f} ms/step "
              f"({args.steps} steps of {args.batch_size}), {params} parameters")


if __name__ == "__main__":
    main()
