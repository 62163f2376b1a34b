#!/usr/bin/env python3
"""S4Model training steps in plain PyTorch eager: the S4 repository's example.py model (linear
encoder, n_layers x (S4D, dropout, residual, LayerNorm), mean pooling, linear decoder) with its
standalone S4D (models/s4/s4d.py: S4D-Lin init, kernel by Vandermonde through exp, FFT
convolution, D skip, GELU, Conv1d + GLU output) and its optimizer recipe (AdamW; A and dt with
lr min(0.001, lr) and no weight decay; cosine schedule). The same data, batch and steps as
bench/bench_s4_epoch.cpp; bench/compare_s4.py runs both and prints the ratio. With --csv, a
tabular CSV as `s4model --tabulardata` reads it: every column but --target (default the last) a
step of one channel, standardised; a class target (text, or at most 20 distinct integers) or a
value; the training split's rows (80%, as s4model's default split) repeated to fill the steps.

  python3 bench/s4_pytorch.py --data_dir /usr/share/datasets/fashion-mnist --steps 10 --json
"""
import argparse
import csv
import gzip
import json
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class DropoutNd(nn.Module):
    """Dropout of whole channels, the mask tied over the sequence (the S4 repository's)."""

    def __init__(self, p: float = 0.5, tie=True, transposed=True):
        super().__init__()
        self.p, self.tie, self.transposed = p, tie, transposed
        self.binomial = torch.distributions.binomial.Binomial(probs=1 - self.p)

    def forward(self, X):
        if self.training:
            if not self.transposed:
                X = X.transpose(-1, -2)
            mask_shape = X.shape[:2] + (1,) * (X.ndim - 2) if self.tie else X.shape
            mask = torch.rand(*mask_shape, device=X.device) < 1. - self.p
            X = X * mask * (1.0 / (1 - self.p))
            if not self.transposed:
                X = X.transpose(-1, -2)
            return X
        return X


