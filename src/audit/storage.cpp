#include "audit/storage.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "core/log.h"

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

// The byte at `at`, or an error.
Result<char> ByteAt(int fd, std::uint64_t at, const std::string& path) {
  char c = 0;
  while (true) {
    const ssize_t n = ::pread(fd, &c, 1, static_cast<off_t>(at));
    if (n == 1) return c;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot read", path, errno);
    return '\0';  // shrank meanwhile: past the end reads as padding
  }
}

// A log file opened for reading: its size on disk, and whether it ends in NUL padding (it was
// pre-filled; a file that was appended to ends with its records).
struct ReadableFile {
  ReadableFile() = default;
  ReadableFile(const ReadableFile&) = delete;
  ReadableFile& operator=(const ReadableFile&) = delete;
  ~ReadableFile() {
    if (fd >= 0) ::close(fd);
  }
  int fd = -1;
  std::uint64_t bytes = 0;
  bool padded = false;
};

Status OpenReadable(const std::string& path, ReadableFile& f) {
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return IoError("cannot open", path, errno);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return IoError("cannot stat", path, errno);
  f.bytes = static_cast<std::uint64_t>(st.st_size);
  if (f.bytes > 0) {
    ARCA_ASSIGN_OR_RETURN(char last, ByteAt(f.fd, f.bytes - 1, path));
    f.padded = last == '\0';
  }
  return OkStatus();
}

// The size of a file's records: its bytes before the NUL padding of a pre-filled file. Records
// are a prefix without NUL and padding is all NUL, so a binary search finds the boundary. (In the
// tail of a crashed write the boundary found is one of several; Log::Open deals with that one.)
Result<std::uint64_t> ContentSize(const ReadableFile& f, const std::string& path) {
  if (!f.padded) return f.bytes;
  const int fd = f.fd;
  std::uint64_t lo = 0;            // bytes before lo are records
  std::uint64_t hi = f.bytes - 1;  // the byte at hi is NUL
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    ARCA_ASSIGN_OR_RETURN(char c, ByteAt(fd, mid, path));
    if (c == '\0') {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

Status WriteAll(int fd, std::string_view data, std::uint64_t offset, const std::string& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot write to", path, errno);
    }
    done += static_cast<std::size_t>(n);
  }
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
  StopSpare();
  if (lock_fd_ >= 0) ::unlink(SparePath().c_str());
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
    ReadableFile file;
    ARCA_RETURN_IF_ERROR(OpenReadable(f.path, file));
    ARCA_ASSIGN_OR_RETURN(f.size, ContentSize(file, f.path));
  }
  return files;
}

Result<std::string> FileStorage::ReadAll(std::string_view chain, const LogFile& file) const {
  ARCA_ASSIGN_OR_RETURN(std::string all,
                        Read(chain, file, 0, std::numeric_limits<std::uint64_t>::max()));
  // The padding goes; a NUL inside the records (a torn write, or an edit) stays for the verifier.
  const std::size_t end = all.find_last_not_of('\0');
  all.resize(end == std::string::npos ? 0 : end + 1);
  return all;
}

