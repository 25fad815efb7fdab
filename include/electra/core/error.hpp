// The exception hierarchy. Every message names what it is about: a tensor, a shape, a file.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace electra {

struct error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct shape_error : error {      // incompatible or invalid shapes
  using error::error;
};
struct index_error : error {      // out-of-range index, axis or slice
  using error::error;
};
struct autograd_error : error {   // misuse of the tape: bad seed, freed graph
  using error::error;
};
struct value_error : error {      // invalid argument value (negative lr, p outside [0,1), ...)
  using error::error;
};
struct io_error : error {         // files: missing, malformed, truncated
  using error::error;
};

namespace detail {
template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  return os.str();
}
}  // namespace detail

// ELECTRA_CHECK(cond, error_type, message parts...): throw error_type(concat(parts)) if !cond.
#define ELECTRA_CHECK(cond, error_type, ...)                              \
  do {                                                                    \
    if (!(cond)) throw error_type(::electra::detail::concat(__VA_ARGS__)); \
  } while (0)

}  // namespace electra
