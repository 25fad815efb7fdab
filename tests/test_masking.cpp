// Dynamic masking, Gumbel-max sampling, fake-input construction and the step metrics,
// against the semantics of google-research/electra (pretrain_helpers.py, run_pretraining.py).
#include <electra/core/threading.hpp>
#include <electra/model/masking.hpp>
#include <electra/model/sampling.hpp>
#include <electra/train/metrics.hpp>

#include <cmath>
#include <set>
#include <vector>

#include "helpers.hpp"

using namespace electra;
using model::SpecialTokens;
using I32 = Tensor<std::int32_t>;

namespace {
const SpecialTokens kTok;  // [PAD]=0, [CLS]=101, [SEP]=102, [MASK]=103

// One row "[CLS] w1 .. wn [SEP] [PAD].." of length L with `real` non-pad tokens (ids 1000+t).
void fill_row(I32& ids, I32& mask, index_t b, index_t L, index_t real) {
  for (index_t t = 0; t < L; ++t) {
    const bool is_real = t < real;
    ids.at(b, t) = !is_real ? kTok.pad : t == 0 ? kTok.cls : t == real - 1 ? kTok.sep : std::int32_t(1000 + t);
    mask.at(b, t) = is_real ? 1 : 0;
  }
}
double weight_sum(const Tensor<float>& w, index_t b) {
  double s = 0;
  for (index_t k = 0; k < w.size(1); ++k) s += w.at(b, k);
  return s;
}
}  // namespace

TEST_CASE("max_predictions_per_seq is int((p + 0.005) * L): 19 for L = 128, p = 0.15") {
  CHECK(model::max_predictions_per_seq(128) == 19);
  CHECK(model::max_predictions_per_seq(512, 0.15) == 79);
  CHECK(model::max_predictions_per_seq(128, 0.25) == 32);
  test::check_throws_with<value_error>([] { model::max_predictions_per_seq(128, 0.0); }, {"p must be in (0, 1]"});
}

TEST_CASE("the number to predict is round(n * p) half to even, at least 1 and at most N") {
  CHECK(model::num_to_predict(5, 0.5, 19) == 2);   // 2.5 -> 2
  CHECK(model::num_to_predict(7, 0.5, 19) == 4);   // 3.5 -> 4
  CHECK(model::num_to_predict(9, 0.5, 19) == 4);   // 4.5 -> 4
  CHECK(model::num_to_predict(10, 0.15, 19) == 2); // float32: 10 * 0.15f is exactly 1.5f -> 2
  CHECK(model::num_to_predict(30, 0.15, 19) == 4); // float32 4.5f -> 4
  // TF multiplies in float32: 190 * 0.15f = 28.5000019 -> 29, where double's exact 28.5 -> 28.
  CHECK(model::num_to_predict(190, 0.15, 39) == 29);
  CHECK(model::num_to_predict(3, 0.15, 19) == 1);  // round(0.45) = 0, raised to the minimum 1
  CHECK(model::num_to_predict(0, 0.15, 19) == 1);
  CHECK(model::num_to_predict(128, 0.15, 19) == 19);  // round(19.2)
  CHECK(model::num_to_predict(200, 0.15, 19) == 19);  // 30 capped at N

  // The same counts show up as masked_lm_weights.
  const index_t L = 12;
  I32 ids({3, L}), mask({3, L});
  fill_row(ids, mask, 0, L, 5);
  fill_row(ids, mask, 1, L, 7);
  fill_row(ids, mask, 2, L, 12);
  Rng rng(1);
  const auto mb = model::mask_tokens(ids, mask, kTok, 0.5, 5, rng);
  CHECK(weight_sum(mb.weights, 0) == 2);
  CHECK(weight_sum(mb.weights, 1) == 4);
  CHECK(weight_sum(mb.weights, 2) == 5);  // round(6) capped at N = 5
  for (index_t b = 0; b < 3; ++b)         // weights are a prefix of ones
    for (index_t k = 1; k < 5; ++k) CHECK(mb.weights.at(b, k) <= mb.weights.at(b, k - 1));
}

