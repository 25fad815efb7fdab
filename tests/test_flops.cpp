// The FLOPs counter against the totals printed by google-research/electra flops_computation.py.
#include <electra/train/flops.hpp>

#include <string>
#include <utility>
#include <vector>

#include "helpers.hpp"

using namespace electra;
using flops::format_python_float;
using flops::TransformerHparams;

namespace {
double model_total(const std::string& name) {
  for (const auto& m : flops::named_models())
    if (m.name == name) return m.train_flops;
  FAIL("no model named " << name);
  return 0;
}
}  // namespace

TEST_CASE("named model totals print exactly as the official script prints them") {
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"electra_small", "1.293743798272e+18"},   {"electra_base", "6.424541834277683e+19"},
      {"electra_400k", "7.117606040895488e+20"}, {"electra_1.75M", "3.113952642891776e+21"},
      {"bert_small", "1.4187399146496e+18"},     {"bert_base", "6.428335104e+19"},
      {"bert_large", "1.91720905883648e+20"},    {"gpt", "3.968752230785352e+19"},
      {"roberta", "3.187221435776e+21"},         {"albert", "3.113923955392512e+22"},
      {"elmo", "3.4114394716164127e+18"},        {"xlnet", "3.856582065028608e+21"},
      {"t5_11b", "4.581900124212429e+22"},
  };
  for (const auto& [name, printed] : expected) {
    CAPTURE(name);
    CHECK(format_python_float(model_total(name)) == printed);
  }
}

TEST_CASE("the model table has the official thirteen entries in the script's order") {
  std::vector<std::string> names;
  for (const auto& m : flops::named_models()) names.push_back(m.name);
  CHECK(names == std::vector<std::string>{"elmo", "xlnet", "gpt", "bert_small", "bert_base", "bert_large",
                                          "electra_small", "electra_base", "electra_400k", "electra_1.75M",
                                          "roberta", "albert", "t5_11b"});
  const std::string report = flops::model_flops_report();
  CHECK(report.rfind("elmo 3.4114394716164127e+18\nxlnet 3.856582065028608e+21\n", 0) == 0);
  CHECK(report.find("\nt5_11b 4.581900124212429e+22\n") != std::string::npos);
}

TEST_CASE("ELECTRA-Small inference at length 128 costs 3677281792 FLOPs") {
  const TransformerHparams small(256, 12, {.s = 128, .v = 30522, .e = 128, .i = 1024, .heads = 4});
  CHECK(small.get_infer_flops() == 3677281792.0);
  CHECK(format_python_float(small.get_infer_flops()) == "3677281792.0");
  // The parts, as the script returns them (ints except the scaled output head).
  CHECK(small.get_block_flops() == 220594816.0);
  CHECK(small.get_embedding_flops() == 1013006336.0);
  CHECK(small.get_embedding_flops(true) == 161892280.0);
}

TEST_CASE("defaults mirror TransformerHparams: e = h, i = 4h, heads = max(h / 64, 1), kqv = h") {
  const TransformerHparams base(768, 12);
  CHECK(base.s() == 512);
  CHECK(base.v() == 30522);
  CHECK(base.e() == 768);
  CHECK(base.i() == 3072);
  CHECK(base.heads() == 12);
  CHECK(base.kqv() == 768);
  CHECK(base.output_frac() == 0.15625);
  CHECK(TransformerHparams(64, 1).heads() == 1);
  CHECK(TransformerHparams(32, 1).heads() == 1);
  CHECK(TransformerHparams(1024, 24, {.heads = 128, .head_size = 128}).kqv() == 16384);
}

TEST_CASE("training counts the backward pass as equal to the forward pass") {
  const TransformerHparams m(256, 4, {.s = 128});
  const double forward = 4 * m.get_block_flops() + m.get_embedding_flops() + m.get_embedding_flops(true);
  CHECK(m.get_train_flops(1, 1) == 2 * forward);
  const double disc = 4 * m.get_block_flops() + m.get_embedding_flops() + m.get_binary_classification_flops();
  CHECK(m.get_train_flops(8, 10, true) == 2 * 8 * 10 * disc);
}

