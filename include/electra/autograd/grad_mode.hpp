// Whether ops record onto the tape. `NoGradGuard g;` turns recording off for a scope
// (inference, evaluation, the optimizer step), restoring the previous mode on exit.
#pragma once

namespace electra {

namespace detail {
inline bool& grad_enabled_slot() {
  thread_local bool enabled = true;
  return enabled;
}
}  // namespace detail

inline bool grad_enabled() { return detail::grad_enabled_slot(); }

class NoGradGuard {
 public:
  NoGradGuard() : previous_(detail::grad_enabled_slot()) { detail::grad_enabled_slot() = false; }
  ~NoGradGuard() { detail::grad_enabled_slot() = previous_; }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace electra
