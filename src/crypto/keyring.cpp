#include "crypto/keyring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "core/strings.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace arca::crypto {
namespace {

using KeyMap = std::map<std::uint32_t, std::shared_ptr<const SecretBytes>>;

constexpr std::string_view kMagic = "arca-master-key";
constexpr std::string_view kFormatVersion = "v1";
constexpr std::string_view kDataKeyAadPrefix = "arca-dk:";
constexpr std::string_view kCheckAadPrefix = "arca-master-key-check:";
constexpr std::string_view kCheckText = "arca master key check value v1";
constexpr std::string_view kNewFileHeader =
    "# Arca master key. Keep this file secret (mode 0600) and backed up: without it no stored "
    "secret\n"
    "# can be decrypted. One version per line; the highest version is current.\n";
constexpr std::size_t kMaxKeyFileSize = 1 << 20;

// Splits on runs of whitespace.
std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsAsciiSpace(s[i])) ++i;
    std::size_t start = i;
    while (i < s.size() && !IsAsciiSpace(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::string DataKeyAad(std::string_view aad) {
  std::string out(kDataKeyAadPrefix);
  out.append(aad);
  return out;
}

std::string CheckAad(std::uint32_t version) {
  return std::string(kCheckAadPrefix) + std::to_string(version);
}

Error EntryError(std::string_view source, std::size_t line, std::string_view what) {
  // Never echo the line itself: it may hold key material.
  return Error(Code::kInvalidParameter,
               std::string(source) + ", line " + std::to_string(line) + ": " + std::string(what));
}

// Parses one "arca-master-key v1 <version> <base64>" entry into `keys`.
Status ParseEntry(std::string_view entry, std::string_view source, std::size_t line, KeyMap& keys) {
  std::vector<std::string_view> f = Fields(entry);
  if (f.size() != 4 || f[0] != kMagic) {
    return EntryError(source, line,
                      "expected \"arca-master-key v1 <version> <base64 of 32 bytes>\"");
  }
  if (f[1] != kFormatVersion) {
    return EntryError(
        source, line,
        "unsupported master key format \"" + std::string(f[1]) + "\" (this build reads v1)");
  }
  std::uint32_t version = 0;
  const char* begin = f[2].data();
  const char* end = f[2].data() + f[2].size();
  auto [ptr, ec] = std::from_chars(begin, end, version);
  if (ec != std::errc() || ptr != end || version == 0 || f[2].front() == '+') {
    return EntryError(source, line, "the key version must be a whole number from 1 to 4294967295");
  }
  std::optional<SecretBytes> key = Base64DecodeSecret(f[3]);
  if (!key || key->size() != kAeadKeySize) {
    return EntryError(source, line, "the key must be standard base64 of exactly 32 bytes");
  }
  if (keys.count(version) != 0) {
    return EntryError(source, line, "key version " + std::to_string(version) + " appears twice");
  }
  keys.emplace(version, std::make_shared<const SecretBytes>(std::move(*key)));
  return OkStatus();
}

// Lines are separated by '\n' (and, for ARCA_MASTER_KEY's sake, entries within a line by ';').
// Blank lines and lines starting with '#' are ignored.
Result<KeyMap> ParseKeyText(std::string_view text, std::string_view source) {
  KeyMap keys;
  std::size_t line_no = 0;
  while (!text.empty() || line_no == 0) {
    ++line_no;
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    line = TrimSpace(line);
    if (line.empty() || line.front() == '#') continue;
    while (!line.empty()) {
      std::size_t semi = line.find(';');
      std::string_view entry = TrimSpace(line.substr(0, semi));
      line = semi == std::string_view::npos ? std::string_view() : line.substr(semi + 1);
      if (entry.empty()) continue;
      if (entry.front() == '#') break;  // the rest of the line is a comment
      ARCA_RETURN_IF_ERROR(ParseEntry(entry, source, line_no, keys));
    }
  }
  if (keys.empty()) {
    return Error(
        Code::kInvalidParameter,
        std::string(source) +
            ": no master key found (expected lines \"arca-master-key v1 <version> <base64>\")");
  }
  return keys;
}

std::string ErrnoText(int err) { return std::strerror(err); }

// Owns a file descriptor. Thread-safety: none (one owner).
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  int get() const { return fd_; }
  int Close() {
    int rc = 0;
    if (fd_ >= 0) rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// Reads a key file into wiped-on-destruction memory. Refuses files readable or writable by group or
// others. On open failure sets *open_errno (so the caller can tell "absent" from other errors).
Result<SecretBytes> ReadKeyFile(const std::string& path, int* open_errno) {
  *open_errno = 0;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    *open_errno = errno;
    return Error(Code::kPreconditionNotMet, "cannot open the master key file " + path,
                 ErrnoText(*open_errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return Error(Code::kUnavailable, "cannot stat the master key file " + path, ErrnoText(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Error(Code::kPreconditionNotMet,
                 "the master key file " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Error(Code::kPreconditionNotMet,
                 "the master key file " + path + " has mode " + mode +
                     ", which lets group or others access it; run `chmod 600 " + path +
                     "` and make sure only the server's user owns it");
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxKeyFileSize) {
    return Error(Code::kPreconditionNotMet, "the master key file " + path + " is too large");
  }
  SecretBytes content;
  unsigned char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      SecureWipe(buf, sizeof(buf));
      return Error(Code::kUnavailable, "cannot read the master key file " + path, ErrnoText(err));
    }
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > kMaxKeyFileSize) {
      SecureWipe(buf, sizeof(buf));
      return Error(Code::kPreconditionNotMet, "the master key file " + path + " is too large");
    }
  }
  SecureWipe(buf, sizeof(buf));
  return content;
}

Result<KeyMap> LoadKeyFile(const std::string& path) {
  int open_errno = 0;
  ARCA_ASSIGN_OR_RETURN(SecretBytes content, ReadKeyFile(path, &open_errno));
  return ParseKeyText(content.view(), "master key file " + path);
}

std::string DirName(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status FsyncDir(const std::string& path) {
  Fd dir(::open(DirName(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::fsync(dir.get()) != 0) {
    return Error(Code::kUnavailable, "cannot sync the directory of " + path, ErrnoText(errno));
  }
  return OkStatus();
}

// Writes `content` to a new file beside `path` (mode 0600, O_EXCL, fsync) and returns its name.
Result<std::string> WriteTempFile(const std::string& path, const SecretBytes& content) {
  std::string tmp = path + ".tmp-" + HexEncode(RandomSecret(8).view());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    return Error(Code::kUnavailable, "cannot create " + tmp, ErrnoText(errno));
  }
  auto fail = [&](std::string_view what) -> Error {
    int err = errno;
    ::unlink(tmp.c_str());
    return Error(Code::kUnavailable, std::string(what) + " " + tmp, ErrnoText(err));
  };
  if (::fchmod(fd.get(), 0600) != 0) return fail("cannot chmod");
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("cannot sync");
  if (fd.Close() != 0) return fail("cannot close");
  return tmp;
}

// "arca-master-key v1 <version> <base64>\n" with a fresh random key.
SecretBytes NewKeyLine(std::uint32_t version) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  std::string b64 = Base64Encode(key.view());
  std::string prefix =
      std::string(kMagic) + " " + std::string(kFormatVersion) + " " + std::to_string(version) + " ";
  SecretBytes line;
  line.append(prefix.data(), prefix.size());
  line.append(b64.data(), b64.size());
  line.append("\n", 1);
  SecureWipe(b64);
  return line;
}

// Creates the key file with version 1 unless it already exists (then leaves it alone). The file
// appears whole or not at all: it is written under a temporary name and hard-linked into place,
// which fails rather than overwrite a file another process created meanwhile.
Status CreateKeyFile(const std::string& path) {
  SecretBytes content;
  content.append(kNewFileHeader.data(), kNewFileHeader.size());
  SecretBytes line = NewKeyLine(1);
  content.append(line.data(), line.size());
  ARCA_ASSIGN_OR_RETURN(std::string tmp, WriteTempFile(path, content));
  int rc = ::link(tmp.c_str(), path.c_str());
  int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && err != EEXIST) {
    return Error(Code::kUnavailable, "cannot create the master key file " + path, ErrnoText(err));
  }
  return FsyncDir(path);
}

std::shared_ptr<const SecretBytes> FindKey(std::mutex& mu, const KeyMap& keys,
                                           std::uint32_t version) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = keys.find(version);
  return it == keys.end() ? nullptr : it->second;
}

Error UnknownVersionError(std::uint32_t version, const Status& reload) {
  return Error(Code::kDecryptionFailure,
               "master key version " + std::to_string(version) +
                   " is not in the keyring; load the key file that holds it",
               reload.ok() ? std::string() : reload.error().ToLogString());
}

Error CheckMismatchError(std::uint32_t version) {
  return Error(Code::kPreconditionNotMet,
               "the master key does not match this data directory (key version " +
                   std::to_string(version) + ")");
}

}  // namespace

Result<std::unique_ptr<Keyring>> Keyring::FromText(std::string_view text) {
  ARCA_ASSIGN_OR_RETURN(KeyMap keys, ParseKeyText(text, "master key text"));
  std::unique_ptr<Keyring> ring(new Keyring());
  ring->keys_ = std::move(keys);
  return ring;
}

Result<std::unique_ptr<Keyring>> Keyring::FromFile(const std::string& path,
                                                   bool create_if_missing) {
  int open_errno = 0;
  Result<SecretBytes> content = ReadKeyFile(path, &open_errno);
  if (!content.ok() && open_errno == ENOENT && create_if_missing) {
    ARCA_RETURN_IF_ERROR(CreateKeyFile(path));
    content = ReadKeyFile(path, &open_errno);
  }
  if (!content.ok()) {
    return std::move(content).error();
  }
  ARCA_ASSIGN_OR_RETURN(KeyMap keys, ParseKeyText(content->view(), "master key file " + path));
  std::unique_ptr<Keyring> ring(new Keyring());
  ring->keys_ = std::move(keys);
  ring->path_ = path;
  ring->stamp_ = StampOf(path);
  return ring;
}

std::unique_ptr<Keyring> Keyring::ForTest(std::uint32_t version, SecretBytes key) {
  std::unique_ptr<Keyring> ring(new Keyring());
  ring->keys_.emplace(version, std::make_shared<const SecretBytes>(std::move(key)));
  return ring;
}

std::uint32_t Keyring::current_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_.empty() ? 0 : keys_.rbegin()->first;
}

bool Keyring::HasVersion(std::uint32_t version) const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_.count(version) != 0;
}

