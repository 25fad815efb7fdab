// How the processes of a data-parallel run talk to each other. Training needs three things:
// sums over ranks (gradients, loss denominators, metrics), a barrier, and to know who it is.
//   SingleProcess   rank 0 of 1; every operation is the identity (the default)
//   MpiCommunicator dist/mpi.hpp, when built with MPI (ELECTRA_WITH_MPI)
// A rank that dies takes the job down: mpirun aborts every other rank of the job when one
// exits abnormally, so a survivor never waits forever in an all-reduce.
#pragma once
#include <cstddef>
#include <string>

namespace electra::dist {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // data[i] = Σ over ranks of data[i], the same on every rank afterwards.
  virtual void allreduce_sum(float* data, std::size_t n) = 0;
  virtual void allreduce_sum(double* data, std::size_t n) = 0;
  virtual void barrier() = 0;
  virtual std::string describe() const = 0;

  bool is_root() const { return rank() == 0; }
};

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void allreduce_sum(float*, std::size_t) override {}
  void allreduce_sum(double*, std::size_t) override {}
  void barrier() override {}
  std::string describe() const override { return "1 process"; }
};

// The process-wide default: one process.
inline Communicator& single_process() {
  static SingleProcess p;
  return p;
}

}  // namespace electra::dist
