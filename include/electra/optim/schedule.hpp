// The learning-rate schedule of ELECTRA's create_optimizer (model/optimization.py):
//   lr(t) = base · (1 − min(t, T)/T)^power · min(1, t / warmup)
// polynomial_decay to 0 (cycle = False) and the linear warmup factor are multiplied, not
// chained: warmup ramps toward a rate that is already decaying, so the peak lr is slightly
// below base. Note t = 0 gives lr 0 when warmup > 0: the first official step moves no weight
// (the Adam moments still advance).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../core/error.hpp"

namespace electra::optim {

namespace detail {
// `warmup` is a double because the official count is max(T · proportion, steps), which may
// be fractional; it is not rounded there either.
inline double warmup_decay_factor(std::int64_t step, std::int64_t total_steps, double warmup, double power) {
  ELECTRA_CHECK(total_steps > 0, value_error, "lr schedule: total_steps must be > 0, got ", total_steps);
  ELECTRA_CHECK(std::isfinite(warmup) && warmup >= 0, value_error,
                "lr schedule: warmup steps must be >= 0, got ", warmup);
  ELECTRA_CHECK(std::isfinite(power) && power >= 0, value_error, "lr schedule: power must be >= 0, got ", power);
  ELECTRA_CHECK(step >= 0, value_error, "lr schedule: step must be >= 0, got ", step);
  const double t = double(std::min(step, total_steps));
  const double decay = std::pow(1.0 - t / double(total_steps), power);
  // The official code divides by warmup unguarded (0/0 at step 0); with no warmup the
  // factor is meant to be 1, so we say so instead of dividing.
  const double warm = warmup > 0 ? std::min(1.0, double(step) / warmup) : 1.0;
  return decay * warm;
}
}  // namespace detail

// lr at `step` (0-based: the value used by the update that makes global_step step+1).
inline double linear_warmup_decay(std::int64_t step, double base_lr, std::int64_t total_steps,
                                  std::int64_t warmup_steps, double power = 1.0) {
  ELECTRA_CHECK(std::isfinite(base_lr) && base_lr >= 0, value_error, "lr schedule: learning rate must be >= 0, got ",
                base_lr);
  ELECTRA_CHECK(warmup_steps >= 0, value_error, "lr schedule: warmup_steps must be >= 0, got ", warmup_steps);
  return base_lr * detail::warmup_decay_factor(step, total_steps, double(warmup_steps), power);
}

// The same schedule configured as create_optimizer's arguments are.
struct LrSchedule {
  double base_lr = 5e-4;           // learning_rate
  std::int64_t total_steps = 1;    // num_train_steps
  std::int64_t warmup_steps = 0;   // warmup_steps
  double warmup_proportion = 0.0;  // warmup_proportion (fine-tuning uses 0.1)
  double power = 1.0;              // lr_decay_power

  // max(T · proportion, warmup_steps), as the official code takes it.
  double warmup() const {
    ELECTRA_CHECK(std::isfinite(warmup_proportion) && warmup_proportion >= 0, value_error,
                  "lr schedule: warmup_proportion must be >= 0, got ", warmup_proportion);
    ELECTRA_CHECK(warmup_steps >= 0, value_error, "lr schedule: warmup_steps must be >= 0, got ", warmup_steps);
    return std::max(double(total_steps) * warmup_proportion, double(warmup_steps));
  }
  double at(std::int64_t step) const {
    ELECTRA_CHECK(std::isfinite(base_lr) && base_lr >= 0, value_error,
                  "lr schedule: learning rate must be >= 0, got ", base_lr);
    return base_lr * detail::warmup_decay_factor(step, total_steps, warmup(), power);
  }
};

}  // namespace electra::optim
