// write_file_atomically: replace a file so that readers (and a crash) see either the old
// contents or the complete new contents, never a prefix. A checkpoint that is half
// written when the machine dies must not destroy the previous good one.
//
// Recipe (POSIX): create a uniquely named temporary file in the target's directory (the
// same file system, so rename() is atomic), write, fflush, fsync, rename over the target,
// then fsync the directory so the rename itself is durable. On any failure the temporary
// file is removed and io_error names the path and the errno text. The new file gets the
// default mode (0666 & ~umask); the old file's mode is not carried over.
#pragma once
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>

#include "../core/error.hpp"

namespace electra::io {

// Receives the file's bytes in order; may be called any number of times.
using ByteSink = std::function<void(const void* data, std::size_t size)>;

namespace detail {

inline std::string errno_text(int err) { return std::generic_category().message(err); }

// Removes the temporary file unless the rename succeeded.
class TempFile {
 public:
  explicit TempFile(const std::filesystem::path& target) {
    const std::filesystem::path dir = target.parent_path().empty() ? "." : target.parent_path();
    static std::atomic<unsigned> counter{0};
    for (int attempt = 0; attempt < 100; ++attempt) {
      path_ = dir / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                     std::to_string(counter++));
      // O_EXCL: never reuse (or follow a symlink planted at) an existing name.
      const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd >= 0) {
        file_ = ::fdopen(fd, "wb");
        if (!file_) {
          const int err = errno;
          ::close(fd);
          remove();
          fail(target, "cannot open temporary file", err);
        }
        return;
      }
      const int err = errno;
      if (err != EEXIST) fail(target, "cannot create temporary file '" + path_.string() + "'", err);
    }
    fail(target, "cannot find an unused temporary file name", EEXIST);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (file_) std::fclose(file_);
    if (!committed_) remove();
  }

  std::FILE* file() const { return file_; }
  const std::filesystem::path& path() const { return path_; }

  // Flushes, syncs and closes; the file must not be written after this.
  int close_synced() {
    int err = 0;
    if (std::fflush(file_) != 0) err = errno;
    if (!err && ::fsync(::fileno(file_)) != 0) err = errno;
    // fclose errors (e.g. a delayed write failure on NFS) count too.
    if (std::fclose(file_) != 0 && !err) err = errno;
    file_ = nullptr;
    return err;
  }
  void commit() { committed_ = true; }

  [[noreturn]] static void fail(const std::filesystem::path& target, const std::string& what, int err) {
    throw io_error(::electra::detail::concat("cannot write '", target.string(), "': ", what, ": ",
                                             errno_text(err)));
  }

 private:
  void remove() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

inline void fsync_directory(const std::filesystem::path& target) {
  const std::filesystem::path dir = target.parent_path().empty() ? "." : target.parent_path();
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    TempFile::fail(target, "cannot open its directory to sync it", err);
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems cannot sync a directory at all (EINVAL); the rename still happened.
  if (rc != 0 && err != EINVAL && err != ENOTSUP)
    TempFile::fail(target, "cannot sync its directory", err);
}

}  // namespace detail

// Calls writer(sink) to produce the contents; an exception from writer aborts the write,
// leaves the target untouched and propagates unchanged.
inline void write_file_atomically(const std::filesystem::path& path,
                                  const std::function<void(const ByteSink& sink)>& writer) {
  ELECTRA_CHECK(!path.filename().empty(), io_error, "cannot write '", path.string(), "': not a file name");
  detail::TempFile tmp(path);
  const ByteSink sink = [&](const void* data, std::size_t size) {
    if (size && std::fwrite(data, 1, size, tmp.file()) != size) {
      const int err = errno;
      detail::TempFile::fail(path, "write to '" + tmp.path().string() + "' failed", err);
    }
  };
  writer(sink);
  if (const int err = tmp.close_synced())
    detail::TempFile::fail(path, "flushing '" + tmp.path().string() + "' failed", err);
  if (::rename(tmp.path().c_str(), path.c_str()) != 0) {
    const int err = errno;
    detail::TempFile::fail(path, "cannot rename '" + tmp.path().string() + "' over it", err);
  }
  tmp.commit();
  detail::fsync_directory(path);
}

inline void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  write_file_atomically(path, [&](const ByteSink& sink) { sink(bytes.data(), bytes.size()); });
}

}  // namespace electra::io
