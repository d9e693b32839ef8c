#pragma once
// Structured logging: one JSON object per line on stderr, through spdlog.
//   log::Info("request", {{"op", "GetSecretValue"}, {"status", 200}});
// Field values are strings, integers, doubles or booleans. SecretBytes converts to none of them, so
// passing a secret value is a compile error; never pass a plaintext you decrypted as a std::string.
//
// Thread-safety: all functions may be called from any thread.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace arca::log {

enum class Level { kDebug, kInfo, kWarn, kError };

class Value {
 public:
  Value(std::string_view s) : v_(std::string(s)) {}  // NOLINT
  Value(const std::string& s) : v_(s) {}             // NOLINT
  Value(const char* s) : v_(std::string(s)) {}       // NOLINT
  Value(bool b) : v_(b) {}                           // NOLINT
  Value(int i) : v_(static_cast<std::int64_t>(i)) {}          // NOLINT
  Value(long i) : v_(static_cast<std::int64_t>(i)) {}         // NOLINT
  Value(long long i) : v_(static_cast<std::int64_t>(i)) {}    // NOLINT
  Value(unsigned i) : v_(static_cast<std::int64_t>(i)) {}     // NOLINT
  Value(unsigned long i) : v_(static_cast<std::int64_t>(i)) {}  // NOLINT
  Value(unsigned long long i) : v_(static_cast<std::int64_t>(i)) {}  // NOLINT
  Value(double d) : v_(d) {}                         // NOLINT
  const std::variant<std::string, std::int64_t, double, bool>& get() const { return v_; }

 private:
  std::variant<std::string, std::int64_t, double, bool> v_;
};

using Fields = std::initializer_list<std::pair<std::string_view, Value>>;

void SetLevel(Level level);
bool ParseLevel(std::string_view name, Level* out);
void Write(Level level, std::string_view msg, Fields fields = {});
inline void Debug(std::string_view msg, Fields f = {}) { Write(Level::kDebug, msg, f); }
inline void Info(std::string_view msg, Fields f = {}) { Write(Level::kInfo, msg, f); }
inline void Warn(std::string_view msg, Fields f = {}) { Write(Level::kWarn, msg, f); }
inline void Error(std::string_view msg, Fields f = {}) { Write(Level::kError, msg, f); }
bool Enabled(Level level);

}  // namespace arca::log
