"""Side-by-side CPU comparison of electra and PyTorch on the same ELECTRA pretraining step.

Runs, interleaved (electra fp32, electra bf16, pytorch, electra fp32, ...), `trials` runs of
`steps` steps of each implementation for every (config, batch) and reports, over the steps
after the first `warmup` of each run: median step time, the ratio pytorch / electra, tokens/s,
model GFLOP/s (the official FLOPs counter, `electra flops`), its share of the FP32 peak that
electra measures with an FMA loop at start-up, and the peak RSS of each process. electra runs
once per matmul precision of --precisions (fp32: its default; bf16: --precision bf16, bf16
operands with fp32 accumulation); PyTorch runs in fp32.
Called by benchmarks/compare_cpu.sh, which sets the thread environment.
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, env=None):
    """Runs cmd; returns (stdout, stderr, peak RSS in MiB of this child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the maximum over all children so far: a run that peaks lower
    # than an earlier one reports the earlier peak, so each run gets its own python wrapper.
    return p.stdout, p.stderr, max(before, after) / 1024.0


def measured(cmd, env=None):
    """Runs cmd in a fresh python wrapper so that its peak RSS is its own."""
    wrapper = ("import resource,subprocess,sys,json;p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
               "print(json.dumps({'rc':p.returncode,'out':p.stdout,'err':p.stderr,"
               "'rss':resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024.0}))")
    out, _, _ = run([sys.executable, "-c", wrapper] + cmd, env)
    r = json.loads(out)
    if r["rc"] != 0:
        sys.exit(f"failed ({r['rc']}): {' '.join(cmd)}\n{r['out']}{r['err']}")
    return r["out"], r["err"], r["rss"]


def torch_version(env):
    out, _, _ = run([sys.executable, "-c", "import torch; print(torch.__version__)"], env)
    return out.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--electra", default="build/examples/electra")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5, help="measured steps per run, after the warm-up")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--cases", default="small:8,small:32,tiny:32")
    ap.add_argument("--precisions", default="fp32,bf16", help="electra's --precision values to run")
    a = ap.parse_args()
    seq = 128
    work = tempfile.mkdtemp(prefix="electra-compare-")
    corpus = os.path.join(os.path.dirname(os.path.dirname(HERE)), "data", "corpus", "wikitext-2")
    run([a.electra, "prepare", "--input", os.path.join(corpus, "wiki.valid.raw"), os.path.join(corpus, "wiki.test.raw"),
         "--out", os.path.join(work, "data"), "--max-seq-len", str(seq)])
    total = a.warmup + a.steps
    # PyTorch's thread pool and OpenBLAS's must not fight (Debian's torch does its GEMMs in
    # OpenBLAS), and passive waiting keeps idle OpenMP threads off the cores. Only for torch:
    # electra manages its threads itself (--threads).
    torch_env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OPENBLAS_NUM_THREADS=str(a.threads),
                     OMP_NUM_THREADS=str(a.threads))
    if os.environ.get("TORCH_OPENBLAS_CORETYPE"):
        torch_env["OPENBLAS_CORETYPE"] = os.environ["TORCH_OPENBLAS_CORETYPE"]
    rows = []
    peak = None
    matmuls = {}
    for case in a.cases.split(","):
        config, batch = case.split(":")
        flops_out, _, _ = run([a.electra, "flops", "--config", config, "--batch", batch, "--steps", "1",
                               "--seq-len", str(seq)])
        step_flops = float(re.search(r"pretraining, .*?: ([0-9.e+]+) FLOPs", flops_out).group(1))
        precisions = a.precisions.split(",")
        times = {k: [] for k in precisions + ["pytorch"]}
        rss = {k: 0.0 for k in times}
        for trial in range(a.trials):
            for precision in precisions:
                out_dir = os.path.join(work, f"run-{config}-{batch}-{precision}-{trial}")
                _, err, r = measured([a.electra, "pretrain", "--model", config, "--data", os.path.join(work, "data"),
                                      "--out", out_dir, "--steps", str(total), "--batch", batch, "--log-every", "1",
                                      "--save-every", "1000000", "--eval-every", "1000000", "--eval-examples", "8",
                                      "--threads", str(a.threads), "--precision", precision])
                peak = float(re.search(r"FP32 peak ([0-9.]+) GFLOP/s", err).group(1))
                matmuls[precision] = re.search(r"matmuls (.*?); FP32 peak", err).group(1)
                with open(os.path.join(out_dir, "metrics.jsonl")) as f:
                    recs = [json.loads(line) for line in f if '"train"' in line]
                times[precision] += [rec["step_seconds"] for rec in recs if rec["step"] >= a.warmup]
                rss[precision] = max(rss[precision], r)
            out, _, r = measured([sys.executable, os.path.join(HERE, "electra_step.py"), "--config", config,
                                  "--batch", batch, "--seq-len", str(seq), "--steps", str(total),
                                  "--threads", str(a.threads)], torch_env)
            times["pytorch"] += json.loads(out)["step_seconds"][a.warmup:]
            rss["pytorch"] = max(rss["pytorch"], r)
        med = {k: statistics.median(v) for k, v in times.items()}
        rows.append((config, int(batch), med, rss, step_flops, {k: len(v) for k, v in times.items()}))
    print(f"PyTorch {torch_version(torch_env)} with OPENBLAS_CORETYPE={torch_env.get('OPENBLAS_CORETYPE', '(detected)')}; "
          f"electra with its default GEMM engine; electra matmuls: " + ", ".join(matmuls.values()))
    print(f"threads {a.threads}; FP32 peak {peak:.0f} GFLOP/s (FMA loop); medians over "
          f"{a.trials} interleaved runs x {a.steps} steps after {a.warmup} warm-up steps; sequence length {seq}")
    print(f"{'config':>6} {'batch':>5} {'matmuls':>7} | {'electra s':>9} {'torch s':>9} {'torch/electra':>13} | "
          f"{'electra tok/s':>13} {'torch tok/s':>11} | {'electra GFLOP/s (peak)':>22} {'torch GFLOP/s (peak)':>20} | "
          f"{'electra RSS':>11} {'torch RSS':>9}")
    for config, batch, med, rss, fl, n in rows:
        tok = batch * seq
        for precision in a.precisions.split(","):
            ge, gt = fl / med[precision] / 1e9, fl / med["pytorch"] / 1e9
            print(f"{config:>6} {batch:>5} {precision:>7} | {med[precision]:>9.3f} {med['pytorch']:>9.3f} "
                  f"{med['pytorch'] / med[precision]:>13.2f} | {tok / med[precision]:>13.0f} "
                  f"{tok / med['pytorch']:>11.0f} | {ge:>12.1f} ({100 * ge / peak:>5.1f} %) "
                  f"{gt:>10.1f} ({100 * gt / peak:>5.1f} %) | {rss[precision]:>7.0f} MiB {rss['pytorch']:>5.0f} MiB")


if __name__ == "__main__":
    main()
