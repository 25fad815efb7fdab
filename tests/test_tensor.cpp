// Tensor core: shapes, views that never copy, explicit contiguity, errors, the memory pool.
#include <electra/core/allocator.hpp>
#include <electra/core/tensor.hpp>

#include "helpers.hpp"

using namespace electra;

TEST_CASE("a shape knows its rank, element count and row-major strides") {
  const Shape s{2, 3, 4};
  CHECK(s.rank() == 3);
  CHECK(s.numel() == 24);
  const Strides st = row_major_strides(s);
  CHECK(st[0] == 12);
  CHECK(st[1] == 4);
  CHECK(st[2] == 1);
  CHECK(Shape{}.numel() == 1);
  CHECK(s.to_string() == "[2,3,4]");
}

TEST_CASE("broadcasting follows numpy: align right, extents equal or 1") {
  CHECK(broadcast_shapes(Shape{3, 1, 5}, Shape{4, 1}) == Shape{3, 4, 5});
  CHECK(broadcast_shapes(Shape{}, Shape{2, 2}) == Shape{2, 2});
  test::check_throws_with<shape_error>([] { broadcast_shapes(Shape{2, 3}, Shape{4}); }, {"[2,3]", "[4]"});
}

TEST_CASE("tensor storage is 64-byte aligned and element access is bounds-checked") {
  auto t = Tensor<float>::from({2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
  CHECK(t.at(1, 2) == 6);
  test::check_throws_with<index_error>([&] { t.at(2, 0); }, {"index 2", "[2,3]"});
  test::check_throws_with<index_error>([&] { t.at(0); }, {"1 indices", "[2,3]"});
  test::check_throws_with<shape_error>([] { Tensor<float>::from({2, 2}, {1, 2, 3}); }, {"[2,2]", "4 values"});
}

TEST_CASE("views share storage: reshape, transpose, permute, narrow, select, unsqueeze") {
  auto t = Tensor<double>::from({2, 3}, {0, 1, 2, 3, 4, 5});
  auto r = t.reshape({3, 2});
  auto tr = t.transpose();
  auto n = t.narrow(1, 1, 2);
  auto s = t.select(1);
  auto u = t.unsqueeze(0);
  for (const auto* v : {&r, &tr, &n, &s, &u}) CHECK(v->shares_storage_with(t));
  CHECK(tr.shape() == Shape{3, 2});
  CHECK(tr.at(2, 1) == 5);
  CHECK(!tr.is_contiguous());
  CHECK(n.at(1, 0) == 4);
  CHECK(s.shape() == Shape{3});
  CHECK(s.at(2) == 5);
  CHECK(u.shape() == Shape{1, 2, 3});
  auto p = Tensor<double>::zeros({2, 3, 4}).permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  t.at(0, 1) = 42;  // writes through a view are seen by every view
  CHECK(tr.at(1, 0) == 42);
}

TEST_CASE("contiguous() copies only a non-contiguous view") {
  auto t = Tensor<float>::from({2, 2}, {1, 2, 3, 4});
  CHECK(t.contiguous().shares_storage_with(t));
  auto c = t.transpose().contiguous();
  CHECK(!c.shares_storage_with(t));
  CHECK(c.to_vector() == std::vector<float>{1, 3, 2, 4});
}

TEST_CASE("invalid views name the shapes involved") {
  auto t = Tensor<float>::zeros({2, 3});
  test::check_throws_with<shape_error>([&] { (void)t.reshape({4, 2}); }, {"[2,3]", "[4,2]"});
  test::check_throws_with<shape_error>([&] { (void)t.transpose().reshape({6}); }, {"non-contiguous"});
  test::check_throws_with<index_error>([&] { (void)t.narrow(1, 2, 2); }, {"[2,3]"});
  test::check_throws_with<index_error>([&] { (void)t.transpose(0, 2); }, {"axis 2", "[2,3]"});
  test::check_throws_with<shape_error>([&] { (void)t.permute({0, 0}); }, {"repeated"});
}

TEST_CASE("a tensor prints its shape and values") {
  std::ostringstream os;
  os << Tensor<float>::from({2}, {1.5f, -2});
  CHECK(os.str() == "Tensor[2] {1.5, -2}");
}

TEST_CASE("freed buffers are reused by the pool instead of the system allocator") {
  { Tensor<float> warm({123, 7}); }
  const PoolStats before = pool_stats();
  for (int i = 0; i < 10; ++i) Tensor<float> t({123, 7});
  const PoolStats after = pool_stats();
  CHECK(after.system_allocations == before.system_allocations);
  CHECK(after.pool_hits >= before.pool_hits + 10);
}
