// A WordPiece vocabulary: one token per line, the id is the 0-based line number (BERT's
// vocab.txt format). Loading checks for empty lines and duplicates, naming file and line.
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "../core/error.hpp"

namespace electra::text {

class Vocab {
 public:
  static Vocab load(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    ELECTRA_CHECK(in, io_error, "cannot open vocabulary file '", path.string(), "'");
    Vocab v;
    std::string line;
    for (std::size_t lineno = 1; std::getline(in, line); ++lineno) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      ELECTRA_CHECK(!line.empty(), io_error, path.string(), ":", lineno, ": empty token");
      ELECTRA_CHECK(v.ids_.emplace(line, std::int32_t(v.tokens_.size())).second, io_error, path.string(), ":",
                    lineno, ": duplicate token '", line, "'");
      v.tokens_.push_back(line);
    }
    ELECTRA_CHECK(!v.tokens_.empty(), io_error, "vocabulary file '", path.string(), "' is empty");
    v.source_ = path.string();
    return v;
  }

  // A vocabulary from tokens in id order (tests, generated vocabs); `source` names it in errors.
  static Vocab from_tokens(std::vector<std::string> tokens, std::string source = "<memory>") {
    Vocab v;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      ELECTRA_CHECK(!tokens[i].empty(), value_error, source, ": token ", i, " is empty");
      ELECTRA_CHECK(v.ids_.emplace(tokens[i], std::int32_t(i)).second, value_error, source, ": duplicate token '",
                    tokens[i], "'");
    }
    ELECTRA_CHECK(!tokens.empty(), value_error, "vocabulary '", source, "' is empty");
    v.tokens_ = std::move(tokens);
    v.source_ = std::move(source);
    return v;
  }

  std::size_t size() const { return tokens_.size(); }
  // The file it was loaded from (or the name given to from_tokens), for error messages.
  const std::string& source() const { return source_; }
  bool contains(const std::string& token) const { return ids_.count(token) > 0; }
  // The id of a token that must exist (special tokens): a clear error otherwise.
  std::int32_t id(const std::string& token) const {
    const auto it = ids_.find(token);
    ELECTRA_CHECK(it != ids_.end(), value_error, "vocabulary '", source_, "' has no token '", token, "'");
    return it->second;
  }
  // The id, or -1.
  std::int32_t find(const std::string& token) const {
    const auto it = ids_.find(token);
    return it == ids_.end() ? -1 : it->second;
  }
  const std::string& token(std::int32_t id) const {
    ELECTRA_CHECK(id >= 0 && std::size_t(id) < tokens_.size(), index_error, "token id ", id,
                  " is outside the vocabulary of ", tokens_.size());
    return tokens_[std::size_t(id)];
  }

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, std::int32_t> ids_;
  std::string source_;
};

}  // namespace electra::text
