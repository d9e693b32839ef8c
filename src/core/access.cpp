#include "core/access.h"

#include <algorithm>

#include "core/strings.h"

namespace arca::access {

namespace {

bool IEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

}  // namespace

void ContextKeys::Set(std::string_view key, std::string value) {
  std::vector<std::string> values;
  values.push_back(std::move(value));
  Set(key, std::move(values));
}

void ContextKeys::Set(std::string_view key, std::vector<std::string> values) {
  for (auto& [name, held] : entries_) {
    if (IEqual(name, key)) {
      held = std::move(values);
      return;
    }
  }
  entries_.emplace_back(AsciiLower(key), std::move(values));
}

void ContextKeys::Add(std::string_view key, std::string value) {
  for (auto& [name, held] : entries_) {
    if (IEqual(name, key)) {
      held.push_back(std::move(value));
      return;
    }
  }
  entries_.emplace_back(AsciiLower(key), std::vector<std::string>{std::move(value)});
}

void ContextKeys::Remove(std::string_view key) {
  std::erase_if(entries_, [&](const auto& e) { return IEqual(e.first, key); });
}

const std::vector<std::string>* ContextKeys::Find(std::string_view key) const {
  for (const auto& [name, held] : entries_) {
    if (IEqual(name, key)) return &held;
  }
  return nullptr;
}

AllowAll& AllowAll::Instance() {
  static AllowAll instance;
  return instance;
}

}  // namespace arca::access
