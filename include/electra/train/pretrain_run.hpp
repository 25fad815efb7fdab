// A whole pretraining run in a directory RUN, the engine behind `electra pretrain`:
//   RUN/checkpoint.safetensors   every --save-every steps, at the end, and on SIGINT/SIGTERM
//                                (atomic: a run killed at any moment keeps the last one)
//   RUN/metrics.jsonl            one JSON object per logged step (train) and evaluation (eval)
//   RUN/curves.svg               the training curves, rewritten at every checkpoint
//   RUN/discriminator/, RUN/generator/   HuggingFace-loadable exports, at every checkpoint
//                                (the MLM-only objective trains and exports RUN/generator alone)
// Resuming restores model, optimizer, step, RNG and the data cursor, so a killed and resumed
// run ends with bitwise the same weights as an uninterrupted one (same seed and threads).
// Data-parallel runs (several ranks, dist/communicator.hpp): every rank trains; rank 0 alone
// prints, logs, evaluates and writes checkpoints and exports. A stop signal on any rank stops
// all of them at the same step (one all-reduce of a flag per step).
#pragma once
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

#include "../backend/cpu/peak.hpp"
#include "../io/checkpoint.hpp"
#include "../io/hf_export.hpp"
#include "duration.hpp"
#include "flops.hpp"
#include "pretrainer.hpp"
#include "run_log.hpp"

namespace electra::train {

// Where batches come from. The cursor is an opaque string saved in checkpoints.
struct DataSource {
  // This process's micro-batches for one step (PretrainerOptions::accumulate of them).
  std::function<std::vector<model::Batch>(int batch_size)> next;
  std::function<std::string()> cursor;
  std::function<void(const std::string&)> seek;
  std::function<std::vector<model::Batch>(int batch_size)> eval_batches;  // held-out; may be empty
  std::uint64_t tokens_per_example = 0;                                   // max length, for tokens/s
  // How many slots the examples of a step are dealt to (ranks × accumulate); a checkpoint's
  // cursor only means the same thing for the same count.
  int slots = 1;
  // Where to continue after changing the number of slots: the start of the next epoch.
  std::function<void(const std::string& cursor)> reshard;
};

struct RunOptions {
  std::filesystem::path dir;
  std::filesystem::path vocab_file;  // copied into the exports
  std::string config_name;
  int batch_size = 128;
  std::int64_t save_every = 1000, eval_every = 1000, log_every = 10;
  bool resume = false;
  bool reshard = false;           // resume with a different number of data slots (next epoch)
  std::int64_t crash_after = -1;  // testing: SIGKILL this process after that many steps
  int crash_rank = -1;            // ... only on this rank (-1: every rank)
};

namespace detail {
inline std::atomic<int>& stop_signal() {
  static std::atomic<int> s{0};
  return s;
}
extern "C" inline void on_stop_signal(int sig) { stop_signal().store(sig); }

inline json::Value metrics_record(std::int64_t step, const char* split, const PretrainMetrics& m) {
  return json::Object{{"step", step},
                      {"split", split},
                      {"loss", m.total_loss},
                      {"mlm_loss", m.mlm_loss},
                      {"rtd_loss", m.disc_loss},
                      {"mlm_accuracy", m.mlm_accuracy},
                      {"sampled_accuracy", m.sampled_accuracy},
                      {"disc_accuracy", m.disc_accuracy},
                      {"disc_precision", m.disc_precision},
                      {"disc_recall", m.disc_recall},
                      {"disc_auc", m.disc_auc},
                      {"replaced_fraction", m.replaced_fraction}};
}

}  // namespace detail

// Training FLOPs of one step, counted as the paper does (flops_computation.py).
inline double electra_step_flops(const model::ElectraDims& d, int batch, index_t seq_len, bool electra_objective) {
  if (!electra_objective)
    return flops::TransformerHparams(d.discriminator.hidden, d.discriminator.layers,
                                     {.s = seq_len,
                                      .v = d.discriminator.vocab,
                                      .e = d.discriminator.embed,
                                      .i = d.discriminator.ffn,
                                      .heads = d.discriminator.heads})
        .get_train_flops(double(batch), 1.0);
  return flops::get_electra_train_flops(d.discriminator.hidden, d.discriminator.layers, d.generator.hidden,
                                        d.generator.layers, double(batch), 1.0, true, d.discriminator.embed, seq_len);
}

template <class T>
class PretrainRun {
 public:
  PretrainRun(model::ElectraModel<T>& m, const PretrainerOptions& po, const RunOptions& ro, DataSource data,
              dist::Communicator& comm = dist::single_process())
      : trainer_(m, po, comm), options_(ro), data_(std::move(data)), log_(ro.dir / "metrics.jsonl") {
    if (comm.is_root()) std::filesystem::create_directories(ro.dir);
    ELECTRA_CHECK(ro.batch_size >= 1 && ro.save_every >= 1 && ro.eval_every >= 1 && ro.log_every >= 1, value_error,
                  "pretrain: batch size and the save/eval/log intervals must be >= 1");
  }

