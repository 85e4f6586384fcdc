// Writing what a command produces so that it is never lost silently.
//
// OutputFile writes a file atomically: the bytes go to a temporary file in
// the destination's directory, which is fsynced and renamed over the
// destination only once all of them were written, so a reader never sees a
// half-written file and a failed write leaves any earlier file in place. A
// destination that exists and is not a regular file (/dev/null, /dev/stdout,
// a FIFO) cannot be replaced and is written in place, with every write
// checked all the same.
//
// stdout_error() is the same check for standard output, made before a
// command's exit (main.cc) and where a command must know it wrote its
// result (minimize).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nv::cli {

class OutputFile {
 public:
  // Creates the temporary file now, so that a command learns before it
  // works that it cannot write its result. On failure sets *error ("PATH:
  // why") and *status: kExitUsage for a place the user cannot write to (no
  // such directory, no permission, a read-only file system), else
  // kExitEnvironment.
  static std::optional<OutputFile> create(const std::string& path, std::string* error, int* status);
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&& other) noexcept;
  ~OutputFile();  // removes the temporary file unless committed

  const std::string& path() const { return path_; }
  // Where the bytes go, for writers that open a path themselves (libpcap).
  const std::string& write_path() const { return tmp_.empty() ? path_ : tmp_; }

  bool write(std::string_view data, std::string* error);
  // fsync, rename over the destination, fsync the directory.
  bool commit(std::string* error);

 private:
  OutputFile(std::string path, std::string tmp, int fd) : path_(path), tmp_(tmp), fd_(fd) {}
  void discard();  // closes, and removes the temporary file

  std::string path_;
  std::string tmp_;  // empty: writing to path_ in place
  int fd_ = -1;
};

// create, write, commit; the status as OutputFile::create's, kExitOk, or
// kExitEnvironment for a failed write.
int write_file_atomically(const std::string& path, std::string_view data, std::string* error);

// Flushes standard output; why anything written to it was lost (a full
// device, a closed pipe), or std::nullopt.
std::optional<std::string> stdout_error();

}  // namespace nv::cli