TEST_CASE("masking never picks [CLS], [SEP], [MASK] or padding, and targets are the original ids") {
  const index_t B = 16, L = 32, N = model::max_predictions_per_seq(L);
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    I32 ids({B, L}), mask({B, L});
    Rng data(1000 + seed);
    for (index_t b = 0; b < B; ++b) {
      fill_row(ids, mask, b, L, 3 + index_t(data.below(std::uint64_t(L - 2))));
      for (index_t t = 1; t + 1 < L; ++t)  // sprinkle specials inside the text
        if (mask.at(b, t) && data.uniform() < 0.2) ids.at(b, t) = data.uniform() < 0.5 ? kTok.mask : kTok.sep;
    }
    Rng rng(seed);
    const auto mb = model::mask_tokens(ids, mask, kTok, 0.15, N, rng);
    for (index_t b = 0; b < B; ++b) {
      std::set<index_t> chosen;
      for (index_t k = 0; k < N; ++k) {
        if (mb.weights.at(b, k) == 0) continue;
        const index_t pos = mb.positions.at(b, k);
        const std::int32_t id = ids.at(b, pos);
        CHECK(mask.at(b, pos) == 1);
        CHECK((id != kTok.cls && id != kTok.sep && id != kTok.mask && id != kTok.pad));
        CHECK(mb.target_ids.at(b, k) == id);
        chosen.insert(pos);
      }
      for (index_t t = 0; t < L; ++t)  // only chosen positions change, and only to [MASK]
        if (mb.input_ids.at(b, t) != ids.at(b, t)) CHECK((chosen.count(t) && mb.input_ids.at(b, t) == kTok.mask));
    }
  }
}

TEST_CASE("85% of masked slots become [MASK] and 15% keep their token") {
  // L = 8, p = 0.1: round(0.8) = 1, so each example has exactly one slot and no duplicates.
  const index_t B = 20000, L = 8;
  I32 ids({B, L}), mask({B, L});
  for (index_t b = 0; b < B; ++b) fill_row(ids, mask, b, L, L);
  Rng rng(7);
  const auto mb = model::mask_tokens(ids, mask, kTok, 0.1, 3, rng);
  double masked = 0;
  for (index_t b = 0; b < B; ++b) {
    REQUIRE(weight_sum(mb.weights, b) == 1);
    masked += mb.input_ids.at(b, mb.positions.at(b, 0)) == kTok.mask;
  }
  // Binomial(B, 0.85): sd of the fraction = sqrt(0.85 * 0.15 / 20000) = 0.0025; allow 4 sd.
  CHECK(std::abs(masked / double(B) - 0.85) < 4 * 0.0025);
}

TEST_CASE("weight-0 slots point at position 0, target 0 and change nothing") {
  const index_t L = 16, N = 6;
  I32 ids({2, L}), mask({2, L});
  fill_row(ids, mask, 0, L, 6);  // round(6 * 0.15) = 1 slot of 6
  fill_row(ids, mask, 1, L, 12); // round(1.8) = 2 slots
  Rng rng(3);
  const auto mb = model::mask_tokens(ids, mask, kTok, 0.15, N, rng);
  const index_t num[2] = {1, 2};
  for (index_t b = 0; b < 2; ++b) {
    index_t changed = 0;
    for (index_t t = 0; t < L; ++t) changed += mb.input_ids.at(b, t) != ids.at(b, t);
    CHECK(changed <= num[b]);
    CHECK(mb.input_ids.at(b, 0) == kTok.cls);
    for (index_t k = num[b]; k < N; ++k) {
      CHECK(mb.weights.at(b, k) == 0);
      CHECK(mb.positions.at(b, k) == 0);
      CHECK(mb.target_ids.at(b, k) == 0);
    }
  }
}

