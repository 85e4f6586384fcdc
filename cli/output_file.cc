#include "cli/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cli/exit_status.h"

namespace nv::cli {
namespace {

std::string why(const std::string& path) {
  return path + ": " + std::strerror(errno);
}

// Errors that mean the user named a place they cannot write to.
bool user_error(int err) {
  return err == ENOENT || err == ENOTDIR || err == EISDIR || err == EACCES || err == EPERM ||
         err == EROFS || err == ENAMETOOLONG || err == ELOOP;
}

}  // namespace

std::optional<OutputFile> OutputFile::create(const std::string& path, std::string* error,
                                             int* status) {
  *status = kExitUsage;
  struct stat st;
  if (path.empty()) {
    *error = "empty output path";
    return std::nullopt;
  }
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    *error = path + ": is a directory (expected a file name)";
    return std::nullopt;
  }
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      if (!user_error(errno)) *status = kExitEnvironment;
      *error = why(path);
      return std::nullopt;
    }
    return OutputFile(path, "", fd);
  }
  const std::filesystem::path p(path);
  const std::filesystem::path dir = p.parent_path().empty() ? "." : p.parent_path();
  std::string tmp = (dir / ("." + p.filename().string() + ".tmp.XXXXXX")).string();
  const int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) {
    if (!user_error(errno)) *status = kExitEnvironment;
    *error = path + ": cannot create a file in " + dir.string() + ": " + std::strerror(errno);
    return std::nullopt;
  }
  // mkostemp makes it 0600; give it the mode a plain open() would.
  const mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  return OutputFile(path, tmp, fd);
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : path_(std::move(other.path_)), tmp_(std::move(other.tmp_)), fd_(other.fd_) {
  other.fd_ = -1;
  other.tmp_.clear();
}

OutputFile& OutputFile::operator=(OutputFile&& other) noexcept {
  if (this != &other) {
    discard();
    path_ = std::move(other.path_);
    tmp_ = std::move(other.tmp_);
    fd_ = other.fd_;
    other.fd_ = -1;
    other.tmp_.clear();
  }
  return *this;
}

OutputFile::~OutputFile() {
  discard();
}

void OutputFile::discard() {
  if (fd_ >= 0) close(fd_);
  if (!tmp_.empty()) unlink(tmp_.c_str());
  fd_ = -1;
  tmp_.clear();
}

bool OutputFile::write(std::string_view data, std::string* error) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      *error = "writing " + why(path_);
      return false;
    }
    data.remove_prefix(size_t(n));
  }
  return true;
}

bool OutputFile::commit(std::string* error) {
  // A device or a pipe may not support fsync (EINVAL): nothing to make
  // durable there.
  if (fsync(fd_) != 0 && !(tmp_.empty() && (errno == EINVAL || errno == EROFS))) {
    *error = "writing " + why(path_);
    return false;
  }
  const int fd = fd_;
  fd_ = -1;
  if (close(fd) != 0) {
    *error = "writing " + why(path_);
    return false;
  }
  if (tmp_.empty()) return true;
  if (rename(tmp_.c_str(), path_.c_str()) != 0) {
    *error = "renaming " + tmp_ + " to " + why(path_);
    return false;
  }
  tmp_.clear();
  const std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  const int dfd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return true;
}

int write_file_atomically(const std::string& path, std::string_view data, std::string* error) {
  int status = kExitOk;
  auto out = OutputFile::create(path, error, &status);
  if (!out) return status;
  return out->write(data, error) && out->commit(error) ? kExitOk : kExitEnvironment;
}

std::optional<std::string> stdout_error() {
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    return std::string("writing standard output: ") +
           (errno ? std::strerror(errno) : "a write failed");
  return std::nullopt;
}

}  // namespace nv::cli
