#pragma once
// JsonWriter: builds a JSON document straight into one string, for AWS JSON 1.1 responses.
//
// Why not Boost.JSON's value tree: a response may carry a secret value (GetSecretValue). Written here
// it is escaped once into the output buffer, and the buffer grows by hand so a reallocation never
// leaves an unwiped copy behind; whatever is left when the writer dies is wiped. Timestamps are
// written as AWS JSON does, epoch seconds with a millisecond fraction ("1700000000.123").
//
// The writer does not check the document's structure beyond commas; callers pair Begin/End.
//
// Thread-safety: none; one writer per response.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace arca::frontends::aws {

class JsonWriter {
 public:
  explicit JsonWriter(std::size_t reserve = 256);
  ~JsonWriter();
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view s);
  JsonWriter& Bool(bool b);
  JsonWriter& Int(std::int64_t i);
  JsonWriter& Timestamp(TimePoint t);

  // Key + value shorthands.
  JsonWriter& Member(std::string_view key, std::string_view s) { return Key(key).String(s); }
  JsonWriter& Member(std::string_view key, const char* s) { return Key(key).String(s); }
  JsonWriter& Member(std::string_view key, const std::string& s) { return Key(key).String(s); }
  JsonWriter& Member(std::string_view key, bool b) { return Key(key).Bool(b); }
  JsonWriter& Member(std::string_view key, std::int64_t i) { return Key(key).Int(i); }
  JsonWriter& TimestampMember(std::string_view key, TimePoint t) { return Key(key).Timestamp(t); }
  JsonWriter& StringList(std::string_view key, const std::vector<std::string>& items);

  // The document; the writer is empty afterwards.
  std::string Take();

 private:
  void BeforeValue();
  void Append(std::string_view s);
  void Append(char c);
  void AppendEscaped(std::string_view s);
  void Reserve(std::size_t extra);

  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace arca::frontends::aws