TEST_CASE("a draw of position 0 is kept in the batch but never written, as scatter_update does") {
  // No [CLS]: the only candidate is position 0. TF draws it and ignores the update there.
  const I32 ids = I32::from({1, 4}, {5, kTok.sep, kTok.pad, kTok.pad});
  const I32 mask = I32::from({1, 4}, {1, 1, 0, 0});
  Rng rng(0);
  const auto mb = model::mask_tokens(ids, mask, kTok, 0.5, 2, rng);
  CHECK(mb.weights.at(0, 0) == 1);
  CHECK(mb.positions.at(0, 0) == 0);
  CHECK(mb.target_ids.at(0, 0) == 5);
  CHECK(mb.input_ids.to_vector() == ids.to_vector());
}

TEST_CASE("positions are drawn with replacement: 3 candidates, 3 draws repeat one with probability 7/9") {
  const index_t B = 20000, L = 5;
  I32 ids({B, L}), mask({B, L});
  for (index_t b = 0; b < B; ++b) fill_row(ids, mask, b, L, L);  // [CLS] w1 w2 w3 [SEP]
  Rng rng(11);
  const auto mb = model::mask_tokens(ids, mask, kTok, 1.0, 3, rng);  // round(5) capped at 3
  double dup = 0, hits[L] = {};
  for (index_t b = 0; b < B; ++b) {
    const index_t a = mb.positions.at(b, 0), c = mb.positions.at(b, 1), d = mb.positions.at(b, 2);
    dup += (a == c || a == d || c == d);
    for (index_t k = 0; k < 3; ++k) hits[mb.positions.at(b, k)] += 1;
  }
  // P(all distinct) = 3!/3^3 = 2/9. sd = sqrt((7/9)(2/9)/20000) = 0.0029; allow 4 sd.
  CHECK(std::abs(dup / double(B) - 7.0 / 9.0) < 4 * 0.0029);
  CHECK(hits[0] + hits[4] == 0);
  for (index_t t = 1; t <= 3; ++t)  // each candidate 1/3 of 60000 draws: sd = 0.0019
    CHECK(std::abs(hits[t] / double(3 * B) - 1.0 / 3.0) < 4 * 0.0019);
}

TEST_CASE("masking is a pure function of the seed") {
  const index_t B = 4, L = 24;
  I32 ids({B, L}), mask({B, L});
  for (index_t b = 0; b < B; ++b) fill_row(ids, mask, b, L, 10 + 4 * b);
  Rng r1(42), r2(42), r3(43);
  const auto a = model::mask_tokens(ids, mask, kTok, 0.15, 4, r1);
  const auto b = model::mask_tokens(ids, mask, kTok, 0.15, 4, r2);
  const auto c = model::mask_tokens(ids, mask, kTok, 0.15, 4, r3);
  CHECK(a.input_ids.to_vector() == b.input_ids.to_vector());
  CHECK(a.positions.to_vector() == b.positions.to_vector());
  CHECK(a.positions.to_vector() != c.positions.to_vector());
}

TEST_CASE("an example with no candidate gets all-zero weights instead of TF's 0/0") {
  const I32 ids = I32::from({2, 4}, {kTok.cls, kTok.sep, kTok.pad, kTok.pad, kTok.cls, 7, 8, kTok.sep});
  const I32 mask = I32::from({2, 4}, {1, 1, 0, 0, 1, 1, 1, 1});
  Rng rng(5);
  const auto mb = model::mask_tokens(ids, mask, kTok, 0.15, 3, rng);
  for (index_t k = 0; k < 3; ++k) {
    CHECK(mb.weights.at(0, k) == 0);
    CHECK(mb.positions.at(0, k) == 0);
    CHECK(mb.target_ids.at(0, k) == 0);
  }
  CHECK(weight_sum(mb.weights, 1) == 1);
}