  const std::filesystem::path checkpoint_path() const { return options_.dir / "checkpoint.safetensors"; }

  // Runs to the configured total. Returns false when stopped by a signal (checkpoint saved).
  // `progress` (rank 0 only; null = silent) gets the progress lines; metrics.jsonl is written
  // either way.
  bool run(std::FILE* progress = stderr) {
    dist::Communicator& comm = trainer_.communicator();
    if (!comm.is_root()) progress = nullptr;
    if (options_.resume) resume();
    std::signal(SIGINT, detail::on_stop_signal);
    std::signal(SIGTERM, detail::on_stop_signal);
    const auto& po = trainer_.options();
    // Every rank's micro-batches make one step's batch.
    const int global_batch = options_.batch_size * po.accumulate * comm.size();
    const StepEngine<T>* engine = trainer_.engine();
    const double peak = engine ? engine->peak_flops() : cpu::measure_fma_peak_gflops() * 1e9 * comm.size();
    const double step_flops = electra_step_flops(trainer_.model().dims, global_batch, index_t(data_.tokens_per_example),
                                                 po.objective.electra_objective);
    const bool tty = progress && isatty(fileno(progress));
    if (progress) {
      const std::string batch =
          po.accumulate == 1 && comm.size() == 1
              ? std::to_string(global_batch)
              : electra::detail::concat(global_batch, " = ", options_.batch_size, " per micro-batch × ", po.accumulate,
                                        " per rank × ", comm.size(), " rank(s)");
      const std::string where =
          engine ? engine->describe()
                 : electra::detail::concat(threading_report(), ", matmuls ", cpu::matmul_precision_report());
      std::fprintf(progress,
                   "pretraining %s for %lld steps (batch %s, lr %g, warmup %lld), %s, %s; %s %.0f GFLOP/s%s\n"
                   "model FLOPs (flops_computation.py): %.4g per step, %.4g in all\n",
                   options_.config_name.c_str(), static_cast<long long>(po.total_steps), batch.c_str(),
                   po.learning_rate, static_cast<long long>(po.warmup_steps), comm.describe().c_str(), where.c_str(),
                   engine ? "dense peak" : "FP32 peak", peak * 1e-9, peak > 0 ? "" : " (unknown: MFU shows 0)",
                   step_flops, step_flops * double(po.total_steps));
    }
    const auto start = std::chrono::steady_clock::now();
    const std::int64_t first = trainer_.steps_done();
    double window_secs = 0;
    std::int64_t window_steps = 0;
    while (trainer_.steps_done() < po.total_steps) {
      const auto t0 = std::chrono::steady_clock::now();
      const StepReport r = trainer_.step(data_.next(options_.batch_size));
      window_secs += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ++window_steps;
      const std::int64_t done = trainer_.steps_done();
      if (comm.is_root() && (done % options_.log_every == 0 || done == po.total_steps)) {
        const double step_time = window_secs / double(window_steps);
        const double tokens_per_s = double(global_batch) * double(data_.tokens_per_example) / step_time;
        const double mfu = peak > 0 ? step_flops / step_time / peak : 0.0;
        json::Value rec = detail::metrics_record(r.step, "train", r.metrics);
        rec.set("lr", r.learning_rate);
        rec.set("grad_norm", r.grad_norm);
        rec.set("step_seconds", step_time);
        rec.set("tokens_per_s", tokens_per_s);
        rec.set("mfu", mfu);
        log_.append(rec);
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double eta = elapsed / double(done - first) * double(po.total_steps - done);
        if (progress)
          std::fprintf(progress,
                       "%sstep %lld/%lld  ETA %s  loss %.4f  mlm acc %.3f  disc acc %.3f auc %.3f  %.0f tok/s  "
                       "MFU %.1f%%%s",
                       tty ? "\r" : "", static_cast<long long>(done), static_cast<long long>(po.total_steps),
                       duration_text(eta).c_str(), r.metrics.total_loss, r.metrics.mlm_accuracy,
                       r.metrics.disc_accuracy, r.metrics.disc_auc, tokens_per_s, 100 * mfu, tty ? "  " : "\n");
        if (progress) std::fflush(progress);
        window_secs = 0;
        window_steps = 0;
      }
      if (comm.is_root() && (done % options_.eval_every == 0 || done == po.total_steps)) evaluate(done);
      if (comm.is_root() && (done % options_.save_every == 0 || done == po.total_steps)) save();
      if (options_.crash_after >= 0 && done >= options_.crash_after &&
          (options_.crash_rank < 0 || options_.crash_rank == comm.rank()))
        std::raise(SIGKILL);
      // Stop together: a signal seen by any rank stops every rank after this step.
      double stop = double(detail::stop_signal().load());
      comm.allreduce_sum(&stop, 1);
      if (stop != 0) {
        if (comm.is_root()) save();
        if (progress)
          std::fprintf(progress, "%sstopped by a signal at step %lld; checkpoint saved, resume with --resume\n",
                       tty ? "\n" : "", static_cast<long long>(done));
        return false;
      }
    }
    if (tty) std::fprintf(progress, "\n");
    return true;
  }

