#include "audit/log.h"

#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <future>
#include <limits>
#include <utility>

#include "audit/format.h"
#include "core/log.h"
#include "crypto/hash.h"

namespace arca::audit {

namespace bj = boost::json;

namespace {

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
  o.chain = DefaultChainId(data_dir);
  return o;
}

std::string DefaultChainId(const std::string& data_dir) {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return std::string(host) + ":" + data_dir;
}

Log::Log(LogOptions options, std::shared_ptr<Storage> storage, SigningKey key)
    : options_(std::move(options)),
      storage_(std::move(storage)),
      key_(std::move(key)),
      where_(storage_->DescribeChain(options_.chain)) {}

Log::~Log() { Stop(); }

Result<std::unique_ptr<Log>> Log::Open(LogOptions options) {
  if (options.dir.empty()) return Error(Code::kInvalidParameter, "the audit log needs a directory");
  ARCA_ASSIGN_OR_RETURN(
      std::unique_ptr<FileStorage> storage,
      FileStorage::Open({options.dir, options.key_path, options.public_key_path}));
  return Open(std::shared_ptr<Storage>(std::move(storage)), std::move(options));
}

Result<std::unique_ptr<Log>> Log::Open(std::shared_ptr<Storage> storage, LogOptions options) {
  if (storage == nullptr) return Error(Code::kInvalidParameter, "the audit log needs a storage");
  if (options.max_file_bytes < 4096) options.max_file_bytes = 4096;
  if (options.digest_every_records == 0) options.digest_every_records = 1;
  if (options.fault_hook) storage->set_fault_hook(options.fault_hook);
  storage->SetPrefill(options.max_file_bytes, options.prefill_after);
  // One writer per chain: a second writer would fork it.
  ARCA_RETURN_IF_ERROR(storage->LockWriter(options.chain));
  ARCA_ASSIGN_OR_RETURN(SigningKey key, storage->LoadOrCreateSigningKey());
  std::unique_ptr<Log> log(new Log(std::move(options), std::move(storage), std::move(key)));
  ARCA_RETURN_IF_ERROR(log->Recover());
  log->last_digest_at_ = std::chrono::steady_clock::now();
  log->writer_ = std::thread([l = log.get()] { l->Run(); });
  return log;
}

LogFile Log::CurrentFile() const {
  LogFile f;
  f.index = chain_.file_index;
  f.name = LogFileName(chain_.file_index);
  f.size = chain_.file_size;
  return f;
}

std::string Log::Where(const LogFile& file) const {
  if (!file.path.empty()) return file.path;
  return file.name + " of " + where_;
}

Status Log::Recover() {
  ARCA_ASSIGN_OR_RETURN(std::vector<LogFile> files, storage_->ListFiles(options_.chain));
  chain_ = Chain{};
  chain_.last_hash = std::string(kZeroHash);
  if (files.empty()) {
    ARCA_ASSIGN_OR_RETURN(LogFile first, storage_->CreateFile(1));
    chain_.file_index = first.index;
    chain_.file_size = 0;
    return OkStatus();
  }
  chain_.file_index = files.back().index;

  // The partial final line, if any, is cut off (it was never acknowledged) and recorded. In a
  // pre-filled file the records end at the first NUL; a crash in the middle of a write there can
  // also leave a hole of zeros with more of that write after it, which goes too.
  std::string recovery;
  {
    LogFile& last = files.back();
    ARCA_ASSIGN_OR_RETURN(std::optional<std::uint64_t> nul, storage_->FindNul(last));
    ReverseLineReader r;
    ARCA_RETURN_IF_ERROR(r.Open(*storage_, options_.chain, last, nul));
    const std::uint64_t keep = r.size() - r.partial_tail_bytes();
    std::string tail;
    if (r.partial_tail_bytes() > 0 || nul.has_value()) {
      auto tail_or = storage_->Read(options_.chain, last, keep,
                                    nul.has_value() ? std::numeric_limits<std::uint64_t>::max()
                                                    : r.partial_tail_bytes());
      if (!tail_or.ok()) return std::move(tail_or).error();
      tail = std::move(tail_or).value();
      const std::size_t tail_end = tail.find_last_not_of('\0');  // padding is not discarded
      tail.resize(tail_end == std::string::npos ? 0 : tail_end + 1);
    }
    if (!tail.empty()) {
      if (Status s = storage_->Truncate(last, keep); !s.ok()) {
        return Error(Code::kUnavailable, "cannot cut the partial last line of " + Where(last) +
                                             ": " + s.error().message());
      }
      last.size = keep;
      recovery = "{\"arcaRecordType\":\"Recovery\",\"recoveryTime\":";
      AppendJsonString(recovery, FormatIso8601(options_.clock->Now(), true));
      recovery += ",\"recoveredFile\":";
      AppendJsonString(recovery, last.name);
      recovery += ",\"discardedOffset\":";
      AppendNumber(recovery, keep);
      recovery += ",\"discardedBytes\":";
      AppendNumber(recovery, tail.size());
      recovery += ",\"discardedSha256\":\"" + crypto::Sha256Hex(tail) + "\"}";
      log::Warn("audit log: cut a partial last line (a write interrupted by a crash)",
                {{"file", Where(last)}, {"bytes", tail.size()}});
    }
  }

  // The head: the last complete line of the last file that has one.
  bool found_head = false;
  bool found_digest = false;
  for (std::size_t i = files.size(); i-- > 0 && !found_digest;) {
    ReverseLineReader r;
    ARCA_RETURN_IF_ERROR(r.Open(*storage_, options_.chain, files[i]));
    if (i + 1 < files.size() && r.partial_tail_bytes() > 0 && !found_head) {
      return Error(Code::kPreconditionNotMet,
                   "the audit log file " + Where(files[i]) +
                       " ends in a partial line; run `arca audit verify`");
    }
    std::string line;
    std::uint64_t offset = 0;
    while (r.Prev(&line, &offset)) {
      if (!found_head) {
        std::optional<std::uint64_t> seq = SequenceOf(line);
        if (!seq.has_value()) {
          return Error(Code::kPreconditionNotMet,
                       "the last line of the audit log (" + Where(files[i]) + ", byte " +
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
  chain_.file_size = files.back().size;
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
      record_json.find_first_of(std::string_view("\n\0", 2)) != std::string::npos) {
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

void Log::AbandonForTest() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    abandon_ = true;
  }
  Stop();
}

Result<int> Log::SealAbandonedChains(
    const std::function<Result<std::shared_ptr<Storage>>()>& open_storage,
    const LogOptions& options, const std::string& own_chain,
    const std::function<bool(const std::string& chain)>& gone) {
  ARCA_ASSIGN_OR_RETURN(std::shared_ptr<Storage> lister, open_storage());
  ARCA_ASSIGN_OR_RETURN(std::vector<std::string> chains, lister->ListChains());
  int sealed = 0;
  for (const std::string& chain : chains) {
    if (chain == own_chain || !gone(chain)) continue;
    ARCA_ASSIGN_OR_RETURN(std::shared_ptr<Storage> storage, open_storage());
    LogOptions o = options;
    o.chain = chain;
    o.digest_interval = std::chrono::hours(1);  // the writer thread digests nothing by itself
    auto opened = Open(std::move(storage), std::move(o));
    if (!opened.ok()) {
      if (opened.error().code() == Code::kPreconditionNotMet) continue;  // its writer is alive
      return std::move(opened).error();
    }
    Log& l = **opened;
    bool needs_digest = false;
    {
      std::lock_guard<std::mutex> lock(l.mu_);
      // As Open's recovery left it: the writer thread has nothing queued and no digest due.
      needs_digest = l.chain_.undigested > 0 && !l.failed_.load();
      if (needs_digest) {
        l.final_reason_ = "takeover";
      } else {
        l.abandon_ = true;  // nothing to seal: close without a digest
      }
    }
    l.Stop();
    if (needs_digest && l.digests_.load() > 0) {
      log::Info("sealed the audit chain of a stopped server", {{"chain", chain}});
      ++sealed;
    }
  }
  return sealed;
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
  const bool abandon = abandon_;
  lock.unlock();
  if (abandon) return;
  // Shutdown: the queue is empty and no more records come. Seal the log.
  if (failed_.load()) (void)TryHeal();
  if (!failed_.load() && chain_.sequence > 0) {
    Chain c = chain_;
    std::string buf;
    if (AppendDigest(final_reason_, c, buf).ok() && WriteAndSync(buf).ok()) {
      c.file_size += buf.size();
      chain_ = c;
      bytes_ += buf.size();
      ++digests_;
      ++batches_;
    }
  }
  if (!failed_.load()) CloseFile();
}

void Log::CloseFile() {
  // A stopped log's files are plain JSON lines: the padding of a pre-filled file goes.
  if (Status s = storage_->Close(CurrentFile(), chain_.file_size); !s.ok()) {
    log::Warn("audit log: cannot cut the padding off a finished file",
              {{"file", Where(CurrentFile())}, {"error", s.error().ToLogString()}});
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
  return storage_->Append(CurrentFile(), chain_.file_size, buf);
}

Status Log::Rotate(Chain& c) {
  CloseFile();  // chain_ is c: its records are durable
  auto next = storage_->CreateFile(c.file_index + 1);
  if (!next.ok()) return std::move(next).error();
  c.file_index = next->index;
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

  // Seals this file with a digest and moves on to the next one; items [0, next_item) are then
  // durable.
  auto next_file = [&](std::size_t next_item) -> Status {
    if (c.undigested > 0) {
      ARCA_RETURN_IF_ERROR(AppendDigest("rotate", c, buf));
      ++pending_digests;
    }
    if (!buf.empty()) ARCA_RETURN_IF_ERROR(commit());
    durable = next_item;
    Status rotated = Rotate(c);
    rotate_pending_ = !rotated.ok();
    return rotated;
  };

  // A pre-filled file is ready and this one is appended to: move on now.
  if (c.file_size > 0 && storage_->PrefersNewFile()) status = next_file(0);
  for (std::size_t i = 0; i < batch.size() && status.ok(); ++i) {
    const std::string& json = batch[i].json;
    if (json.empty()) continue;  // a Flush() barrier
    const std::uint64_t line_estimate = json.size() + 128;
    if (c.file_size + buf.size() > 0 &&
        c.file_size + buf.size() + line_estimate > options_.max_file_bytes) {
      status = next_file(i);
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
             {{"dir", where_}, {"error", error.ToLogString()}});
}

Status Log::TryHeal() {
  // Cut the file back to its last durable byte and sync: the chain then continues from the last
  // durable record, as if the failed batch had never been written.
  Status s = storage_->Truncate(CurrentFile(), chain_.file_size);
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
  log::Info("audit log recovered", {{"dir", where_}});
  return OkStatus();
}

}  // namespace arca::audit
