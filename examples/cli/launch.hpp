// How the electra program was launched: one process, or one rank of an `mpirun` job.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <electra/dist/communicator.hpp>
#include <memory>
#include <string>
#ifdef ELECTRA_WITH_MPI
#include <electra/dist/mpi.hpp>
#endif

#include "args.hpp"

namespace cli {

// The communicator of this launch: MPI when started by mpirun (and built with MPI), else one
// process. A build without MPI refuses to run as one of several ranks rather than have each
// rank train alone on the same data.
inline std::unique_ptr<electra::dist::Communicator> launch_communicator() {
  const char* world = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (!world) world = std::getenv("PMI_SIZE");
#ifdef ELECTRA_WITH_MPI
  if (world) return std::make_unique<electra::dist::MpiCommunicator>();
#else
  if (world && std::string(world) != "1")
    throw usage_error("started as one of " + std::string(world) +
                      " MPI ranks, but this electra was built without MPI (cmake -DELECTRA_MPI=ON)");
#endif
  return std::make_unique<electra::dist::SingleProcess>();
}

// Runs `fn` on this rank. An error on one rank of several ends the whole job (MPI_Abort), so
// that the others do not wait forever in their next all-reduce.
template <class F>
auto on_every_rank(electra::dist::Communicator& comm, F&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
#ifdef ELECTRA_WITH_MPI
    if (auto* mpi = dynamic_cast<electra::dist::MpiCommunicator*>(&comm); mpi && mpi->size() > 1) {
      std::fprintf(stderr, "electra: error on rank %d: %s\n", mpi->rank(), e.what());
      mpi->abort(1);
    }
#endif
    (void)comm, (void)e;
    throw;
  }
}

}  // namespace cli
