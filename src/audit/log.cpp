#include "audit/log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <future>
#include <system_error>
#include <utility>

#include "audit/format.h"
#include "core/log.h"
#include "crypto/hash.h"

namespace arca::audit {

namespace bj = boost::json;

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

bool IsDigestLine(std::string_view line) {
  static constexpr std::string_view kPrefix = "{\"arcaRecordType\":\"Digest\"";
  return line.substr(0, kPrefix.size()) == kPrefix;
}

// The sequence number of a line; nullopt when the line is not a JSON object with one.
std::optional<std::uint64_t> SequenceOf(std::string_view line) {
  boost::system::error_code ec;
  bj::value v = bj::parse(line, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const bj::value* s = v.get_object().if_contains(kSequenceField);
  if (s == nullptr) return std::nullopt;
  if (s->is_uint64()) return s->get_uint64();
  if (s->is_int64() && s->get_int64() > 0) return static_cast<std::uint64_t>(s->get_int64());
  return std::nullopt;
}

void AppendNumber(std::string& out, std::uint64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  (void)ec;
  out.append(buf, end);
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += bj::serialize(bj::value(bj::string_view(s.data(), s.size())));
}

}  // namespace

LogOptions DefaultLogOptions(const std::string& data_dir) {
  LogOptions o;
  o.dir = data_dir + "/audit";
  o.key_path = data_dir + "/audit.key";
  o.public_key_path = data_dir + "/audit.pub";
  return o;
}

Log::Log(LogOptions options, SigningKey key) : options_(std::move(options)), key_(std::move(key)) {}

Log::~Log() {
  Stop();
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::unique_ptr<Log>> Log::Open(LogOptions options) {
  if (options.dir.empty()) return Error(Code::kInvalidParameter, "the audit log needs a directory");
  if (options.max_file_bytes < 4096) options.max_file_bytes = 4096;
  if (options.digest_every_records == 0) options.digest_every_records = 1;
  ARCA_RETURN_IF_ERROR(EnsureDir(options.dir));
  // One writer per log: a second server on the same data directory would fork the chain.
  const std::string lock_path = options.dir + "/LOCK";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return IoError("cannot open", lock_path, errno);
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(lock_fd);
    if (err == EWOULDBLOCK) {
      return Error(Code::kPreconditionNotMet,
                   "the audit log in " + options.dir + " is in use by another server");
    }
    return IoError("cannot lock", lock_path, err);
  }
  auto unlock = [lock_fd](Error e) -> Error {
    ::close(lock_fd);
    return e;
  };
  auto files_or = ListLogFiles(options.dir);
  if (!files_or.ok()) return unlock(std::move(files_or).error());
  std::vector<LogFile> files = std::move(files_or).value();
  bool has_records = false;
  for (const LogFile& f : files) {
    struct stat st {};
    if (::stat(f.path.c_str(), &st) == 0 && st.st_size > 0) has_records = true;
  }
  auto key = SigningKey::LoadOrCreate(options.key_path, options.public_key_path, !has_records);
  if (!key.ok()) {
    if (key.error().code() == Code::kNotFound) {
      return unlock(Error(
          Code::kPreconditionNotMet,
          "the audit key " + options.key_path + " is missing but the audit log in " + options.dir +
              " has records: restore the key, or move the log aside to start a new one"));
    }
    return unlock(std::move(key).error());
  }
  std::unique_ptr<Log> log(new Log(std::move(options), std::move(key).value()));
  log->lock_fd_ = lock_fd;  // closed (unlocked) by ~Log from here on
  ARCA_RETURN_IF_ERROR(log->Recover());
  log->last_digest_at_ = std::chrono::steady_clock::now();
  log->writer_ = std::thread([l = log.get()] { l->Run(); });
  return log;
}

Status Log::Recover() {
  ARCA_ASSIGN_OR_RETURN(std::vector<LogFile> files, ListLogFiles(options_.dir));
  chain_ = Chain{};
  chain_.last_hash = std::string(kZeroHash);
  if (files.empty()) {
    chain_.file_index = 1;
    return OpenCurrentFile(/*create=*/true);
  }
  chain_.file_index = files.back().index;

  // The partial final line, if any, is cut off (it was never acknowledged) and recorded.
  std::string recovery;
  {
    ReverseLineReader r;
    ARCA_RETURN_IF_ERROR(r.Open(files.back().path));
    if (r.partial_tail_bytes() > 0) {
      const std::uint64_t keep = r.size() - r.partial_tail_bytes();
      std::string tail(static_cast<std::size_t>(r.partial_tail_bytes()), '\0');
      const int fd = ::open(files.back().path.c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) return IoError("cannot open", files.back().path, errno);
      const ssize_t n = ::pread(fd, tail.data(), tail.size(), static_cast<off_t>(keep));
      if (n >= 0) tail.resize(static_cast<std::size_t>(n));
      const bool ok = ::ftruncate(fd, static_cast<off_t>(keep)) == 0 && ::fsync(fd) == 0;
      const int err = errno;
      ::close(fd);
      if (!ok) return IoError("cannot cut the partial last line of", files.back().path, err);
      recovery = "{\"arcaRecordType\":\"Recovery\",\"recoveryTime\":";
      AppendJsonString(recovery, FormatIso8601(options_.clock->Now(), true));
      recovery += ",\"recoveredFile\":";
      AppendJsonString(recovery, files.back().name);
      recovery += ",\"discardedOffset\":";
      AppendNumber(recovery, keep);
      recovery += ",\"discardedBytes\":";
      AppendNumber(recovery, tail.size());
      recovery += ",\"discardedSha256\":\"" + crypto::Sha256Hex(tail) + "\"}";
      log::Warn("audit log: cut a partial last line (a write interrupted by a crash)",
                {{"file", files.back().path}, {"bytes", tail.size()}});
    }
  }

  // The head: the last complete line of the last file that has one.
  bool found_head = false;
  bool found_digest = false;
  for (std::size_t i = files.size(); i-- > 0 && !found_digest;) {
    ReverseLineReader r;
    ARCA_RETURN_IF_ERROR(r.Open(files[i].path));
    if (i + 1 < files.size() && r.partial_tail_bytes() > 0 && !found_head) {
      return Error(Code::kPreconditionNotMet,
                   "the audit log file " + files[i].path +
                       " ends in a partial line; run `arca audit verify`");
    }
    std::string line;
    std::uint64_t offset = 0;
    while (r.Prev(&line, &offset)) {
      if (!found_head) {
        std::optional<std::uint64_t> seq = SequenceOf(line);
        if (!seq.has_value()) {
          return Error(Code::kPreconditionNotMet,
                       "the last line of the audit log (" + files[i].path + ", byte " +
                           std::to_string(offset) +
                           ") is not an audit record; run `arca audit verify`");
        }
        found_head = true;
        chain_.sequence = *seq;
        chain_.last_hash = LineHash(line);
      }
      if (IsDigestLine(line)) {
        std::optional<std::uint64_t> seq = SequenceOf(line);
        chain_.last_digest_sequence = seq.value_or(0);
        found_digest = true;
        break;
      }
    }
    if (!r.error().ok()) return r.error();
  }
  chain_.undigested = chain_.sequence - std::min(chain_.sequence, chain_.last_digest_sequence);
  ARCA_RETURN_IF_ERROR(OpenCurrentFile(/*create=*/false));
  if (!recovery.empty()) {
    std::string buf;
    Chain c = chain_;
    AppendLine(recovery, c, buf);
    ARCA_RETURN_IF_ERROR(WriteAndSync(buf));
    c.file_size += buf.size();
    chain_ = c;
    bytes_ += buf.size();
  }
  return OkStatus();
}

Status Log::OpenCurrentFile(bool create) {
  const std::string path = options_.dir + "/" + LogFileName(chain_.file_index);
  int flags = O_WRONLY | O_APPEND | O_CLOEXEC;
  if (create) {
    ARCA_RETURN_IF_ERROR(Hook("create"));
    flags |= O_CREAT | O_EXCL;
  }
  const int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) return IoError(create ? "cannot create" : "cannot open", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return IoError("cannot stat", path, err);
  }
  if (create) {
    if (Status s = FsyncDir(options_.dir); !s.ok()) {
      ::close(fd);
      ::unlink(path.c_str());
      return s;
    }
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  chain_.file_size = static_cast<std::uint64_t>(st.st_size);
  return OkStatus();
}

Status Log::Hook(std::string_view op) const {
  if (options_.fault_hook) return options_.fault_hook(op);
  return OkStatus();
}

// ---- appending ----------------------------------------------------------------------------------

void Log::Refuse(DurableCallback& done) const {
  Status why = Health();
  if (why.ok()) why = Error(Code::kUnavailable, "the audit log is stopped");
  if (done) done(std::move(why));
}

void Log::Append(bj::object record, DurableCallback on_durable) {
  record.erase(kSequenceField);
  record.erase(kPreviousHashField);
  record.erase(kRecordTypeField);
  AppendSerialized(bj::serialize(record), std::move(on_durable));
}

void Log::AppendSerialized(std::string record_json, DurableCallback on_durable) {
  if (record_json.size() < 2 || record_json.front() != '{' || record_json.back() != '}' ||
      record_json.find('\n') != std::string::npos) {
    if (on_durable)
      on_durable(
          Error(Code::kInvalidParameter, "an audit record must be one JSON object on one line"));
    return;
  }
  if (failed_.load(std::memory_order_acquire)) {
    Refuse(on_durable);
    return;
  }
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      wake = queue_.empty() || queue_.size() + 1 == gather_target_;
      queue_.push_back(Item{std::move(record_json), std::move(on_durable)});
      on_durable = nullptr;
    }
  }
  if (on_durable) {  // stopping: not queued
    Refuse(on_durable);
    return;
  }
  if (wake) cv_.notify_one();
}