Keyring::FileStamp Keyring::StampOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<unsigned long long>(st.st_ino), static_cast<unsigned long long>(st.st_size),
          static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec};
}

void Keyring::ReloadIfChanged() const {
  if (path_.empty()) return;
  FileStamp now = StampOf(path_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now == stamp_ || now == FileStamp{}) return;
  }
  // A failed reload keeps the versions already loaded: they still open and seal everything they did.
  static_cast<void>(const_cast<Keyring*>(this)->Reload());  // NOLINT (see Open)
}

Result<Sealed> Keyring::Seal(std::string_view plaintext, std::string_view aad) const {
  ReloadIfChanged();
  std::uint32_t version = 0;
  std::shared_ptr<const SecretBytes> master;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (keys_.empty()) {
      return Error(Code::kInternal, "the keyring holds no master key");
    }
    version = keys_.rbegin()->first;
    master = keys_.rbegin()->second;
  }
  SecretBytes data_key = RandomSecret(kAeadKeySize);
  Sealed out;
  out.key_version = version;
  ARCA_ASSIGN_OR_RETURN(out.ciphertext, AeadSeal(data_key, plaintext, aad));
  ARCA_ASSIGN_OR_RETURN(out.wrapped_key, AeadSeal(*master, data_key.view(), DataKeyAad(aad)));
  return out;
}

