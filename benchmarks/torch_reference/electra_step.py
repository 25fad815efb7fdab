"""One ELECTRA pretraining step in PyTorch, the yardstick for electra's CPU speed.

The same model, step and optimizer as electra's (and the official run_pretraining.py):
shared embeddings, BERT encoder layers (GELU erf, LayerNorm eps 1e-12, -10000 attention mask,
dropout 0.1), the generator's output layer only at the masked positions, official masking
(15 % of real tokens, at most int((0.15 + 0.005) * T) per sequence, 85 % of them -> [MASK]),
Gumbel-max sampling, MLM + 50 * RTD loss, global-norm clipping to 1.0 and AdamW without bias
correction (lr 5e-4, weight decay 0.01 except LayerNorm and biases).

Made as fast as PyTorch honestly allows on a CPU: float32, no autograd anomaly checks, fused
foreach optimizer arithmetic, torch.set_num_threads(threads); run it with OMP_WAIT_POLICY=PASSIVE
and OPENBLAS_NUM_THREADS equal to the thread count (benchmarks/compare_cpu.sh does).
On a GPU (--device cuda) it is PyTorch eager as users run it: --precision bf16 runs the forward
under torch.autocast(bfloat16) (matmuls in bf16, softmax/LayerNorm/losses in float32, fp32
master weights), tf32 allows TF32 matmuls, fp32 is plain float32; the step time includes the
host-side masking, and every step ends with torch.cuda.synchronize().

Prints one JSON object: the configuration, every step's seconds, and peak RSS in MiB (and peak
GPU memory on cuda).
Usage: python3 electra_step.py --config small --batch 32 --seq-len 128 --steps 7 --threads 2
       python3 electra_step.py --device cuda --precision bf16 --batch 128 --steps 23
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {  # discriminator sizes; the generator has the same embeddings and 1/4 of the hidden size
    "tiny": dict(layers=2, hidden=64, embed=32, heads=1, ffn=256, gen_hidden=16, gen_heads=1, gen_ffn=64),
    "small": dict(layers=12, hidden=256, embed=128, heads=4, ffn=1024, gen_hidden=64, gen_heads=1, gen_ffn=256),
}
VOCAB, MAX_POS, MASK_ID, CLS_ID, SEP_ID = 30522, 512, 103, 101, 102


class Layer(nn.Module):
    def __init__(self, h, heads, ffn):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(h, 3 * h)
        self.out = nn.Linear(h, h)
        self.norm1 = nn.LayerNorm(h, eps=1e-12)
        self.inter = nn.Linear(h, ffn)
        self.output = nn.Linear(ffn, h)
        self.norm2 = nn.LayerNorm(h, eps=1e-12)

    def forward(self, x, bias):  # x [B,T,H], bias [B,1,1,T]
        B, T, H = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, H // self.heads).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(H // self.heads) + bias
        probs = F.dropout(torch.softmax(scores, -1), 0.1, self.training)
        ctx = (probs @ v).transpose(1, 2).reshape(B, T, H)
        x = self.norm1(x + F.dropout(self.out(ctx), 0.1, self.training))
        return self.norm2(x + F.dropout(self.output(F.gelu(self.inter(x))), 0.1, self.training))


class Encoder(nn.Module):
    def __init__(self, e, h, layers, heads, ffn):
        super().__init__()
        self.project = nn.Linear(e, h) if e != h else None
        self.layers = nn.ModuleList(Layer(h, heads, ffn) for _ in range(layers))

    def forward(self, x, bias):
        if self.project is not None:
            x = self.project(x)
        for layer in self.layers:
            x = layer(x, bias)
        return x


class Electra(nn.Module):
    def __init__(self, c):
        super().__init__()
        e = c["embed"]
        self.word = nn.Embedding(VOCAB, e, padding_idx=0)
        self.position = nn.Embedding(MAX_POS, e)
        self.token_type = nn.Embedding(2, e)
        self.emb_norm = nn.LayerNorm(e, eps=1e-12)
        self.generator = Encoder(e, c["gen_hidden"], c["layers"], c["gen_heads"], c["gen_ffn"])
        self.gen_dense = nn.Linear(c["gen_hidden"], e)
        self.gen_norm = nn.LayerNorm(e, eps=1e-12)
        self.gen_bias = nn.Parameter(torch.zeros(VOCAB))
        self.discriminator = Encoder(e, c["hidden"], c["layers"], c["heads"], c["ffn"])
        self.disc_dense = nn.Linear(c["hidden"], c["hidden"])
        self.disc_out = nn.Linear(c["hidden"], 1)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.trunc_normal_(m.weight, std=0.02, a=-0.04, b=0.04)

    def embed(self, ids):
        T = ids.shape[1]
        x = self.word(ids) + self.position.weight[:T] + self.token_type.weight[0]
        return F.dropout(self.emb_norm(x), 0.1, self.training)

    def step_loss(self, ids, mask, positions, weights):
        """ids, mask [B,T]; positions, weights [B,N] -> MLM + 50 * RTD."""
        B, T = ids.shape
        bias = ((1.0 - mask.float()) * -10000.0).view(B, 1, 1, T)
        targets = torch.gather(ids, 1, positions)
        masked = ids.clone()
        replace = weights.bool() & (torch.rand(weights.shape, device=weights.device) < 0.85)
        masked.scatter_(1, positions, torch.where(replace, torch.full_like(targets, MASK_ID), targets))
        h = self.generator(self.embed(masked), bias)
        picked = torch.gather(h, 1, positions.unsqueeze(-1).expand(-1, -1, h.shape[-1]))  # masked slots only
        g = self.gen_norm(F.gelu(self.gen_dense(picked)))
        logits = g @ self.word.weight.t() + self.gen_bias  # [B,N,V]
        nll = F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1), reduction="none")
        w = weights.view(-1).float()
        mlm = (nll * w).sum() / (w.sum() + 1e-6)
        with torch.no_grad():
            u = torch.rand(logits.shape, device=logits.device).clamp_(1e-9, 1.0)  # float32 noise, also under autocast
            sampled = torch.argmax(logits.float() - torch.log(-torch.log(u)), -1)
            fake = ids.clone()
            fake.scatter_(1, positions, torch.where(weights.bool(), sampled, targets))
            labels = (fake != ids).float()
        d = self.disc_out(F.gelu(self.disc_dense(self.discriminator(self.embed(fake), bias)))).squeeze(-1)
        m = mask.float()
        rtd = (F.binary_cross_entropy_with_logits(d, labels, reduction="none") * m).sum() / (m.sum() + 1e-6)
        return mlm + 50.0 * rtd


def official_masking(mask, n_slots):
    """15 % of the real non-special tokens (positions 1..len-2 here), at most n_slots per row."""
    B, T = mask.shape
    positions = torch.zeros(B, n_slots, dtype=torch.long)
    weights = torch.zeros(B, n_slots)
    for b in range(B):
        length = int(mask[b].sum())
        candidates = torch.arange(1, length - 1)
        k = min(n_slots, max(1, round(0.15 * len(candidates))))
        pick = candidates[torch.randperm(len(candidates))[:k]]
        positions[b, :k] = pick
        weights[b, :k] = 1.0
    return positions, weights


class AdamWNoBiasCorrection:
    def __init__(self, named, lr=5e-4, wd=0.01, b1=0.9, b2=0.999, eps=1e-6):
        self.decay = [p for n, p in named if not any(k in n for k in ("norm", "bias"))]
        self.plain = [p for n, p in named if any(k in n for k in ("norm", "bias"))]
        self.params = self.decay + self.plain
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.lr, self.wd, self.b1, self.b2, self.eps = lr, wd, b1, b2, eps

    @torch.no_grad()
    def step(self):
        grads = [p.grad for p in self.params]
        torch._foreach_mul_(self.m, self.b1)
        torch._foreach_add_(self.m, grads, alpha=1 - self.b1)
        torch._foreach_mul_(self.v, self.b2)
        torch._foreach_addcmul_(self.v, grads, grads, value=1 - self.b2)
        update = torch._foreach_div(self.m, torch._foreach_add(torch._foreach_sqrt(self.v), self.eps))
        nd = len(self.decay)
        torch._foreach_add_(update[:nd], self.decay, alpha=self.wd)
        torch._foreach_add_(self.params, update, alpha=-self.lr)
        for p in self.params:
            p.grad = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="small", choices=sorted(CONFIGS))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--steps", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = a.precision == "tf32"
        torch.backends.cudnn.allow_tf32 = a.precision == "tf32"
    elif a.precision != "fp32":
        raise SystemExit("--precision tf32/bf16 is for --device cuda (the CPU yardstick is float32)")
    model = Electra(CONFIGS[a.config]).to(dev).train()
    opt = AdamWNoBiasCorrection(list(model.named_parameters()))
    n_slots = int((0.15 + 0.005) * a.seq_len)
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        ids = torch.randint(1000, VOCAB, (a.batch, a.seq_len))
        ids[:, 0], ids[:, -1] = CLS_ID, SEP_ID
        mask = torch.ones(a.batch, a.seq_len, dtype=torch.long)
        positions, weights = official_masking(mask, n_slots)
        ids, mask, positions, weights = (t.to(dev) for t in (ids, mask, positions, weights))
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            loss = model.step_loss(ids, mask, positions, weights)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    out = {"impl": "pytorch", "torch": torch.__version__, "config": a.config, "batch": a.batch,
           "seq_len": a.seq_len, "threads": a.threads, "device": a.device, "precision": a.precision,
           "step_seconds": times, "loss": float(loss), "peak_rss_mib": rss}
    if cuda:
        out["gpu"] = torch.cuda.get_device_name(0)
        out["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    print(json.dumps(out))


if __name__ == "__main__":
    main()
