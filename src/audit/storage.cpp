#include "audit/storage.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

namespace arca::audit {

namespace {

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

Error IoError(std::string_view what, const std::string& path, int err) {
  return Error(Code::kUnavailable, std::string(what) + " " + path + ": " + ErrnoText(err));
}

Status FsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open directory", dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return IoError("cannot sync directory", dir, err);
  return OkStatus();
}

Status EnsureDir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      return Error(Code::kInvalidParameter, dir + " exists but is not a directory");
    return OkStatus();
  }
  if (errno != ENOENT) return IoError("cannot access", dir, errno);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(dir), ec);
  if (ec) return Error(Code::kUnavailable, "cannot create " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) return IoError("cannot set the mode of", dir, errno);
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<FileStorage>> FileStorage::Open(FileStorageOptions options,
                                                       bool create_dir) {
  if (options.dir.empty()) return Error(Code::kInvalidParameter, "the audit log needs a directory");
  if (create_dir) ARCA_RETURN_IF_ERROR(EnsureDir(options.dir));
  return std::unique_ptr<FileStorage>(new FileStorage(std::move(options)));
}

FileStorage::~FileStorage() {
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::string FileStorage::PathOf(std::uint64_t index) const {
  return options_.dir + "/" + LogFileName(index);
}

Result<std::vector<std::string>> FileStorage::ListChains() const {
  return std::vector<std::string>{std::string()};
}

Result<std::vector<LogFile>> FileStorage::ListFiles(std::string_view /*chain*/) const {
  ARCA_ASSIGN_OR_RETURN(std::vector<LogFile> files, ListLogFiles(options_.dir));
  for (LogFile& f : files) {
    struct stat st {};
    if (::stat(f.path.c_str(), &st) != 0) return IoError("cannot stat", f.path, errno);
    f.size = static_cast<std::uint64_t>(st.st_size);
  }
  return files;
}

Result<std::string> FileStorage::Read(std::string_view /*chain*/, const LogFile& file,
                                      std::uint64_t offset, std::uint64_t length) const {
  const std::string path = file.path.empty() ? PathOf(file.index) : file.path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open", path, errno);
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_size) > offset) {
    out.reserve(static_cast<std::size_t>(
        std::min<std::uint64_t>(length, static_cast<std::uint64_t>(st.st_size) - offset)));
  }
  char buf[1 << 16];
  while (out.size() < length) {
    const std::uint64_t want = std::min<std::uint64_t>(sizeof(buf), length - out.size());
    const ssize_t n =
        ::pread(fd, buf, static_cast<std::size_t>(want), static_cast<off_t>(offset + out.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return IoError("cannot read", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<SigningKey> FileStorage::LoadOrCreateSigningKey() {
  ARCA_ASSIGN_OR_RETURN(std::vector<LogFile> files, ListFiles(""));
  bool has_records = false;
  for (const LogFile& f : files) has_records = has_records || f.size > 0;
  auto key = SigningKey::LoadOrCreate(options_.key_path, options_.public_key_path, !has_records);
  if (!key.ok() && key.error().code() == Code::kNotFound) {
    return Error(Code::kPreconditionNotMet,
                 "the audit key " + options_.key_path + " is missing but the audit log in " +
                     options_.dir +
                     " has records: restore the key, or move the log aside to start a new one");
  }
  return key;
}

Result<std::optional<PublicKey>> FileStorage::LoadPublicKey() const {
  auto k = PublicKey::FromFile(options_.public_key_path);
  if (k.ok()) return std::optional<PublicKey>(std::move(k).value());
  if (k.error().code() == Code::kNotFound) return std::optional<PublicKey>();
  return std::move(k).error();
}

Status FileStorage::LockWriter(std::string_view /*chain*/) {
  if (lock_fd_ >= 0) return OkStatus();
  // One writer per log: a second server on the same data directory would fork the chain.
  const std::string lock_path = options_.dir + "/LOCK";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return IoError("cannot open", lock_path, errno);
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(lock_fd);
    if (err == EWOULDBLOCK) {
      return Error(Code::kPreconditionNotMet,
                   "the audit log in " + options_.dir + " is in use by another server");
    }
    return IoError("cannot lock", lock_path, err);
  }
  lock_fd_ = lock_fd;  // closed (unlocked) by the destructor
  return OkStatus();
}

Result<int> FileStorage::AppendFd(std::uint64_t index) {
  if (fd_ >= 0 && fd_index_ == index) return fd_;
  const std::string path = PathOf(index);
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot open", path, errno);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  fd_index_ = index;
  return fd;
}

Status FileStorage::Append(const LogFile& file, std::uint64_t /*offset*/, std::string_view data) {
  // O_APPEND: the data lands at the file's end, which the writer keeps at its durable size.
  ARCA_ASSIGN_OR_RETURN(int fd, AppendFd(file.index));
  const std::string path = PathOf(file.index);
  ARCA_RETURN_IF_ERROR(Hook("write"));
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot write to", path, errno);
    }
    done += static_cast<std::size_t>(n);
  }
  ARCA_RETURN_IF_ERROR(Hook("sync"));
  if (::fdatasync(fd) != 0) return IoError("cannot sync", path, errno);
  return OkStatus();
}

Status FileStorage::Truncate(const LogFile& file, std::uint64_t size) {
  const std::string path = PathOf(file.index);
  ARCA_RETURN_IF_ERROR(Hook("sync"));
  // The open append descriptor when there is one: it keeps working while the directory's path
  // does not (the file was moved, the directory replaced).
  int fd = fd_ >= 0 && fd_index_ == file.index ? fd_ : -1;
  const bool own = fd < 0;
  if (own) {
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return IoError("cannot open", path, errno);
  }
  Status s = OkStatus();
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    s = IoError("cannot truncate", path, errno);
  } else if (::fdatasync(fd) != 0) {
    s = IoError("cannot sync", path, errno);
  }
  if (own) ::close(fd);
  return s;
}

Result<LogFile> FileStorage::CreateFile(std::uint64_t index) {
  const std::string path = PathOf(index);
  ARCA_RETURN_IF_ERROR(Hook("create"));
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    const int err = errno;
    Error e = IoError("cannot create", path, err);
    if (err == EEXIST) return Error(Code::kAlreadyExists, e.message());
    return e;
  }
  if (Status s = FsyncDir(options_.dir); !s.ok()) {
    ::close(fd);
    ::unlink(path.c_str());
    return s.error();
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  fd_index_ = index;
  return LogFile{index, LogFileName(index), path, 0};
}

}  // namespace arca::audit