Result<SecretBytes> Keyring::Open(const Sealed& sealed, std::string_view aad) const {
  std::shared_ptr<const SecretBytes> master = FindKey(mu_, keys_, sealed.key_version);
  if (!master && !path_.empty()) {
    // A concurrent `arca server rekey` may have added the version to the file. Every Keyring is
    // created non-const by the factories above, so casting const away to refresh it is well
    // defined.
    Status reload = const_cast<Keyring*>(this)->Reload();  // NOLINT
    master = FindKey(mu_, keys_, sealed.key_version);
    if (!master) return UnknownVersionError(sealed.key_version, reload);
  }
  if (!master) return UnknownVersionError(sealed.key_version, OkStatus());
  ARCA_ASSIGN_OR_RETURN(SecretBytes data_key,
                        AeadOpen(*master, sealed.wrapped_key, DataKeyAad(aad)));
  if (data_key.size() != kAeadKeySize) {
    return Error(Code::kDecryptionFailure, "decryption failed: the wrapped data key is malformed");
  }
  return AeadOpen(data_key, sealed.ciphertext, aad);
}

Result<Sealed> Keyring::Rewrap(const Sealed& sealed, std::string_view aad) const {
  ReloadIfChanged();
  std::shared_ptr<const SecretBytes> old_master = FindKey(mu_, keys_, sealed.key_version);
  if (!old_master && !path_.empty()) {
    Status reload = const_cast<Keyring*>(this)->Reload();  // NOLINT (see Open)
    old_master = FindKey(mu_, keys_, sealed.key_version);
    if (!old_master) return UnknownVersionError(sealed.key_version, reload);
  }
  if (!old_master) return UnknownVersionError(sealed.key_version, OkStatus());
  std::string dk_aad = DataKeyAad(aad);
  ARCA_ASSIGN_OR_RETURN(SecretBytes data_key, AeadOpen(*old_master, sealed.wrapped_key, dk_aad));
  if (data_key.size() != kAeadKeySize) {
    return Error(Code::kDecryptionFailure, "decryption failed: the wrapped data key is malformed");
  }
  std::uint32_t version = 0;
  std::shared_ptr<const SecretBytes> current;
  {
    std::lock_guard<std::mutex> lock(mu_);
    version = keys_.rbegin()->first;  // not empty: old_master came from it
    current = keys_.rbegin()->second;
  }
  Sealed out;
  out.key_version = version;
  out.ciphertext = sealed.ciphertext;
  ARCA_ASSIGN_OR_RETURN(out.wrapped_key, AeadSeal(*current, data_key.view(), dk_aad));
  return out;
}