class S4DKernel(nn.Module):
    """Generate convolution kernel from diagonal SSM parameters."""

    def __init__(self, d_model, N=64, dt_min=0.001, dt_max=0.1, lr=None):
        super().__init__()
        H = d_model
        log_dt = torch.rand(H) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        C = torch.randn(H, N // 2, dtype=torch.cfloat)
        self.C = nn.Parameter(torch.view_as_real(C))
        self.register("log_dt", log_dt, lr)
        log_A_real = torch.log(0.5 * torch.ones(H, N // 2))
        A_imag = math.pi * torch.arange(N // 2).repeat(H, 1)
        self.register("log_A_real", log_A_real, lr)
        self.register("A_imag", A_imag, lr)

    def forward(self, L):
        dt = torch.exp(self.log_dt)  # (H)
        C = torch.view_as_complex(self.C)  # (H N)
        A = -torch.exp(self.log_A_real) + 1j * self.A_imag  # (H N)
        dtA = A * dt.unsqueeze(-1)  # (H N)
        K = dtA.unsqueeze(-1) * torch.arange(L, device=A.device)  # (H N L)
        C = C * (torch.exp(dtA) - 1.) / A
        K = 2 * torch.einsum('hn, hnl -> hl', C, torch.exp(K)).real
        return K

    def register(self, name, tensor, lr=None):
        if lr == 0.0:
            self.register_buffer(name, tensor)
        else:
            self.register_parameter(name, nn.Parameter(tensor))
            optim = {"weight_decay": 0.0}
            if lr is not None:
                optim["lr"] = lr
            setattr(getattr(self, name), "_optim", optim)


class S4D(nn.Module):
    def __init__(self, d_model, d_state=64, dropout=0.0, transposed=True, **kernel_args):
        super().__init__()
        self.h = d_model
        self.n = d_state
        self.d_output = self.h
        self.transposed = transposed
        self.D = nn.Parameter(torch.randn(self.h))
        self.kernel = S4DKernel(self.h, N=self.n, **kernel_args)
        self.activation = nn.GELU()
        self.dropout = DropoutNd(dropout) if dropout > 0.0 else nn.Identity()
        self.output_linear = nn.Sequential(nn.Conv1d(self.h, 2 * self.h, kernel_size=1), nn.GLU(dim=-2))

    def forward(self, u, **kwargs):
        if not self.transposed:
            u = u.transpose(-1, -2)
        L = u.size(-1)
        k = self.kernel(L=L)
        k_f = torch.fft.rfft(k, n=2 * L)
        u_f = torch.fft.rfft(u, n=2 * L)
        y = torch.fft.irfft(u_f * k_f, n=2 * L)[..., :L]
        y = y + u * self.D.unsqueeze(-1)
        y = self.dropout(self.activation(y))
        y = self.output_linear(y)
        if not self.transposed:
            y = y.transpose(-1, -2)
        return y, None


class S4Model(nn.Module):
    def __init__(self, d_input, d_output=10, d_model=256, n_layers=4, dropout=0.2, prenorm=False, lr=0.001):
        super().__init__()
        self.prenorm = prenorm
        self.encoder = nn.Linear(d_input, d_model)
        self.s4_layers = nn.ModuleList()
        self.norms = nn.ModuleList()
        self.dropouts = nn.ModuleList()
        for _ in range(n_layers):
            self.s4_layers.append(S4D(d_model, dropout=dropout, transposed=True, lr=min(0.001, lr)))
            self.norms.append(nn.LayerNorm(d_model))
            self.dropouts.append(DropoutNd(dropout))
        self.decoder = nn.Linear(d_model, d_output)

    def forward(self, x):
        x = self.encoder(x)  # (B, L, d_input) -> (B, L, d_model)
        x = x.transpose(-1, -2)  # (B, d_model, L)
        for layer, norm, dropout in zip(self.s4_layers, self.norms, self.dropouts):
            z = x
            if self.prenorm:
                z = norm(z.transpose(-1, -2)).transpose(-1, -2)
            z, _ = layer(z)
            z = dropout(z)
            x = z + x
            if not self.prenorm:
                x = norm(x.transpose(-1, -2)).transpose(-1, -2)
        x = x.transpose(-1, -2)
        x = x.mean(dim=1)
        return self.decoder(x)


def setup_optimizer(model, lr, weight_decay, epochs):
    """example.py's setup_optimizer: AdamW; parameters with _optim get their own group."""
    all_parameters = list(model.parameters())
    params = [p for p in all_parameters if not hasattr(p, "_optim")]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    hps = [getattr(p, "_optim") for p in all_parameters if hasattr(p, "_optim")]
    hps = [dict(s) for s in sorted(list(dict.fromkeys(frozenset(hp.items()) for hp in hps)))]
    for hp in hps:
        group = [p for p in all_parameters if getattr(p, "_optim", None) == hp]
        optimizer.add_param_group({"params": group, **hp})
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    return optimizer, scheduler


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def find(data_dir, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(data_dir, name)):
            return os.path.join(data_dir, name)
    raise SystemExit(f"s4_pytorch.py: {data_dir} has no {stem}[.gz]")


def read_tabular(path, target):
    """(features (N, F, 1) standardised, targets, classes or 0 for a value) of the CSV's first 80%
    of rows (the data values do not change the step's time; the shapes are s4model's). Exits with
    one line naming the file for a missing or malformed one."""
    def fail(problem):
        raise SystemExit(f"s4_pytorch.py: --csv {path}: {problem}")

    try:
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(f) if r]
    except OSError as e:
        fail(e.strerror or str(e))
    if len(rows) < 2:
        fail("needs a header and at least one row")
    header, rows = rows[0], rows[1:]
    if target and target not in header:
        fail(f"has no column '{target}' (--target)")
    column = header.index(target) if target else len(header) - 1
    for line, r in enumerate(rows, start=2):
        if len(r) != len(header):
            fail(f"line {line} has {len(r)} cells, the header {len(header)}")
    try:
        x = torch.tensor([[float(v) for i, v in enumerate(r) if i != column] for r in rows],
                         dtype=torch.float64)
    except ValueError as e:
        fail(f"a feature cell is not a number ({e})")
    if not torch.isfinite(x).all():
        fail("a feature cell is not finite")
    x = ((x - x.mean(0)) / x.std(0).clamp_min(1e-12)).float()
    raw = [r[column] for r in rows]
    try:
        values = [float(v) for v in raw]
        integral = all(v == int(v) for v in values) and len(set(values)) <= 20
    except (ValueError, OverflowError):
        values, integral = None, True
    if integral:
        names = sorted(set(raw))
        y, classes = torch.tensor([names.index(v) for v in raw]), len(names)
    else:
        y, classes = torch.tensor(values, dtype=torch.float32).unsqueeze(1), 0
    train = max(1, int(0.8 * len(rows)))
    return x[:train].unsqueeze(-1), y[:train], classes

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data_dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--csv", default="", help="a tabular CSV instead of Fashion-MNIST")
    ap.add_argument("--target", default="", help="--csv: the column to predict (default the last)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch_size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10, help="timed training steps")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps before")
    ap.add_argument("--d_model", type=int, default=128)
    ap.add_argument("--n_layers", type=int, default=4)
    ap.add_argument("--epoch_sequences", type=int, default=0,
                    help="sequences of one training epoch, for the extrapolation (0: 54,000, or "
                    "the CSV's training split)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--profile", action="store_true",
                    help="also print PyTorch's profiler table of the timed steps (top operators)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)

    n = (args.warmup + args.steps) * args.batch_size
    if args.csv:
        x, y, classes = read_tabular(args.csv, args.target)
        epoch_sequences = args.epoch_sequences or len(x)
        copies = -(-n // len(x))
        x = x.repeat(copies, 1, 1)[:n].to(device)  # (N, F, 1): one step per feature
        y = y.repeat(copies, *([1] * (y.dim() - 1)))[:n].to(device)
    else:
        images = read_idx(find(args.data_dir, "train-images-idx3-ubyte"))[:n]
        labels = read_idx(find(args.data_dir, "train-labels-idx1-ubyte"))[:n]
        x = (images.float() / 255.0 - 0.2860) / 0.3530
        x = x.reshape(len(x), 784, 1).to(device)  # (N, L, 1): one step per pixel
        y = labels.long().to(device)
        classes, epoch_sequences = 10, args.epoch_sequences or 54000

    lr, weight_decay = 0.01, 0.01
    model = S4Model(d_input=1, d_output=classes or 1, d_model=args.d_model,
                    n_layers=args.n_layers, dropout=0.1, prenorm=False, lr=lr).to(device)
    optimizer, _ = setup_optimizer(model, lr, weight_decay, epochs=100)
    criterion = nn.CrossEntropyLoss() if classes else nn.MSELoss()
    model.train()
    times = []
    profiler = None
    for step in range(args.warmup + args.steps):
        if args.profile and step == args.warmup:
            activities = [torch.profiler.ProfilerActivity.CPU]
            if device.type == "cuda":
                activities.append(torch.profiler.ProfilerActivity.CUDA)
            profiler = torch.profiler.profile(activities=activities)
            profiler.__enter__()
        xb = x[step * args.batch_size:(step + 1) * args.batch_size]
        yb = y[step * args.batch_size:(step + 1) * args.batch_size]
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        loss.item()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
    if profiler is not None:
        profiler.__exit__(None, None, None)
        sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
        print(profiler.key_averages().table(sort_by=sort, row_limit=25))
    step_s = sorted(times)[len(times) // 2]
    steps_per_epoch = math.ceil(epoch_sequences / args.batch_size)
    params = sum(p.numel() for p in model.parameters())
    result = {"impl": "pytorch", "device": args.device, "threads": args.threads,
              "batch_size": args.batch_size, "steps": args.steps, "median_step_s": step_s,
              "epoch_s_extrapolated": step_s * steps_per_epoch, "steps_per_epoch": steps_per_epoch,
              "params": params, "torch": torch.__version__}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"PyTorch eager S4Model: {step_s * 1000:.1f} ms/step, "
              f"{step_s * steps_per_epoch:.1f} s/epoch (extrapolated from {args.steps} steps), {params} params")


if __name__ == "__main__":
    main()
