"""Linear probe of a frozen ELECTRA encoder on SST-2: how much sentiment its features hold.

For each discriminator weights file (HuggingFace layout, as `electra pretrain` and `electra init`
write them), runs the encoder with dropout off over the first N training sentences and the first
M dev sentences of SST-2, and fits a logistic regression (L-BFGS, L2 1e-3, standardised
features) on two frozen sentence vectors: the final [CLS] state h[:, 0] and the mean of h over
the sentence's tokens. It prints the dev accuracy of each probe, the mean cosine similarity of
the [CLS] vectors of 500 training sentences (1.0: the same vector for every sentence), and the
share of the last layer's first attention head that [CLS] gives to itself and to [SEP].

Tokenisation is `electra tokenize --ids` (the same WordPiece as fine-tuning); sentences are cut
to 62 pieces. Needs Debian's python3-torch (`/usr/bin/python3`); a diagnostic, not a test.

    /usr/bin/python3 scripts/probe_features.py --heads 2 runs/mini-prose/discriminator/model.safetensors \\
        /tmp/rand-mini/discriminator.safetensors
"""
import argparse
import json
import os
import struct
import subprocess

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def load_safetensors(path):
    """{name: float32 tensor} of a safetensors file of F32 tensors."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} is {info['dtype']}, this probe reads F32 only")
        a, b = info["data_offsets"]
        array = np.frombuffer(data[8 + n + a:8 + n + b], dtype=np.float32).reshape(info["shape"])
        out[name] = torch.from_numpy(array.copy())
    return out


def layer_norm(x, w, b):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, 1e-12)


def encode(W, ids, mask, heads):
    """ElectraModel's forward in HF names, dropout off: final hidden states [B,T,H] and the
    last layer's attention probabilities [B,heads,T,T]."""
    p = "electra."
    B, T = ids.shape
    x = (W[p + "embeddings.word_embeddings.weight"][ids] + W[p + "embeddings.position_embeddings.weight"][:T] +
         W[p + "embeddings.token_type_embeddings.weight"][0])
    x = layer_norm(x, W[p + "embeddings.LayerNorm.weight"], W[p + "embeddings.LayerNorm.bias"])
    if p + "embeddings_project.weight" in W:
        x = x @ W[p + "embeddings_project.weight"].T + W[p + "embeddings_project.bias"]
    H = x.shape[-1]
    d = H // heads
    bias = (1 - mask[:, None, None, :].float()) * -10000.0
    layer, att = 0, None
    while p + f"encoder.layer.{layer}.attention.self.query.weight" in W:
        def w(name):
            return W[p + f"encoder.layer.{layer}." + name]

        def linear(t, name):
            return t @ w(name + ".weight").T + w(name + ".bias")

        def split(t):
            return t.view(B, T, heads, d).transpose(1, 2)

        q, k, v = (split(linear(x, "attention.self." + n)) for n in ("query", "key", "value"))
        att = (q @ k.transpose(-1, -2) / d ** 0.5 + bias).softmax(-1)
        ctx = (att @ v).transpose(1, 2).reshape(B, T, H)
        x = layer_norm(linear(ctx, "attention.output.dense") + x, w("attention.output.LayerNorm.weight"),
                       w("attention.output.LayerNorm.bias"))
        f = torch.nn.functional.gelu(linear(x, "intermediate.dense"))
        x = layer_norm(linear(f, "output.dense") + x, w("output.LayerNorm.weight"), w("output.LayerNorm.bias"))
        layer += 1
    return x, att


def read_sst2(path, n):
    with open(path, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:n + 1]
    return [r[0] for r in rows], [int(r[1]) for r in rows]


def tokenize(electra, vocab, sentences):
    out = subprocess.run([electra, "tokenize", "--vocab", vocab, "--ids"], input="\n".join(sentences) + "\n",
                         capture_output=True, text=True, check=True).stdout.rstrip("\n").split("\n")
    if len(out) != len(sentences):
        raise SystemExit(f"electra tokenize returned {len(out)} lines for {len(sentences)} sentences")
    seqs = [[101] + [int(t) for t in line.split()][:62] + [102] for line in out]  # [CLS] ... [SEP]
    T = max(map(len, seqs))
    ids = torch.zeros(len(seqs), T, dtype=torch.long)
    mask = torch.zeros(len(seqs), T, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    return ids, mask


def features(W, ids, mask, heads):
    with torch.no_grad():
        h, att = encode(W, ids, mask, heads)
    cls = h[:, 0]
    mean = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    lengths = mask.sum(1)
    first_head = att[:, 0, 0]  # [B,T]: where [CLS] looks in the last layer
    to_self = first_head[:, 0].mean().item()
    to_sep = first_head[torch.arange(len(first_head)), lengths - 1].mean().item()
    return cls, mean, to_self, to_sep


def probe_accuracy(x_train, y_train, x_dev, y_dev):
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    x_train, x_dev = (x_train - mu) / sd, (x_dev - mu) / sd
    w = torch.zeros(x_train.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    target = torch.tensor(y_train, dtype=torch.float)
    opt = torch.optim.LBFGS([w, b], max_iter=200)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x_train @ w + b, target) + 1e-3 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return ((x_dev @ w + b > 0).long() == torch.tensor(y_dev)).float().mean().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("weights", nargs="+", help="discriminator model.safetensors files")
    ap.add_argument("--heads", type=int, default=1, help="attention heads (tiny 1, mini 2, small 4)")
    ap.add_argument("--glue", default=os.path.join(HERE, "..", "..", "shared", "data", "glue"))
    ap.add_argument("--electra", default=os.path.join(HERE, "..", "build", "examples", "electra"))
    ap.add_argument("--vocab", default=os.path.join(HERE, "..", "data", "vocab", "bert-uncased-vocab.txt"))
    ap.add_argument("--train", type=int, default=4000)
    ap.add_argument("--dev", type=int, default=1000)
    a = ap.parse_args()
    torch.manual_seed(0)
    s_train, y_train = read_sst2(os.path.join(a.glue, "SST-2", "train.tsv"), a.train)
    s_dev, y_dev = read_sst2(os.path.join(a.glue, "SST-2", "dev.tsv"), a.dev)
    ids_train, mask_train = tokenize(a.electra, a.vocab, s_train)
    ids_dev, mask_dev = tokenize(a.electra, a.vocab, s_dev)
    for path in a.weights:
        W = load_safetensors(path)
        cls_train, mean_train, to_self, to_sep = features(W, ids_train, mask_train, a.heads)
        cls_dev, mean_dev, _, _ = features(W, ids_dev, mask_dev, a.heads)
        c = torch.nn.functional.normalize(cls_train[:500], dim=1)
        print(f"{path}: SST-2 dev accuracy of a linear probe on [CLS] {probe_accuracy(cls_train, y_train, cls_dev, y_dev):.3f},"
              f" on the token mean {probe_accuracy(mean_train, y_train, mean_dev, y_dev):.3f};"
              f" mean cosine of [CLS] vectors {(c @ c.T).mean().item():.3f};"
              f" [CLS] attention to itself {to_self:.2f}, to [SEP] {to_sep:.2f}", flush=True)


if __name__ == "__main__":
    main()
