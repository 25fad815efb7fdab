// The Communicator over MPI (Debian's OpenMPI: libopenmpi-dev, openmpi-bin). Include this
// header only in programs built with MPI (our CMake option ELECTRA_MPI defines
// ELECTRA_WITH_MPI and links MPI::MPI_CXX); the rest of the library never includes <mpi.h>.
//
// MPI is initialised by the first MpiCommunicator (MPI_THREAD_FUNNELED: only the main thread
// calls MPI, OpenMP threads compute) and finalised when it is destroyed. Errors from MPI
// calls come back as electra::error with MPI's own message and the call that failed.
#pragma once
#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "../core/error.hpp"
#include "communicator.hpp"

namespace electra::dist {

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns_ = true;
    }
    // Return codes instead of aborting inside MPI, so failures carry our context.
    check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owns_ && !finalized) MPI_Finalize();
  }
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allreduce_sum(float* data, std::size_t n) override { reduce(data, n, MPI_FLOAT); }
  void allreduce_sum(double* data, std::size_t n) override { reduce(data, n, MPI_DOUBLE); }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }
  std::string describe() const override {
    return electra::detail::concat(size_, " MPI processes (this is rank ", rank_, ")");
  }

  // Ends the whole job with `code` (every rank), e.g. after an error on one rank.
  [[noreturn]] void abort(int code) const {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::abort();
  }

 private:
  void reduce(void* data, std::size_t n, MPI_Datatype type) {
    // MPI counts are int: large buffers go in pieces.
    constexpr std::size_t kMaxCount = std::size_t(1) << 30;
    auto* bytes = static_cast<char*>(data);
    int type_size = 0;
    MPI_Type_size(type, &type_size);
    for (std::size_t done = 0; done < n;) {
      const std::size_t count = std::min(kMaxCount, n - done);
      check(MPI_Allreduce(MPI_IN_PLACE, bytes + done * std::size_t(type_size), int(count), type, MPI_SUM,
                          MPI_COMM_WORLD),
            "MPI_Allreduce");
      done += count;
    }
  }

  void check(int code, const char* call) const {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, text, &len);
    throw error(electra::detail::concat(call, " failed on rank ", rank_, ": ", std::string(text, std::size_t(len))));
  }

  int rank_ = 0, size_ = 1;
  bool owns_ = false;
};

}  // namespace electra::dist
