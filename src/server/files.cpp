#include "server/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace arca::server {

namespace {

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

Error IoError(const std::string& what, const std::string& path, int err) {
  return Error(Code::kUnavailable, what + " " + path + ": " + ErrnoText(err));
}

Status WriteAll(int fd, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error(Code::kUnavailable, ErrnoText(errno));
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return OkStatus();
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

}  // namespace

Status EnsureDataDir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return Error(Code::kInvalidParameter, "data directory " + dir + " exists but is not a directory");
    }
    return OkStatus();
  }
  if (errno != ENOENT) return IoError("cannot access data directory", dir, errno);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(dir), ec);
  if (ec) return Error(Code::kUnavailable, "cannot create data directory " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) return IoError("cannot set the mode of data directory", dir, errno);
  return OkStatus();
}

SecretBytes CredentialsFileText(std::string_view access_key_id, const SecretBytes& secret_access_key) {
  SecretBytes out;
  auto add = [&out](std::string_view s) { out.append(s.data(), s.size()); };
  add("[arca]\naws_access_key_id = ");
  add(access_key_id);
  add("\naws_secret_access_key = ");
  add(secret_access_key.view());
  add("\n");
  return out;
}

Status WriteCredentialsFile(const std::string& path, std::string_view access_key_id,
                            const SecretBytes& secret_access_key) {
  std::filesystem::path p(path);
  std::string dir = p.parent_path().string();
  if (dir.empty()) dir = ".";
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());

  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && errno == EEXIST) {  // left behind by a crash of an earlier process with our pid
    ::unlink(tmp.c_str());
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  }
  if (fd < 0) return IoError("cannot create", tmp, errno);

  auto fail = [&](Error e) -> Status {
    ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  };
  if (::fchmod(fd, 0600) != 0) return fail(IoError("cannot set the mode of", tmp, errno));
  const SecretBytes text = CredentialsFileText(access_key_id, secret_access_key);
  if (auto s = WriteAll(fd, text.data(), text.size()); !s.ok()) {
    return fail(Error(Code::kUnavailable, "cannot write " + tmp + ": " + s.error().message()));
  }
  if (::fsync(fd) != 0) return fail(IoError("cannot sync", tmp, errno));
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return IoError("cannot close", tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return IoError("cannot rename " + tmp + " to", path, err);
  }
  return FsyncDir(dir);
}

}  // namespace arca::server
