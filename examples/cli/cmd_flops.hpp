// `electra flops`: FLOPs counts with the official method (include/electra/train/flops.hpp).
//   electra flops                         the paper's table, exactly as flops_computation.py prints it
//   electra flops --model NAME            one row of that table
//   electra flops --config small --batch 128 --steps 1000000 [--seq-len 128]
//                                         ELECTRA pretraining FLOPs for a compiled config
#pragma once
#include <cstdio>
#include <electra/model/config.hpp>
#include <electra/train/flops.hpp>

#include "args.hpp"
#include "configs.hpp"

namespace cli {

inline const char* kFlopsUsage =
    "usage: electra flops [--model NAME | --config tiny|mini|small|base|large --batch B --steps S [--seq-len T]]\n";

inline int cmd_flops(const Args& args) {
  using namespace electra;
  if (args.has("model")) {
    const std::string name = args.get("model");
    for (const auto& m : flops::named_models())
      if (m.name == name) {
        std::printf("%s %s\n", m.name.c_str(), flops::format_python_float(m.train_flops).c_str());
        return 0;
      }
    std::string known;
    for (const auto& m : flops::named_models()) known += " " + m.name;
    throw usage_error("unknown model '" + name + "'; known:" + known);
  }
  if (args.has("config")) {
    const model::ElectraDims d = electra_dims_by_name(args.get("config"));
    const long long batch = args.integer("batch", 128), steps = args.integer("steps", 1000000),
                    seq = args.integer("seq-len", 128);
    if (batch < 1 || steps < 1 || seq < 1) throw usage_error("--batch, --steps and --seq-len must be >= 1");
    const auto& D = d.discriminator;
    const auto& G = d.generator;
    const double train = flops::get_electra_train_flops(D.hidden, D.layers, G.hidden, G.layers, double(batch),
                                                        double(steps), true, D.embed, seq);
    const double per_step = flops::get_electra_train_flops(D.hidden, D.layers, G.hidden, G.layers, double(batch),
                                                           1.0, true, D.embed, seq);
    const double infer =
        flops::TransformerHparams(D.hidden, D.layers, {.s = seq, .v = D.vocab, .e = D.embed, .i = D.ffn, .heads = D.heads})
            .get_infer_flops();
    std::printf("config %s: discriminator %s; generator hidden %lld\n", args.get("config").c_str(),
                D.to_string().c_str(), static_cast<long long>(G.hidden));
    std::printf("pretraining, batch %lld x %lld tokens, %lld steps: %s FLOPs (%s per step)\n", batch, seq, steps,
                flops::format_python_float(train).c_str(), flops::format_python_float(per_step).c_str());
    std::printf("inference, one sequence of %lld tokens: %s FLOPs\n", seq, flops::format_python_float(infer).c_str());
    return 0;
  }
  if (!args.positional().empty()) throw usage_error(kFlopsUsage);
  std::fputs(flops::model_flops_report().c_str(), stdout);
  return 0;
}

}  // namespace cli