TEST_CASE("the attention output layer norm keeps the official under-count") {
  // Only attn_output_layer_norm lacks the factor h: widening h by 1 changes every other
  // h-proportional term but leaves that one at LAYER_NORM_FLOPS per token.
  const TransformerHparams enc(64, 1, {.s = 1, .v = 1, .i = 1, .heads = 1});
  // kqv 64, s 1, heads 1, i 1:
  const double expected = 6 * 64 * 64 + 3 * 64 + 2 * 64 + 5 + 4 + 1 + 2 * 64 + 2 * 64 * 64 + 64 + 4 * 64 + 64 +
                          5 /* attn_output_layer_norm */ + 2 * 64 + 8 + 1 + 2 * 64 + 64 + 4 * 64 + 64 + 5 * 64;
  CHECK(enc.get_block_flops() == expected);
}

TEST_CASE("a decoder block doubles every attention term but not the feed-forward") {
  const TransformerHparams enc(128, 1, {.s = 16, .i = 256});
  const TransformerHparams dec(128, 1, {.s = 16, .i = 256, .decoder = true});
  const double ffn_per_token = 2 * 128 * 256 + 8 * 256 + 256 + 2 * 128 * 256 + 128 + 4 * 128 + 128 + 5 * 128;
  CHECK(dec.get_block_flops() - enc.get_block_flops() == enc.get_block_flops() - ffn_per_token * 16);
}

TEST_CASE("format_python_float matches Python's repr") {
  CHECK(format_python_float(1e16) == "1e+16");
  CHECK(format_python_float(1e15) == "1000000000000000.0");
  CHECK(format_python_float(123.0) == "123.0");
  CHECK(format_python_float(0.1) == "0.1");
  CHECK(format_python_float(0.1 + 0.2) == "0.30000000000000004");
  CHECK(format_python_float(1e-5) == "1e-05");
  CHECK(format_python_float(0.0001) == "0.0001");
  CHECK(format_python_float(1.5e-7) == "1.5e-07");
  CHECK(format_python_float(3677281792.0) == "3677281792.0");
  CHECK(format_python_float(9007199254740993.0) == "9007199254740992.0");
  CHECK(format_python_float(123456789012345678.0) == "1.2345678901234568e+17");
  CHECK(format_python_float(1e100) == "1e+100");
  CHECK(format_python_float(5e-324) == "5e-324");
  CHECK(format_python_float(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(format_python_float(-2.5) == "-2.5");
  CHECK(format_python_float(0.0) == "0.0");
  CHECK(format_python_float(-0.0) == "-0.0");
}

TEST_CASE("invalid hyperparameters raise value_error naming the bad value") {
  test::check_throws_with<value_error>([] { TransformerHparams(256, 0); }, {"number of layers l", "0"});
  test::check_throws_with<value_error>([] { TransformerHparams(0, 12); }, {"hidden size h", "0"});
  test::check_throws_with<value_error>([] { TransformerHparams(250, 12, {.heads = 4}); },
                                       {"hidden size h 250", "heads 4"});
  test::check_throws_with<value_error>([] { TransformerHparams(256, 12, {.head_size = 64}); },
                                       {"head_size 64", "without heads"});
  test::check_throws_with<value_error>([] { TransformerHparams(256, 12, {.output_frac = 1.5}); },
                                       {"output_frac", "1.5"});
  test::check_throws_with<value_error>([] { (void)TransformerHparams(256, 12).get_train_flops(0, 1); },
                                       {"batch_size", "0"});
  // Counts that a double could no longer hold exactly are refused rather than rounded.
  test::check_throws_with<value_error>([] { (void)TransformerHparams(1 << 22, 1 << 10).get_infer_flops(); },
                                       {"2^53"});
}
