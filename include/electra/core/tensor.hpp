// Tensor<T>: a strided view (shape, strides, offset) over shared Storage<T>.
// View operations (reshape, transpose, permute, narrow, unsqueeze) never copy; a
// non-contiguous view becomes contiguous only through an explicit contiguous().
// Elementwise math on tensors lives in expr/ (expression templates), kernels in backend/.
#pragma once
#include <algorithm>
#include <initializer_list>
#include <iomanip>
#include <ostream>
#include <type_traits>
#include <vector>

#include "shape.hpp"
#include "storage.hpp"

namespace electra {

namespace device {
struct cpu {};  // device tags; backend/cuda adds `cuda`
}  // namespace device

template <class T, class Device = device::cpu>
class Tensor {
  static_assert(std::is_same_v<Device, device::cpu>, "only the cpu device is implemented in this header");

 public:
  using value_type = T;

  Tensor() = default;

  // Uninitialised contiguous tensor of the given shape.
  explicit Tensor(const Shape& shape)
      : storage_(new Storage<T>(std::max<index_t>(shape.numel(), 1))),
        shape_(shape),
        strides_(row_major_strides(shape)) {}

  static Tensor empty(const Shape& shape) { return Tensor(shape); }
  static Tensor full(const Shape& shape, T value) {
    Tensor t(shape);
    t.fill(value);
    return t;
  }
  static Tensor zeros(const Shape& shape) { return full(shape, T(0)); }
  static Tensor ones(const Shape& shape) { return full(shape, T(1)); }
  static Tensor from(const Shape& shape, std::initializer_list<T> values) {
    return from(shape, std::vector<T>(values));
  }
  static Tensor from(const Shape& shape, const std::vector<T>& values) {
    ELECTRA_CHECK(index_t(values.size()) == shape.numel(), shape_error, "shape ",
                  shape.to_string(), " needs ", shape.numel(), " values, got ", values.size());
    Tensor t(shape);
    std::copy(values.begin(), values.end(), t.data());
    return t;
  }

  // --- geometry --------------------------------------------------------------
  const Shape& shape() const { return shape_; }
  index_t size(int axis) const { return shape_[shape_.axis(axis)]; }
  int rank() const { return shape_.rank(); }
  index_t numel() const { return shape_.numel(); }
  const Strides& strides() const { return strides_; }
  index_t stride(int axis) const { return strides_[std::size_t(shape_.axis(axis))]; }
  index_t offset() const { return offset_; }
  bool defined() const { return bool(storage_); }
  bool is_contiguous() const {
    index_t expect = 1;
    for (int i = rank() - 1; i >= 0; --i) {
      if (shape_[i] != 1 && strides_[std::size_t(i)] != expect) return false;
      expect *= shape_[i];
    }
    return true;
  }
  bool shares_storage_with(const Tensor& o) const { return storage_ == o.storage_; }

  // Pointer to the first element of this view.
  T* data() const { return storage_->data() + offset_; }

  // --- element access (for tests and small host-side work; bounds-checked) ----
  template <class... I>
  T& at(I... idx) const {
    static_assert((std::is_integral_v<I> && ...), "indices must be integers");
    const index_t ids[] = {index_t(idx)...};
    ELECTRA_CHECK(int(sizeof...(I)) == rank(), index_error, "at(): ", sizeof...(I),
                  " indices for a tensor of shape ", shape_.to_string());
    index_t off = offset_;
    for (int i = 0; i < rank(); ++i) {
      ELECTRA_CHECK(ids[i] >= 0 && ids[i] < shape_[i], index_error, "at(): index ", ids[i],
                    " out of range for axis ", i, " of shape ", shape_.to_string());
      off += ids[i] * strides_[std::size_t(i)];
    }
    return storage_->data()[off];
  }
  // The n-th element in row-major order (any layout).
  T& flat(index_t n) const { return storage_->data()[offset_of(n)]; }
  index_t offset_of(index_t n) const {
    index_t off = offset_;
    for (int i = rank() - 1; i >= 0; --i) {
      off += (n % shape_[i]) * strides_[std::size_t(i)];
      n /= shape_[i];
    }
    return off;
  }
  T item() const {
    ELECTRA_CHECK(numel() == 1, shape_error, "item() needs one element, shape is ",
                  shape_.to_string());
    return flat(0);
  }
  std::vector<T> to_vector() const {
    std::vector<T> v(static_cast<std::size_t>(numel()), T(0));
    for (index_t i = 0; i < numel(); ++i) v[std::size_t(i)] = flat(i);
    return v;
  }