Status Log::AppendAndWait(bj::object record) {
  std::promise<Status> done;
  std::future<Status> result = done.get_future();
  Append(std::move(record), [&done](Status s) { done.set_value(std::move(s)); });
  return result.get();
}

Status Log::Flush() {
  std::promise<Status> done;
  std::future<Status> result = done.get_future();
  DurableCallback cb = [&done](Status s) { done.set_value(std::move(s)); };
  bool queued = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      queue_.push_back(Item{std::string(), std::move(cb)});
      queued = true;
    }
  }
  if (!queued) return OkStatus();  // Stop() wrote everything
  cv_.notify_one();
  return result.get();
}

Status Log::Health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return health_;
}

LogStats Log::stats() const {
  LogStats s;
  s.batches = batches_.load();
  s.records = records_.load();
  s.bytes = bytes_.load();
  s.digests = digests_.load();
  s.failures = failures_.load();
  return s;
}

void Log::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  std::lock_guard<std::mutex> lock(stop_mu_);
  if (writer_.joinable()) writer_.join();
}

// ---- the writer thread --------------------------------------------------------------------------

void Log::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (queue_.empty() && !stopping_) {
      auto ready = [this] { return !queue_.empty() || stopping_; };
      if (failed_.load()) {
        cv_.wait_until(lock, next_heal_at_, ready);
      } else if (chain_.undigested > 0) {
        cv_.wait_until(lock, last_digest_at_ + options_.digest_interval, ready);
      } else {
        cv_.wait(lock, ready);
      }
    }
    if (!queue_.empty()) {
      if (options_.gather_max.count() > 0 && queue_.size() < gather_target_ && !stopping_) {
        cv_.wait_for(lock, options_.gather_max,
                     [this] { return queue_.size() >= gather_target_ || stopping_; });
      }
      std::vector<Item> batch;
      batch.swap(queue_);
      gather_target_ = batch.size();
      lock.unlock();
      WriteBatch(batch);
      lock.lock();
      continue;
    }
    if (stopping_) break;
    lock.unlock();
    const auto now = std::chrono::steady_clock::now();
    if (failed_.load()) {
      if (now >= next_heal_at_) (void)TryHeal();
    } else if (chain_.undigested > 0 && now >= last_digest_at_ + options_.digest_interval) {
      std::vector<Item> none;
      WriteBatch(none);
    }
    lock.lock();
  }
  lock.unlock();
  // Shutdown: the queue is empty and no more records come. Seal the log.
  if (failed_.load()) (void)TryHeal();
  if (!failed_.load() && chain_.sequence > 0) {
    Chain c = chain_;
    std::string buf;
    if (AppendDigest("shutdown", c, buf).ok() && WriteAndSync(buf).ok()) {
      c.file_size += buf.size();
      chain_ = c;
      bytes_ += buf.size();
      ++digests_;
      ++batches_;
    }
  }
}