TEST_CASE("mask_tokens rejects bad probabilities, counts, shapes and mask values") {
  const I32 ids = I32::zeros({2, 4}), mask = I32::ones({2, 4});
  Rng rng(0);
  test::check_throws_with<value_error>([&] { model::mask_tokens(ids, mask, kTok, 0.0, 3, rng); }, {"(0, 1]", "0"});
  test::check_throws_with<value_error>([&] { model::mask_tokens(ids, mask, kTok, 1.5, 3, rng); }, {"(0, 1]"});
  test::check_throws_with<value_error>([&] { model::mask_tokens(ids, mask, kTok, 0.15, 0, rng); }, {"N must be >= 1"});
  test::check_throws_with<shape_error>([&] { model::mask_tokens(ids, I32::ones({2, 5}), kTok, 0.15, 3, rng); },
                                       {"[2,5]", "[2,4]"});
  test::check_throws_with<shape_error>([&] { model::mask_tokens(I32::zeros({8}), I32::ones({8}), kTok, 0.15, 3, rng); },
                                       {"[B, L]"});
  test::check_throws_with<value_error>([&] { model::mask_tokens(ids, I32::full({2, 4}, 2), kTok, 0.15, 3, rng); },
                                       {"0 or 1"});
}

TEST_CASE("Gumbel-max sampling draws from softmax(logits / T) at T = 1 and T = 0.5") {
  const std::vector<float> logit = {0.5f, -1.0f, 1.5f, 0.0f, 1.0f};
  const index_t M = 20000, V = index_t(logit.size());
  Tensor<float> x({M, V});
  for (index_t r = 0; r < M; ++r)
    for (index_t j = 0; j < V; ++j) x.at(r, j) = logit[std::size_t(j)];
  for (const double T : {1.0, 0.5}) {
    CAPTURE(T);
    Rng rng(123);
    const I32 ids = model::gumbel_sample(x, rng, T);
    std::vector<double> freq(static_cast<std::size_t>(V), 0.0), p(static_cast<std::size_t>(V), 0.0);
    for (index_t r = 0; r < M; ++r) freq[std::size_t(ids.at(r))] += 1.0 / double(M);
    double z = 0;
    for (index_t j = 0; j < V; ++j) z += p[std::size_t(j)] = std::exp(logit[std::size_t(j)] / T);
    for (index_t j = 0; j < V; ++j) {
      const double pj = p[std::size_t(j)] / z, sd = std::sqrt(pj * (1 - pj) / double(M));
      CHECK(std::abs(freq[std::size_t(j)] - pj) < 4.5 * sd);  // 4.5 standard errors
    }
  }
}

TEST_CASE("Gumbel sampling is the same for any thread count and keeps leading axes") {
  const Tensor<float> x = test::random_tensor<float>({64, 3, 200}, 9, -3, 3);  // 38400 > parallel threshold
  const int saved = num_threads();
  set_num_threads(1);
  Rng r1(77);
  const I32 one = model::gumbel_sample(x, r1);
  set_num_threads(4);
  Rng r2(77);
  const I32 four = model::gumbel_sample(x, r2);
  set_num_threads(saved);
  CHECK(one.shape() == Shape{64, 3});
  CHECK(one.to_vector() == four.to_vector());
  // A logit 100 above the rest beats any Gumbel noise (which lies in [-3.1, 16.7]).
  Rng r3(1);
  const I32 mode = model::gumbel_sample(Tensor<double>::from({2, 3}, {0, 100, 0, 100, 0, 0}), r3);
  CHECK(mode.to_vector() == std::vector<std::int32_t>{1, 0});
  test::check_throws_with<value_error>([&] { model::gumbel_sample(x, r3, 0.0); }, {"temperature"});
  test::check_throws_with<shape_error>([&] { model::gumbel_sample(Tensor<float>::zeros({5}), r3); }, {"[M, V]"});
}

TEST_CASE("replaced-token labels: a sample equal to the original is not fake, position 0 is never written") {
  const I32 orig = I32::from({1, 5}, {101, 5, 6, 7, 102});
  const I32 pos = I32::from({1, 3}, {1, 2, 0});
  const auto f = model::replace_with_samples(orig, pos, I32::from({1, 3}, {9, 6, 42}));
  CHECK(f.input_ids.to_vector() == std::vector<std::int32_t>{101, 9, 6, 7, 102});
  CHECK(f.labels.to_vector() == std::vector<float>{0, 1, 0, 0, 0});
}