Result<std::string> Keyring::MakeCheckValue(std::uint32_t version) const {
  std::shared_ptr<const SecretBytes> master = FindKey(mu_, keys_, version);
  if (!master) {
    return Error(Code::kInvalidParameter,
                 "master key version " + std::to_string(version) + " is not in the keyring");
  }
  return AeadSeal(*master, kCheckText, CheckAad(version));
}

Status Keyring::VerifyCheckValue(std::uint32_t version, std::string_view check) const {
  std::shared_ptr<const SecretBytes> master = FindKey(mu_, keys_, version);
  if (!master && !path_.empty()) {
    static_cast<void>(const_cast<Keyring*>(this)->Reload());  // NOLINT (see Open)
    master = FindKey(mu_, keys_, version);
  }
  if (!master) {
    return Error(Code::kPreconditionNotMet,
                 "the master key does not match this data directory (key version " +
                     std::to_string(version) + " is not in the keyring)");
  }
  Result<SecretBytes> text = AeadOpen(*master, check, CheckAad(version));
  if (!text.ok() || !ConstantTimeEquals(text->view(), kCheckText)) {
    return CheckMismatchError(version);
  }
  return OkStatus();
}

Status Keyring::Reload() {
  if (path_.empty()) {
    return OkStatus();  // loaded from text: nothing to re-read
  }
  FileStamp stamp = StampOf(path_);
  ARCA_ASSIGN_OR_RETURN(KeyMap keys, LoadKeyFile(path_));
  std::lock_guard<std::mutex> lock(mu_);
  keys_.swap(keys);
  stamp_ = stamp;
  return OkStatus();
}

Result<std::uint32_t> Keyring::AddVersionToFile(const std::string& path) {
  int open_errno = 0;
  ARCA_ASSIGN_OR_RETURN(SecretBytes content, ReadKeyFile(path, &open_errno));
  ARCA_ASSIGN_OR_RETURN(KeyMap keys, ParseKeyText(content.view(), "master key file " + path));
  std::uint32_t max_version = keys.rbegin()->first;
  if (max_version == std::numeric_limits<std::uint32_t>::max()) {
    return Error(Code::kLimitExceeded,
                 "the master key file " + path + " has no version number left");
  }
  std::uint32_t version = max_version + 1;
  if (!content.empty() && content.view().back() != '\n') {
    content.append("\n", 1);
  }
  SecretBytes line = NewKeyLine(version);
  content.append(line.data(), line.size());
  ARCA_ASSIGN_OR_RETURN(std::string tmp, WriteTempFile(path, content));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Error(Code::kUnavailable, "cannot replace the master key file " + path, ErrnoText(err));
  }
  ARCA_RETURN_IF_ERROR(FsyncDir(path));
  return version;
}

}  // namespace arca::crypto