void Log::AppendLine(std::string_view record_json, Chain& c, std::string& buf) {
  const std::size_t start = buf.size();
  if (record_json.size() <= 2) {
    buf += '{';
  } else {
    buf.append(record_json.data(), record_json.size() - 1);
    buf += ',';
  }
  buf += "\"arcaSequence\":";
  AppendNumber(buf, c.sequence + 1);
  buf += ",\"arcaPreviousHash\":\"";
  buf += c.last_hash;
  buf += "\"}";
  c.last_hash = LineHash(std::string_view(buf).substr(start));
  buf += '\n';
  ++c.sequence;
  ++c.undigested;
}

Status Log::AppendDigest(std::string_view reason, Chain& c, std::string& buf) {
  DigestFields d;
  d.start_sequence = c.last_digest_sequence + 1;
  d.end_sequence = c.sequence;
  d.end_hash = c.last_hash;
  d.time = FormatIso8601(options_.clock->Now(), true);
  d.reason = std::string(reason);
  ARCA_ASSIGN_OR_RETURN(std::string sig, key_.Sign(DigestMessage(d)));
  std::string json = "{\"arcaRecordType\":\"Digest\",\"digestReason\":";
  AppendJsonString(json, d.reason);
  json += ",\"digestTime\":";
  AppendJsonString(json, d.time);
  json += ",\"digestStartSequence\":";
  AppendNumber(json, d.start_sequence);
  json += ",\"digestEndSequence\":";
  AppendNumber(json, d.end_sequence);
  json += ",\"digestEndHash\":\"" + d.end_hash + "\"";
  json += ",\"digestSignatureAlgorithm\":\"Ed25519\",\"digestPublicKey\":\"" +
          key_.public_key().fingerprint() + "\"";
  json += ",\"digestSignature\":\"" + crypto::Base64Encode(sig) + "\"}";
  AppendLine(json, c, buf);
  c.last_digest_sequence = c.sequence;
  c.undigested = 0;
  last_digest_at_ = std::chrono::steady_clock::now();
  return OkStatus();
}

