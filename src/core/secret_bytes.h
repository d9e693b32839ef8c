#pragma once
// SecretBytes holds a secret value (a secret's plaintext, a data key, a master key, an access key's
// secret). It cannot be copied (Clone() is explicit), is wiped when destroyed and when moved from, and
// has no operator<<: streaming or formatting one is a compile error, so it cannot reach a log by accident.
//
// Thread-safety: like std::string; no internal synchronisation.

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace arca {

// Overwrites memory in a way the optimiser may not remove.
void SecureWipe(void* data, std::size_t size);
inline void SecureWipe(std::string& s) { SecureWipe(s.data(), s.size()); }

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t size) : bytes_(size) {}
  SecretBytes(const void* data, std::size_t size);
  // Takes the string's bytes and wipes the string.
  static SecretBytes FromString(std::string&& s);
  static SecretBytes CopyOf(std::string_view s) { return SecretBytes(s.data(), s.size()); }

  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  SecretBytes Clone() const { return SecretBytes(data(), size()); }

  std::uint8_t* data() { return bytes_.data(); }
  const std::uint8_t* data() const { return bytes_.data(); }
  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  void resize(std::size_t n);  // wipes any bytes it drops or moves
  void append(const void* data, std::size_t size);

  // A view of the bytes as text. The view must not outlive this object and must not be logged.
  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};  // NOLINT
  }

 private:
  void Wipe();
  std::vector<std::uint8_t> bytes_;
};

// Logging or streaming a SecretBytes is a compile error.
std::ostream& operator<<(std::ostream&, const SecretBytes&) = delete;

}  // namespace arca