  // --- whole-tensor writes ------------------------------------------------------
  void fill(T value) const {
    if (is_contiguous()) {
      std::fill(data(), data() + numel(), value);
    } else {
      for (index_t i = 0; i < numel(); ++i) flat(i) = value;
    }
  }
  void copy_from(const Tensor& src) const {
    ELECTRA_CHECK(src.shape() == shape_, shape_error, "copy_from: destination shape ",
                  shape_.to_string(), " differs from source shape ", src.shape().to_string());
    if (is_contiguous() && src.is_contiguous()) {
      std::copy(src.data(), src.data() + numel(), data());
    } else {
      for (index_t i = 0; i < numel(); ++i) flat(i) = src.flat(i);
    }
  }
  Tensor clone() const {
    Tensor t(shape_);
    t.copy_from(*this);
    return t;
  }
  Tensor contiguous() const { return is_contiguous() ? *this : clone(); }

  // --- views (never copy) ----------------------------------------------------------
  Tensor reshape(const Shape& s) const {
    ELECTRA_CHECK(s.numel() == numel(), shape_error, "reshape: cannot view shape ",
                  shape_.to_string(), " as ", s.to_string(), " (element counts differ)");
    ELECTRA_CHECK(is_contiguous(), shape_error, "reshape: shape ", shape_.to_string(),
                  " is a non-contiguous view; call contiguous() first");
    Tensor t = *this;
    t.shape_ = s;
    t.strides_ = row_major_strides(s);
    return t;
  }
  Tensor permute(std::initializer_list<int> order) const {
    ELECTRA_CHECK(int(order.size()) == rank(), shape_error, "permute: ", order.size(),
                  " axes for shape ", shape_.to_string());
    Tensor t = *this;
    bool seen[kMaxRank] = {};
    int i = 0;
    for (int a : order) {
      const int ax = shape_.axis(a);
      ELECTRA_CHECK(!seen[ax], shape_error, "permute: axis ", a, " repeated");
      seen[ax] = true;
      t.shape_[i] = shape_[ax];
      t.strides_[std::size_t(i)] = strides_[std::size_t(ax)];
      ++i;
    }
    return t;
  }
  Tensor transpose(int a = -2, int b = -1) const {
    const int x = shape_.axis(a), y = shape_.axis(b);
    Tensor t = *this;
    std::swap(t.shape_[x], t.shape_[y]);
    std::swap(t.strides_[std::size_t(x)], t.strides_[std::size_t(y)]);
    return t;
  }
  // Elements [start, start + length) along `axis`.
  Tensor narrow(int axis, index_t start, index_t length) const {
    const int ax = shape_.axis(axis);
    ELECTRA_CHECK(start >= 0 && length >= 0 && start + length <= shape_[ax], index_error,
                  "narrow: range [", start, ", ", start + length, ") out of bounds for axis ",
                  axis, " of shape ", shape_.to_string());
    Tensor t = *this;
    t.offset_ += start * strides_[std::size_t(ax)];
    t.shape_[ax] = length;
    return t;
  }
  // Row i along axis 0, without that axis.
  Tensor select(index_t i) const {
    ELECTRA_CHECK(rank() >= 1, shape_error, "select on a scalar tensor");
    Tensor t = narrow(0, i, 1);
    Shape s;
    Strides st{};
    for (int k = 1; k < rank(); ++k) {
      st[std::size_t(s.rank())] = strides_[std::size_t(k)];
      s.push_back(shape_[k]);
    }
    t.shape_ = s;
    t.strides_ = st;
    return t;
  }
  Tensor unsqueeze(int axis) const {
    const int ax = axis < 0 ? axis + rank() + 1 : axis;
    ELECTRA_CHECK(ax >= 0 && ax <= rank(), index_error, "unsqueeze: axis ", axis,
                  " out of range for shape ", shape_.to_string());
    Tensor t = *this;
    Shape s;
    Strides st{};
    for (int k = 0, j = 0; k <= rank(); ++k) {
      if (k == ax) {
        st[std::size_t(s.rank())] = 0;
        s.push_back(1);
      } else {
        st[std::size_t(s.rank())] = strides_[std::size_t(j)];
        s.push_back(shape_[j++]);
      }
    }
    t.shape_ = s;
    t.strides_ = st;
    return t;
  }

 private:
  Ref<Storage<T>> storage_;
  index_t offset_ = 0;
  Shape shape_;
  Strides strides_{};
};

template <class T>
inline constexpr bool is_tensor_v = false;
template <class T, class D>
inline constexpr bool is_tensor_v<Tensor<T, D>> = true;

// Prints "Tensor[2,3] (float)" and the values, at most `kPrintLimit` of them.
template <class T>
std::ostream& operator<<(std::ostream& os, const Tensor<T>& t) {
  constexpr index_t kPrintLimit = 64;
  os << "Tensor" << t.shape() << " {";
  const index_t n = std::min(t.numel(), kPrintLimit);
  for (index_t i = 0; i < n; ++i) os << (i ? ", " : "") << std::setprecision(6) << t.flat(i);
  if (t.numel() > n) os << ", ... (" << t.numel() - n << " more)";
  return os << "}";
}

}  // namespace electra