Status Log::WriteAndSync(const std::string& buf) {
  const std::string path = options_.dir + "/" + LogFileName(chain_.file_index);
  ARCA_RETURN_IF_ERROR(Hook("write"));
  std::size_t done = 0;
  while (done < buf.size()) {
    const ssize_t n = ::write(fd_, buf.data() + done, buf.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot write to", path, errno);
    }
    done += static_cast<std::size_t>(n);
  }
  ARCA_RETURN_IF_ERROR(Hook("sync"));
  if (::fdatasync(fd_) != 0) return IoError("cannot sync", path, errno);
  return OkStatus();
}

Status Log::Rotate(Chain& c) {
  const Chain before = chain_;
  chain_.file_index = c.file_index + 1;
  Status s = OpenCurrentFile(/*create=*/true);
  if (!s.ok()) {
    chain_ = before;
    return s;
  }
  c.file_index = chain_.file_index;
  c.file_size = 0;
  chain_ = c;
  return OkStatus();
}

void Log::WriteBatch(std::vector<Item>& batch) {
  if (failed_.load() && std::chrono::steady_clock::now() >= next_heal_at_) (void)TryHeal();
  if (failed_.load()) {
    for (Item& item : batch) Refuse(item.done);
    return;
  }
  Chain c = chain_;
  std::size_t bytes = 0;
  for (const Item& item : batch) bytes += item.json.size() + 128;
  std::string buf;
  buf.reserve(bytes + 512);
  std::size_t durable = 0;  // items [0, durable) are on disk
  std::uint64_t durable_records = 0;
  std::uint64_t pending_records = 0;
  std::uint64_t pending_digests = 0;
  Status status = OkStatus();

  auto commit = [&]() -> Status {
    ARCA_RETURN_IF_ERROR(WriteAndSync(buf));
    c.file_size += buf.size();
    chain_ = c;
    bytes_ += buf.size();
    ++batches_;
    digests_ += pending_digests;
    durable_records += pending_records;
    pending_records = 0;
    pending_digests = 0;
    buf.clear();
    return OkStatus();
  };

  for (std::size_t i = 0; i < batch.size() && status.ok(); ++i) {
    const std::string& json = batch[i].json;
    if (json.empty()) continue;  // a Flush() barrier
    const std::uint64_t line_estimate = json.size() + 128;
    if (c.file_size + buf.size() > 0 &&
        c.file_size + buf.size() + line_estimate > options_.max_file_bytes) {
      // Seal this file with a digest and move on to the next one.
      if (c.undigested > 0) {
        status = AppendDigest("rotate", c, buf);
        if (status.ok()) ++pending_digests;
      }
      if (status.ok() && !buf.empty()) status = commit();
      if (status.ok()) durable = i;
      if (status.ok()) {
        status = Rotate(c);
        rotate_pending_ = !status.ok();
      }
      if (!status.ok()) break;
    }
    AppendLine(json, c, buf);
    ++pending_records;
    if (c.undigested >= options_.digest_every_records) {
      status = AppendDigest("count", c, buf);
      if (status.ok()) ++pending_digests;
    }
  }
  if (status.ok() && c.undigested > 0 &&
      std::chrono::steady_clock::now() >= last_digest_at_ + options_.digest_interval) {
    status = AppendDigest("interval", c, buf);
    if (status.ok()) ++pending_digests;
  }
  if (status.ok() && !buf.empty()) status = commit();
  if (status.ok()) durable = batch.size();
  records_ += durable_records;
  if (!status.ok()) Fail(status.error());

  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!batch[i].done) continue;
    if (i < durable) {
      batch[i].done(OkStatus());
    } else {
      Refuse(batch[i].done);
    }
  }
}