  Pretrainer<T>& trainer() { return trainer_; }

 private:
  void resume() {
    ELECTRA_CHECK(std::filesystem::exists(checkpoint_path()), io_error, "--resume: no checkpoint at '",
                  checkpoint_path().string(), "'");
    const auto extra = io::load_checkpoint(checkpoint_path(), trainer_);
    trainer_.sync_to_device();
    const auto cursor = extra.find("data_cursor");
    ELECTRA_CHECK(cursor != extra.end(), io_error, checkpoint_path().string(), ": checkpoint has no data cursor");
    const auto precision = extra.find("matmul_precision");
    const std::string saved_precision = precision == extra.end() ? "fp32" : precision->second;
    const std::string precision_now = precision_name();
    if (saved_precision != precision_now && trainer_.communicator().is_root())
      std::fprintf(stderr,
                   "note: %s was written by a run with %s matmuls; continuing with %s (the result is no longer "
                   "bitwise equal to an uninterrupted run's)\n",
                   checkpoint_path().c_str(), saved_precision.c_str(), precision_now.c_str());
    const auto slots = extra.find("data_slots");
    const int saved_slots = slots == extra.end() ? 1 : std::stoi(slots->second);
    if (saved_slots == data_.slots) {
      data_.seek(cursor->second);
    } else {
      ELECTRA_CHECK(options_.reshard && data_.reshard, value_error, checkpoint_path().string(),
                    ": the checkpoint was written by a run that dealt each step's examples to ", saved_slots,
                    " slots (ranks × --accumulate); this run has ", data_.slots,
                    ". Resume with the same ranks and --accumulate, or pass --reshard to continue from the start "
                    "of the next epoch with the new layout");
      data_.reshard(cursor->second);
    }
    if (trainer_.communicator().is_root()) log_.truncate_to(trainer_.steps_done());
  }

  // "fp32" / "bf16" on the CPU, the engine's name (e.g. "cuda-tf32") on a device.
  std::string precision_name() const {
    return trainer_.engine() ? trainer_.engine()->precision_name()
                             : cpu::matmul_precision_name(cpu::matmul_precision());
  }

  void save() {
    trainer_.sync_to_host();
    const bool electra_objective = trainer_.options().objective.electra_objective;
    io::save_checkpoint(checkpoint_path(), trainer_,
                        {{"data_cursor", data_.cursor()},
                         {"data_slots", std::to_string(data_.slots)},
                         {"config", options_.config_name},
                         {"objective", electra_objective ? "electra" : "mlm"},
                         {"matmul_precision", precision_name()}});
    io::export_huggingface(options_.dir, trainer_.model(), options_.vocab_file,
                           {{"electra_config", options_.config_name},
                            {"objective", electra_objective ? "electra" : "mlm"},
                            {"step", std::to_string(trainer_.steps_done())}},
                           electra_objective ? io::ExportedParts::both : io::ExportedParts::generator_only);
    io::write_file_atomically(options_.dir / "curves.svg",
                              plot_run(log_.read(), "electra pretraining: " + options_.dir.filename().string()));
  }

  // Held-out batches with dropout off and an RNG of their own, so evaluation never changes the
  // training trajectory.
  void evaluate(std::int64_t step) {
    if (!data_.eval_batches) return;
    const auto batches = data_.eval_batches(options_.batch_size);
    if (batches.empty()) return;
    PretrainMetrics sum;
    Rng rng(mix64(trainer_.options().seed ^ 0xE7A1u));
    for (const auto& b : batches) {
      const PretrainMetrics m = trainer_.evaluate(b, rng);  // on the device engine, if any
      sum.total_loss += m.total_loss, sum.mlm_loss += m.mlm_loss, sum.disc_loss += m.disc_loss;
      sum.mlm_accuracy += m.mlm_accuracy, sum.sampled_accuracy += m.sampled_accuracy;
      sum.disc_accuracy += m.disc_accuracy, sum.disc_precision += m.disc_precision, sum.disc_recall += m.disc_recall;
      sum.disc_auc += m.disc_auc, sum.replaced_fraction += m.replaced_fraction;
    }
    const double n = double(batches.size());
    for (double* v : {&sum.total_loss, &sum.mlm_loss, &sum.disc_loss, &sum.mlm_accuracy, &sum.sampled_accuracy,
                      &sum.disc_accuracy, &sum.disc_precision, &sum.disc_recall, &sum.disc_auc, &sum.replaced_fraction})
      *v /= n;
    log_.append(detail::metrics_record(step - 1, "eval", sum));
  }

  Pretrainer<T> trainer_;
  RunOptions options_;
  DataSource data_;
  RunLog log_;
};

}  // namespace electra::train
