#include "frontends/aws/json_writer.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/secret_bytes.h"

namespace arca::frontends::aws {

JsonWriter::JsonWriter(std::size_t reserve) { out_.reserve(reserve); }

JsonWriter::~JsonWriter() { SecureWipe(out_.data(), out_.size()); }

void JsonWriter::Reserve(std::size_t extra) {
  if (out_.size() + extra <= out_.capacity()) return;
  // Grow into a fresh buffer and wipe the old one: it may hold a secret value.
  std::string grown;
  grown.reserve(std::max(out_.capacity() * 2, out_.size() + extra));
  grown.append(out_);
  SecureWipe(out_.data(), out_.size());
  out_.swap(grown);
}

void JsonWriter::Append(std::string_view s) {
  Reserve(s.size());
  out_.append(s);
}

void JsonWriter::Append(char c) {
  Reserve(1);
  out_.push_back(c);
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) Append(',');
    first_.back() = false;
  }
}

JsonWriter& JsonWriter::BeginObject() {
  BeforeValue();
  Append('{');
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  Append('}');
  if (!first_.empty()) first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  BeforeValue();
  Append('[');
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  Append(']');
  if (!first_.empty()) first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  BeforeValue();
  AppendEscaped(key);
  Append(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view s) {
  BeforeValue();
  AppendEscaped(s);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool b) {
  BeforeValue();
  Append(b ? std::string_view("true") : std::string_view("false"));
  return *this;
}

JsonWriter& JsonWriter::Int(std::int64_t i) {
  BeforeValue();
  Append(std::to_string(i));
  return *this;
}

JsonWriter& JsonWriter::Timestamp(TimePoint t) {
  BeforeValue();
  std::int64_t ms = ToUnixMillis(t);
  std::int64_t secs = ms / 1000;
  std::int64_t frac = ms % 1000;
  if (frac < 0) {  // before 1970: floor, so the fraction stays positive
    secs -= 1;
    frac += 1000;
  }
  char buf[40];
  int n = std::snprintf(buf, sizeof(buf), "%lld.%03lld", static_cast<long long>(secs),
                        static_cast<long long>(frac));
  Append(std::string_view(buf, static_cast<std::size_t>(n)));
  return *this;
}

JsonWriter& JsonWriter::StringList(std::string_view key, const std::vector<std::string>& items) {
  Key(key).BeginArray();
  for (const auto& s : items) String(s);
  return EndArray();
}

void JsonWriter::AppendEscaped(std::string_view s) {
  // Worst case every byte becomes "\u00XX"; reserve for the common case and let Append grow.
  Reserve(s.size() + 2);
  out_.push_back('"');
  std::size_t run = 0;  // start of the current run of bytes that need no escaping
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    Append(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"': Append("\\\""); break;
      case '\\': Append("\\\\"); break;
      case '\n': Append("\\n"); break;
      case '\r': Append("\\r"); break;
      case '\t': Append("\\t"); break;
      case '\b': Append("\\b"); break;
      case '\f': Append("\\f"); break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        Append(std::string_view(buf, 6));
      }
    }
  }
  Append(s.substr(run));
  Append('"');
}

std::string JsonWriter::Take() {
  std::string out;
  out.swap(out_);
  first_.clear();
  after_key_ = false;
  return out;
}

}  // namespace arca::frontends::aws
