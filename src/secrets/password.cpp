#include "secrets/password.h"

#include <string>
#include <vector>

#include "crypto/random.h"

namespace arca::secrets {

Result<SecretBytes> GenerateRandomPassword(const GetRandomPasswordInput& in) {
  const std::int64_t length = in.password_length.value_or(kDefaultPasswordLength);
  if (length < 1 || length > kMaxPasswordLength) {
    return Error(Code::kValidation,
                 "1 validation error detected: Value at 'passwordLength' failed to satisfy "
                 "constraint: Member must have value between 1 and 4096");
  }
  const std::string exclude = in.exclude_characters.value_or("");
  auto filtered = [&](std::string_view set) {
    std::string out;
    for (char c : set) {
      if (exclude.find(c) == std::string::npos) out += c;
    }
    return out;
  };
  std::vector<std::string> types;
  if (!in.exclude_lowercase.value_or(false)) types.push_back(filtered("abcdefghijklmnopqrstuvwxyz"));
  if (!in.exclude_uppercase.value_or(false)) types.push_back(filtered("ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
  if (!in.exclude_numbers.value_or(false)) types.push_back(filtered("0123456789"));
  if (!in.exclude_punctuation.value_or(false)) types.push_back(filtered(kPasswordPunctuation));
  if (in.include_space.value_or(false)) types.push_back(filtered(" "));
  std::erase_if(types, [](const std::string& t) { return t.empty(); });

  std::string all;
  for (const auto& t : types) all += t;
  if (all.empty()) {
    return Error(Code::kInvalidParameter,
                 "The password character restrictions exclude every character; nothing is left to "
                 "generate a password from.");
  }
  const bool require_each = in.require_each_included_type.value_or(true);
  if (require_each && static_cast<std::int64_t>(types.size()) > length) {
    return Error(Code::kInvalidParameter,
                 "The password length is too short to include a character of each included type.");
  }

  auto pick = [](const std::string& set) {
    return set[crypto::RandomBelow(static_cast<std::uint32_t>(set.size()))];
  };
  SecretBytes out(static_cast<std::size_t>(length));
  char* p = reinterpret_cast<char*>(out.data());  // NOLINT
  for (std::int64_t i = 0; i < length; ++i) p[i] = pick(all);
  if (require_each) {
    // Put one character of each type at distinct random positions (a partial Fisher-Yates over the
    // positions), so each type is present and the positions stay uniform.
    std::vector<std::uint32_t> positions(static_cast<std::size_t>(length));
    for (std::uint32_t i = 0; i < positions.size(); ++i) positions[i] = i;
    for (std::size_t t = 0; t < types.size(); ++t) {
      auto remaining = static_cast<std::uint32_t>(positions.size() - t);
      std::size_t j = t + crypto::RandomBelow(remaining);
      std::swap(positions[t], positions[j]);
      p[positions[t]] = pick(types[t]);
    }
  }
  return out;
}

}  // namespace arca::secrets
