// A small command-line parser for the electra program: `--name value` and `--flag` options
// plus positional arguments, with errors that name the option and say what was expected.
#pragma once
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace cli {

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // `flags`: options that take no value; every other `--x` takes the next argument.
  Args(int argc, char** argv, int first, std::set<std::string> flags, std::set<std::string> options)
      : flags_(std::move(flags)), known_(std::move(options)) {
    for (int i = first; i < argc; ++i) {
      const std::string a = argv[i];
      if (a.rfind("--", 0) != 0 || a == "--") {
        positional_.push_back(a);
        continue;
      }
      const std::string name = a.substr(2);
      if (flags_.count(name)) {
        values_[name].push_back("1");
      } else if (known_.count(name)) {
        if (i + 1 >= argc) throw usage_error("option --" + name + " needs a value");
        values_[name].push_back(argv[++i]);
      } else {
        throw usage_error("unknown option --" + name);
      }
    }
  }

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  bool flag(const std::string& name) const { return has(name); }
  // The last value given for an option.
  std::string get(const std::string& name, const std::string& fallback = "") const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second.back();
  }
  // Every value of an option given several times (--input a --input b).
  std::vector<std::string> all(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }
  std::string required(const std::string& name) const {
    if (!has(name)) throw usage_error("missing required option --" + name);
    return get(name);
  }
  long long integer(const std::string& name, long long fallback) const {
    if (!has(name)) return fallback;
    const std::string v = get(name);
    char* end = nullptr;
    const long long x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end) throw usage_error("option --" + name + " expects an integer, got '" + v + "'");
    return x;
  }
  double number(const std::string& name, double fallback) const {
    if (!has(name)) return fallback;
    const std::string v = get(name);
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end) throw usage_error("option --" + name + " expects a number, got '" + v + "'");
    return x;
  }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::set<std::string> flags_, known_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

}  // namespace cli