TEST_CASE("a position sampled twice gets the floor of the mean of its samples (scatter_nd sum, floordiv)") {
  const I32 orig = I32::from({2, 5}, {101, 5, 6, 7, 102, 101, 5, 6, 7, 102});
  const I32 pos = I32::from({2, 3}, {3, 3, 1, 3, 3, 0});
  // Row 0: floor((10 + 13) / 2) = 11 at 3; 5 at 1 equals the original. Row 1: 6 and 9 average
  // to floor(7.5) = 7, the original, so TF labels it real although neither sample was 7.
  const auto f = model::replace_with_samples(orig, pos, I32::from({6}, {10, 13, 5, 6, 9, 4}));  // [B*N] accepted
  CHECK(f.input_ids.to_vector() == std::vector<std::int32_t>{101, 5, 6, 11, 102, 101, 5, 6, 7, 102});
  CHECK(f.labels.to_vector() == std::vector<float>{0, 0, 0, 1, 0, 0, 0, 0, 0, 0});
  test::check_throws_with<index_error>(
      [&] { model::replace_with_samples(orig, I32::from({2, 1}, {5, 1}), I32::zeros({2, 1})); }, {"position 5"});
  test::check_throws_with<shape_error>([&] { model::replace_with_samples(orig, pos, I32::zeros({2, 2})); },
                                       {"[B, N]"});
}

TEST_CASE("masked-LM accuracy is weighted by masked_lm_weights, argmax ties go to the lowest id") {
  const I32 targets = I32::from({2, 2}, {1, 0, 3, 0});
  const Tensor<float> w = Tensor<float>::from({2, 2}, {1, 1, 1, 0});
  CHECK(train::weighted_accuracy(I32::from({4}, {1, 2, 3, 0}), targets, w) == doctest::Approx(2.0 / 3.0));
  // Logits whose argmax is {1, 2, 3, 0}; row 3 ties ids 0 and 2, so it picks 0.
  const Tensor<float> logits = Tensor<float>::from(
      {4, 4}, {0, 5, 1, 2, /**/ 0, 1, 9, 2, /**/ 0, 1, 2, 3, /**/ 4, 1, 4, 2});
  CHECK(train::argmax_ids(logits).to_vector() == std::vector<std::int32_t>{1, 2, 3, 0});
  CHECK(train::mlm_accuracy(logits, targets, w) == doctest::Approx(2.0 / 3.0));
  CHECK(train::sampled_accuracy(I32::from({2, 2}, {1, 0, 2, 0}), targets, w) == doctest::Approx(2.0 / 3.0));
}

TEST_CASE("discriminator accuracy, precision and recall on a hand-computed batch, a logit of 0 is real") {
  const Tensor<float> logits = Tensor<float>::from({1, 6}, {2, -1, 0, 3, -2, 5});
  const Tensor<float> labels = Tensor<float>::from({1, 6}, {1, 0, 1, 0, 1, 1});
  const I32 mask = I32::from({1, 6}, {1, 1, 1, 1, 1, 0});
  CHECK(train::disc_predictions(logits).to_vector() == std::vector<std::int32_t>{1, 0, 0, 1, 0, 1});
  CHECK(train::disc_accuracy(logits, labels, mask) == doctest::Approx(2.0 / 5.0));   // t0, t1 right
  CHECK(train::disc_precision(logits, labels, mask) == doctest::Approx(1.0 / 2.0));  // called fake: t0, t3
  CHECK(train::disc_recall(logits, labels, mask) == doctest::Approx(1.0 / 3.0));     // fake: t0, t2, t4
}

