// The tape: every recorded op appends one node, so the tape is in creation order and
// backward is a plain reverse walk (no recursion, no topological sort). Nodes come from
// the host pool; after the first step the same blocks are reused, so recording a step
// of the same shapes allocates nothing from the system.
#pragma once
#include <cstdint>
#include <vector>

#include "../core/allocator.hpp"

namespace electra {

struct Node : PoolAllocated {
  virtual ~Node() = default;
  virtual void run() = 0;                  // propagate the output's gradient to the inputs
  virtual const char* name() const = 0;    // for error messages and debugging
};

class Tape {
 public:
  Tape() { nodes_.reserve(1024); }
  ~Tape() { clear(); }
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  template <class N>
  N* push(N* node) {
    nodes_.push_back(node);
    return node;
  }

  // Runs every node's backward, last recorded first.
  void run_backward() {
    for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) (*it)->run();
  }

  // Frees the nodes (and what they saved for backward) and starts a new generation:
  // Vars recorded before can no longer be back-propagated.
  void clear() {
    for (Node* n : nodes_) delete n;
    nodes_.clear();
    ++generation_;
  }

  std::size_t size() const { return nodes_.size(); }
  std::uint64_t generation() const { return generation_; }

 private:
  std::vector<Node*> nodes_;
  std::uint64_t generation_ = 1;
};

// The calling thread's tape.
inline Tape& tape() {
  thread_local Tape t;
  return t;
}

}  // namespace electra