Result<std::optional<std::uint64_t>> FileStorage::FindNul(const LogFile& file) const {
  const std::string path = file.path.empty() ? PathOf(file.index) : file.path;
  ReadableFile f;
  ARCA_RETURN_IF_ERROR(OpenReadable(path, f));
  // Not pre-filled: the file was appended to, and a crash leaves a short tail, never a hole.
  if (!f.padded) return std::optional<std::uint64_t>();
  std::string block(std::size_t{1} << 20, '\0');
  for (std::uint64_t at = 0; at < f.bytes;) {
    const ssize_t n = ::pread(f.fd, block.data(), block.size(), static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot read", path, errno);
    if (n == 0) break;
    const void* nul = std::memchr(block.data(), '\0', static_cast<std::size_t>(n));
    if (nul != nullptr) {
      return std::optional<std::uint64_t>(at + static_cast<std::uint64_t>(
                                                   static_cast<const char*>(nul) - block.data()));
    }
    at += static_cast<std::uint64_t>(n);
  }
  return std::optional<std::uint64_t>();
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
  ::unlink(SparePath().c_str());  // a previous writer's, maybe half made
  return OkStatus();
}

Result<int> FileStorage::WriteFd(std::uint64_t index) {
  if (fd_ >= 0 && fd_index_ == index) return fd_;
  const std::string path = PathOf(index);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot open", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return IoError("cannot stat", path, err);
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  fd_index_ = index;
  fd_bytes_ = static_cast<std::uint64_t>(st.st_size);
  fd_end_ = 0;
  return fd;
}

Status FileStorage::Append(const LogFile& file, std::uint64_t offset, std::string_view data) {
  // At `offset`, the records' end: over the padding of a pre-filled file, else at the file's end.
  ARCA_ASSIGN_OR_RETURN(int fd, WriteFd(file.index));
  const std::string path = PathOf(file.index);
  ARCA_RETURN_IF_ERROR(Hook("write"));
  ARCA_RETURN_IF_ERROR(WriteAll(fd, data, offset, path));
  fd_end_ = offset + data.size();
  fd_bytes_ = std::max(fd_bytes_, fd_end_);
  ARCA_RETURN_IF_ERROR(Hook("sync"));
  if (::fdatasync(fd) != 0) return IoError("cannot sync", path, errno);
  MaybeStartSpare(fd_end_);
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
  if (own) {
    ::close(fd);
  } else if (s.ok()) {
    fd_bytes_ = size;
    fd_end_ = size;
  }
  return s;
}

Status FileStorage::Close(const LogFile& file, std::uint64_t size) {
  const std::string path = PathOf(file.index);
  std::uint64_t bytes = 0;
  if (fd_ >= 0 && fd_index_ == file.index) {
    bytes = fd_bytes_;
  } else {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return IoError("cannot stat", path, errno);
    bytes = static_cast<std::uint64_t>(st.st_size);
  }
  if (bytes <= size) return OkStatus();  // no padding
  return Truncate(file, size);
}

Result<LogFile> FileStorage::CreateFile(std::uint64_t index) {
  const std::string path = PathOf(index);
  ARCA_RETURN_IF_ERROR(Hook("create"));
  if (spare_ready_.load(std::memory_order_acquire)) {
    // The pre-filled spare becomes the file: a new name for it (link fails if the file exists).
    if (::link(SparePath().c_str(), path.c_str()) == 0) {
      ::unlink(SparePath().c_str());
      spare_ready_.store(false, std::memory_order_release);
      ARCA_RETURN_IF_ERROR(FsyncDir(options_.dir));
      if (auto fd = WriteFd(index); !fd.ok()) return std::move(fd).error();
      return LogFile{index, LogFileName(index), path, 0};
    }
    if (errno == EEXIST) return Error(Code::kAlreadyExists, "cannot create " + path + ": it exists");
    log::Warn("audit log: cannot use the pre-filled file",
              {{"file", SparePath()}, {"error", ErrnoText(errno)}});
    ::unlink(SparePath().c_str());
    spare_ready_.store(false, std::memory_order_release);
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_CREAT | O_EXCL, 0600);
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
  fd_bytes_ = 0;
  fd_end_ = 0;
  return LogFile{index, LogFileName(index), path, 0};
}

// ---- pre-filled files -----------------------------------------------------------------------

void FileStorage::SetPrefill(std::uint64_t file_bytes, std::uint64_t after_bytes) {
  prefill_bytes_ = file_bytes;
  prefill_after_ = after_bytes;
}

bool FileStorage::PrefersNewFile() const {
  return spare_ready_.load(std::memory_order_acquire) && fd_ >= 0 && fd_bytes_ <= fd_end_;
}

void FileStorage::MaybeStartSpare(std::uint64_t end) {
  if (prefill_bytes_ == 0 || prefill_after_ == 0 || lock_fd_ < 0) return;
  if (spare_ready_.load(std::memory_order_acquire) || spare_busy_.load(std::memory_order_acquire))
    return;
  // Sustained load: a file that is not pre-filled has grown past the threshold, or a pre-filled
  // one is half used (the next one must be ready before it is full).
  const bool padded = fd_bytes_ > end;
  if (padded ? end < fd_bytes_ / 2 : end < prefill_after_) return;
  const auto now = std::chrono::steady_clock::now();
  if (spare_failed_at_.time_since_epoch().count() != 0 &&
      now - spare_failed_at_ < std::chrono::minutes(1))
    return;  // the disk is full, say: appending works, and the warning is not repeated per batch
  if (spare_thread_.joinable()) spare_thread_.join();  // finished: spare_busy_ is false
  spare_busy_.store(true, std::memory_order_release);
  spare_thread_ = std::thread([this] { MakeSpare(); });
}

void FileStorage::MakeSpare() {
  ::pthread_setname_np(::pthread_self(), "arca-audit-fill");
  const std::string path = SparePath();
  Status s = OkStatus();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    s = IoError("cannot create", path, errno);
  } else {
    static const std::array<char, std::size_t{1} << 20> kZeros{};
    // Gently: the writer's fdatasyncs share the disk, and each waits for whatever else is in
    // flight. A synced MiB at a time, with a pause, keeps that little (measured: p99 of audited
    // requests 5-6 ms while filling, against 9-11 ms with 4 MiB per sync and no pause; 64 MiB
    // take about 0.6 s, far less than the time to fill half a file under load).
    constexpr auto kPause = std::chrono::milliseconds(5);
    std::uint64_t at = 0;
    while (s.ok() && at < prefill_bytes_ && !spare_stop_.load(std::memory_order_acquire)) {
      const std::uint64_t n = std::min<std::uint64_t>(kZeros.size(), prefill_bytes_ - at);
      s = WriteAll(fd, std::string_view(kZeros.data(), n), at, path);
      at += n;
      if (s.ok() && ::fdatasync(fd) != 0) s = IoError("cannot sync", path, errno);
      if (s.ok() && at < prefill_bytes_) std::this_thread::sleep_for(kPause);
    }
    ::close(fd);
    if (s.ok() && at < prefill_bytes_) s = Error(Code::kUnavailable, "stopped");
  }
  if (s.ok()) {
    spare_ready_.store(true, std::memory_order_release);
  } else {
    ::unlink(path.c_str());
    spare_failed_at_ = std::chrono::steady_clock::now();
    if (!spare_stop_.load())
      log::Warn("audit log: cannot pre-fill the next file; it will be appended to",
                {{"error", s.error().ToLogString()}});
  }
  spare_busy_.store(false, std::memory_order_release);
}

void FileStorage::StopSpare() {
  spare_stop_.store(true, std::memory_order_release);
  if (spare_thread_.joinable()) spare_thread_.join();
}

}  // namespace arca::audit
