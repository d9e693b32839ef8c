#include "audit/format.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <system_error>

#include "audit/storage.h"
#include "crypto/hash.h"

namespace arca::audit {

namespace {

constexpr std::string_view kFilePrefix = "audit-";
constexpr std::string_view kFileSuffix = ".jsonl";
constexpr std::size_t kReadBlock = 64 * 1024;

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }
}  // namespace

std::string LogFileName(std::uint64_t index) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "audit-%06llu.jsonl", static_cast<unsigned long long>(index));
  return buf;
}

std::optional<std::uint64_t> ParseLogFileName(std::string_view name) {
  if (name.size() <= kFilePrefix.size() + kFileSuffix.size()) return std::nullopt;
  if (name.substr(0, kFilePrefix.size()) != kFilePrefix) return std::nullopt;
  if (name.substr(name.size() - kFileSuffix.size()) != kFileSuffix) return std::nullopt;
  std::string_view digits =
      name.substr(kFilePrefix.size(), name.size() - kFilePrefix.size() - kFileSuffix.size());
  std::uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || v == 0) return std::nullopt;
  return v;
}

Result<std::vector<LogFile>> ListLogFiles(const std::string& dir) {
  std::vector<LogFile> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return Error(Code::kUnavailable,
                 "cannot read the audit directory " + dir + ": " + ErrnoText(errno));
  }
  while (struct dirent* e = ::readdir(d)) {
    std::optional<std::uint64_t> index = ParseLogFileName(e->d_name);
    if (!index.has_value()) continue;
    out.push_back(LogFile{*index, e->d_name, dir + "/" + e->d_name});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(),
            [](const LogFile& a, const LogFile& b) { return a.index < b.index; });
  return out;
}

std::string LineHash(std::string_view line) { return crypto::Sha256Hex(line); }

std::string DigestMessage(const DigestFields& d) {
  std::string m = "arca-audit-digest-v1\n";
  m += "start=" + std::to_string(d.start_sequence) + "\n";
  m += "end=" + std::to_string(d.end_sequence) + "\n";
  m += "endHash=" + d.end_hash + "\n";
  m += "time=" + d.time + "\n";
  m += "reason=" + d.reason + "\n";
  return m;
}


std::string_view StripChainSuffix(std::string_view line, std::string* scratch) {
  static constexpr std::string_view kMid = ",\"arcaSequence\":";
  static constexpr std::string_view kFirst = "{\"arcaSequence\":";
  if (line.empty() || line.back() != '}') return line;
  std::size_t pos = line.rfind(kMid);
  if (pos != std::string_view::npos) {
    scratch->assign(line.substr(0, pos));
    scratch->push_back('}');
    return *scratch;
  }
  if (line.substr(0, kFirst.size()) == kFirst) {
    scratch->assign("{}");
    return *scratch;
  }
  return line;
}

// ---- ReverseLineReader --------------------------------------------------------------------------

Status ReverseLineReader::Open(const Storage& storage, std::string_view chain, const LogFile& file,
                               std::optional<std::uint64_t> end) {
  storage_ = &storage;
  chain_ = std::string(chain);
  file_ = file;
  path_ = file.path.empty() ? file.name : file.path;
  size_ = file.size;
  if (end.has_value() && *end < size_) size_ = *end;
  block_start_ = size_;
  buf_.clear();
  // Find the end of the last complete line.
  while (buf_.find('\n') == std::string::npos && block_start_ > 0) {
    if (!Fill()) return error_;
  }
  const std::size_t nl = buf_.rfind('\n');
  if (nl == std::string::npos) {
    partial_tail_ = buf_.size();
    buf_.clear();
  } else {
    partial_tail_ = buf_.size() - (nl + 1);
    buf_.resize(nl + 1);
  }
  return OkStatus();
}

bool ReverseLineReader::Fill() {
  const std::uint64_t n = std::min<std::uint64_t>(kReadBlock, block_start_);
  const std::uint64_t from = block_start_ - n;
  auto got = storage_->Read(chain_, file_, from, n);
  if (!got.ok()) {
    error_ = std::move(got).error();
    return false;
  }
  if (got->size() != n) {
    error_ =
        Error(Code::kUnavailable, "cannot read " + path_ + ": the file shrank while being read");
    return false;
  }
  std::string block = std::move(got).value();
  block += buf_;
  buf_ = std::move(block);
  block_start_ = from;
  return true;
}

bool ReverseLineReader::Prev(std::string* line, std::uint64_t* offset) {
  while (true) {
    if (buf_.empty()) return false;
    // buf_ ends with the '\n' of the line to hand out.
    const std::size_t prev_nl =
        buf_.size() >= 2 ? buf_.rfind('\n', buf_.size() - 2) : std::string::npos;
    if (prev_nl != std::string::npos) {
      line->assign(buf_, prev_nl + 1, buf_.size() - prev_nl - 2);
      *offset = block_start_ + prev_nl + 1;
      buf_.resize(prev_nl + 1);
      return true;
    }
    if (block_start_ == 0) {
      line->assign(buf_, 0, buf_.size() - 1);
      *offset = 0;
      buf_.clear();
      return true;
    }
    if (!Fill()) return false;
  }
}

}  // namespace arca::audit
