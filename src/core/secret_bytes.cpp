#include "core/secret_bytes.h"

#include <cstring>
#include <string.h>  // explicit_bzero

namespace arca {

void SecureWipe(void* data, std::size_t size) {
  if (data != nullptr && size > 0) {
    explicit_bzero(data, size);
  }
}

SecretBytes::SecretBytes(const void* data, std::size_t size) : bytes_(size) {
  if (size > 0) {
    std::memcpy(bytes_.data(), data, size);
  }
}

SecretBytes SecretBytes::FromString(std::string&& s) {
  SecretBytes out(s.data(), s.size());
  SecureWipe(s);
  s.clear();
  return out;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {
  other.Wipe();
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    bytes_ = std::move(other.bytes_);
    other.Wipe();
  }
  return *this;
}

SecretBytes::~SecretBytes() { Wipe(); }

void SecretBytes::Wipe() {
  SecureWipe(bytes_.data(), bytes_.capacity() > 0 ? bytes_.size() : 0);
  bytes_.clear();
  bytes_.shrink_to_fit();
}

void SecretBytes::resize(std::size_t n) {
  if (n <= bytes_.capacity()) {
    if (n < bytes_.size()) {
      SecureWipe(bytes_.data() + n, bytes_.size() - n);
    }
    bytes_.resize(n);
    return;
  }
  // Growing may reallocate: copy into a fresh buffer so the old one can be wiped.
  std::vector<std::uint8_t> grown(n);
  if (!bytes_.empty()) {
    std::memcpy(grown.data(), bytes_.data(), bytes_.size());
  }
  Wipe();
  bytes_ = std::move(grown);
}

void SecretBytes::append(const void* data, std::size_t size) {
  std::size_t old = bytes_.size();
  if (old + size > bytes_.capacity()) {
    std::vector<std::uint8_t> grown;
    grown.reserve((old + size) * 2);
    grown.resize(old);
    if (old > 0) {
      std::memcpy(grown.data(), bytes_.data(), old);
    }
    Wipe();
    bytes_ = std::move(grown);
  }
  bytes_.resize(old + size);
  if (size > 0) {
    std::memcpy(bytes_.data() + old, data, size);
  }
}

}  // namespace arca