void Log::Fail(const Error& error) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    health_ = Error(Code::kUnavailable, "the audit log cannot be written", error.ToLogString());
  }
  next_heal_at_ = std::chrono::steady_clock::now() + options_.retry_interval;
  failed_.store(true, std::memory_order_release);
  ++failures_;
  log::Error("audit log write failed; requests fail until it recovers",
             {{"dir", options_.dir}, {"error", error.ToLogString()}});
}

Status Log::TryHeal() {
  // Cut the file back to its last durable byte and sync: the chain then continues from the last
  // durable record, as if the failed batch had never been written.
  const std::string path = options_.dir + "/" + LogFileName(chain_.file_index);
  Status s = Hook("sync");
  if (s.ok() && ::ftruncate(fd_, static_cast<off_t>(chain_.file_size)) != 0) {
    s = IoError("cannot truncate", path, errno);
  }
  if (s.ok() && ::fdatasync(fd_) != 0) s = IoError("cannot sync", path, errno);
  if (s.ok() && rotate_pending_) {
    Chain c = chain_;
    s = Rotate(c);
    if (s.ok()) rotate_pending_ = false;
  }
  if (!s.ok()) {
    next_heal_at_ = std::chrono::steady_clock::now() + options_.retry_interval;
    return s;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    health_ = OkStatus();
  }
  failed_.store(false, std::memory_order_release);
  log::Info("audit log recovered", {{"dir", options_.dir}});
  return OkStatus();
}

}  // namespace arca::audit
