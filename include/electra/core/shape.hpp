// Shape: up to kMaxRank extents stored inline (no heap), with row-major stride helpers
// and numpy broadcasting.
#pragma once
#include <array>
#include <initializer_list>
#include <ostream>
#include <string>

#include "config.hpp"
#include "error.hpp"

namespace electra {

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<index_t> dims) {
    ELECTRA_CHECK(dims.size() <= std::size_t(kMaxRank), shape_error, "rank ", dims.size(),
                  " exceeds the maximum rank ", kMaxRank);
    for (index_t d : dims) push_back(d);
  }
  template <class It>
  Shape(It first, It last) {
    for (; first != last; ++first) push_back(index_t(*first));
  }

  int rank() const { return rank_; }
  index_t operator[](int axis) const { return dims_[std::size_t(axis)]; }
  index_t& operator[](int axis) { return dims_[std::size_t(axis)]; }
  const index_t* begin() const { return dims_.data(); }
  const index_t* end() const { return dims_.data() + rank_; }
  index_t back() const { return rank_ ? dims_[std::size_t(rank_ - 1)] : 1; }

  void push_back(index_t d) {
    ELECTRA_CHECK(rank_ < kMaxRank, shape_error, "rank exceeds the maximum rank ", kMaxRank);
    ELECTRA_CHECK(d >= 0, shape_error, "negative extent ", d);
    dims_[std::size_t(rank_++)] = d;
  }

  index_t numel() const {
    index_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[std::size_t(i)];
    return n;
  }

  // Normalises a possibly negative axis (-1 = last) and checks it.
  int axis(int a) const {
    int r = a < 0 ? a + rank_ : a;
    ELECTRA_CHECK(r >= 0 && r < rank_, index_error, "axis ", a, " is out of range for shape ",
                  to_string());
    return r;
  }

  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i)
      if (a.dims_[std::size_t(i)] != b.dims_[std::size_t(i)]) return false;
    return true;
  }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

  std::string to_string() const {
    std::string s = "[";
    for (int i = 0; i < rank_; ++i) {
      if (i) s += ",";
      s += std::to_string(dims_[std::size_t(i)]);
    }
    return s + "]";
  }
  friend std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.to_string(); }

 private:
  std::array<index_t, kMaxRank> dims_{};
  int rank_ = 0;
};

using Strides = std::array<index_t, kMaxRank>;

inline Strides row_major_strides(const Shape& s) {
  Strides st{};
  index_t acc = 1;
  for (int i = s.rank() - 1; i >= 0; --i) {
    st[std::size_t(i)] = acc;
    acc *= s[i];
  }
  return st;
}

// numpy broadcasting: align right, extents must match or be 1.
inline Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const int r = a.rank() > b.rank() ? a.rank() : b.rank();
  Shape out;
  for (int i = 0; i < r; ++i) {
    const int ia = i - (r - a.rank()), ib = i - (r - b.rank());
    const index_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    ELECTRA_CHECK(da == db || da == 1 || db == 1, shape_error, "shapes ", a.to_string(), " and ",
                  b.to_string(), " cannot be broadcast together");
    out.push_back(da == 1 ? db : da);
  }
  return out;
}

// Strides that read a tensor of shape `s` (strides `st`) as if it had shape `out`:
// broadcast axes (extent 1 or missing) get stride 0. Requires broadcast_shapes(s, out) == out.
inline Strides broadcast_strides(const Shape& s, const Strides& st, const Shape& out) {
  Strides r{};
  const int shift = out.rank() - s.rank();
  ELECTRA_CHECK(shift >= 0, shape_error, "shape ", s.to_string(), " cannot broadcast to ",
                out.to_string());
  for (int i = 0; i < out.rank(); ++i) {
    const int j = i - shift;
    if (j < 0 || s[j] == 1) {
      ELECTRA_CHECK(j < 0 || s[j] == out[i] || s[j] == 1, shape_error, "shape ", s.to_string(),
                    " cannot broadcast to ", out.to_string());
      r[std::size_t(i)] = 0;
    } else {
      ELECTRA_CHECK(s[j] == out[i], shape_error, "shape ", s.to_string(), " cannot broadcast to ",
                    out.to_string());
      r[std::size_t(i)] = st[std::size_t(j)];
    }
  }
  return r;
}

}  // namespace electra