TEST_CASE("ROC AUC is exact: ties count one half, constant scores give 0.5, pads are ignored") {
  const I32 all = I32::ones({1, 4});
  CHECK(train::roc_auc(Tensor<double>::from({1, 4}, {0.1, 0.4, 0.35, 0.8}), I32::from({1, 4}, {0, 0, 1, 1}), all) ==
        doctest::Approx(0.75));
  // Positives {2, 3} vs negatives {1, 2}: 1 + 1/2 + 1 + 1 of 4 pairs.
  CHECK(train::roc_auc(Tensor<double>::from({1, 4}, {1, 2, 2, 3}), I32::from({1, 4}, {0, 1, 0, 1}), all) ==
        doctest::Approx(0.875));
  CHECK(train::roc_auc(Tensor<float>::full({1, 4}, 0.3f), I32::from({1, 4}, {0, 1, 0, 1}), all) ==
        doctest::Approx(0.5));
  // A padded positive with the lowest score would drag AUC to 2/3; masked out it is perfect.
  CHECK(train::roc_auc(Tensor<double>::from({1, 4}, {-9, 1, 2, 3}), I32::from({1, 4}, {1, 0, 1, 1}),
                       I32::from({1, 4}, {0, 1, 1, 1})) == doctest::Approx(1.0));
}

TEST_CASE("every metric whose denominator is 0 reports 0, not NaN") {
  const Tensor<float> w0 = Tensor<float>::zeros({2});
  CHECK(train::weighted_accuracy(I32::from({2}, {1, 2}), I32::from({2}, {1, 2}), w0) == 0.0);
  const Tensor<float> neg = Tensor<float>::from({1, 3}, {-1, -2, 0});  // nothing called fake
  const Tensor<float> no_fake = Tensor<float>::zeros({1, 3});
  const I32 mask = I32::ones({1, 3});
  CHECK(train::disc_precision(neg, no_fake, mask) == 0.0);
  CHECK(train::disc_recall(neg, no_fake, mask) == 0.0);
  CHECK(train::roc_auc(neg, no_fake, mask) == 0.0);
  CHECK(train::disc_accuracy(neg, no_fake, I32::zeros({1, 3})) == 0.0);
  test::check_throws_with<shape_error>([&] { train::disc_accuracy(neg, no_fake, I32::ones({3, 1})); },
                                       {"[1,3]", "[3,1]"});
}

TEST_CASE("one step's data: mask, sample, replace and measure compose") {
  const index_t B = 8, L = 32, N = model::max_predictions_per_seq(L), V = 1200;
  I32 ids({B, L}), mask({B, L});
  for (index_t b = 0; b < B; ++b) fill_row(ids, mask, b, L, 12 + 2 * b);
  Rng rng(2024);
  const auto mb = model::mask_tokens(ids, mask, kTok, 0.15, N, rng);
  // A generator that is certain of the right token: its samples equal the targets.
  Tensor<float> gen = Tensor<float>::full({B * N, V}, -50.f);
  for (index_t i = 0; i < B * N; ++i) gen.at(i, index_t(mb.target_ids.flat(i))) = 50.f;
  const I32 sampled = model::gumbel_sample(gen, rng);
  const auto fake = model::replace_with_samples(ids, mb.positions, sampled);
  CHECK(fake.input_ids.to_vector() == ids.to_vector());  // all samples correct: nothing replaced
  for (index_t i = 0; i < B * L; ++i) CHECK(fake.labels.flat(i) == 0.f);
  const auto m = train::pretrain_metrics(gen, sampled, mb.target_ids, mb.weights,
                                         Tensor<float>::full({B, L}, -1.f), fake.labels, mask);
  CHECK(m.mlm_accuracy == 1.0);
  CHECK(m.sampled_accuracy == 1.0);
  CHECK(m.disc_accuracy == 1.0);
  CHECK(m.disc_precision == 0.0);  // nothing predicted fake: 0/0 -> 0
  CHECK(m.disc_auc == 0.0);        // no positives: 0/0 -> 0
  CHECK(train::pretrain_metrics(train::argmax_ids(gen), sampled, mb.target_ids, mb.weights,
                                Tensor<float>::full({B, L}, -1.f), fake.labels, mask)
            .mlm_accuracy == 1.0);
}
