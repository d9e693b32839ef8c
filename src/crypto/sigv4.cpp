#include "crypto/sigv4.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "core/strings.h"

namespace arca::crypto::sigv4 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

// Trims and turns every run of whitespace inside into a single space (SigV4's "Trimall").
std::string TrimAll(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (char c : TrimSpace(s)) {
    if (IsAsciiSpace(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes; a '%' not followed by two hex digits stays literal. '+' stays '+' (SigV4
// clients encode spaces as %20, so a raw '+' means a plus sign).
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>((hi << 4) | lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.append(sep);
    out.append(parts[i]);
  }
  return out;
}

// Removes "." and ".." segments and empty segments (repeated '/'), then URI-encodes each segment.
// The path as received is already percent-encoded by the client, so this encodes it a second time,
// as SigV4 specifies for every service but S3 (and as botocore and the other SDKs do).
std::string CanonicalUri(std::string_view path, bool s3_style) {
  if (s3_style) {
    return path.empty() ? std::string("/") : std::string(path);
  }
  std::vector<std::string> segments;
  for (std::string_view seg : SplitOn(path, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    segments.push_back(UriEncode(seg, true));
  }
  std::string out = "/" + Join(segments, "/");
  if (!segments.empty() && !path.empty() && path.back() == '/') out.push_back('/');
  return out;
}

std::string CanonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  for (std::string_view param : SplitOn(query, '&')) {
    if (param.empty()) continue;
    std::size_t eq = param.find('=');
    std::string_view name = param.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    params.emplace_back(UriEncode(PercentDecode(name), true),
                        UriEncode(PercentDecode(value), true));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    out.append(name);
    out.push_back('=');
    out.append(value);
  }
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool encode_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (c == '/' && !encode_slash)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}

std::string CanonicalRequest(const CanonicalInput& in) {
  std::string out;
  out.append(in.method).push_back('\n');
  out.append(CanonicalUri(in.path, in.s3_style_path)).push_back('\n');
  out.append(CanonicalQuery(in.query)).push_back('\n');
  // Lower-case every header name once, not once per signed header.
  std::vector<std::string> lowered;
  lowered.reserve(in.headers.size());
  for (const Header& h : in.headers) lowered.push_back(AsciiLower(TrimSpace(h.name)));
  std::vector<std::string> names;
  names.reserve(in.signed_headers.size());
  for (const std::string& signed_name : in.signed_headers) {
    std::string name = AsciiLower(TrimSpace(signed_name));
    out.append(name).push_back(':');
    bool first = true;
    for (std::size_t i = 0; i < in.headers.size(); ++i) {
      if (lowered[i] != name) continue;
      if (!first) out.push_back(',');
      out.append(TrimAll(in.headers[i].value));
      first = false;
    }
    out.push_back('\n');
    names.push_back(std::move(name));
  }
  out.push_back('\n');
  out.append(Join(names, ";")).push_back('\n');
  out.append(in.payload_hash);
  return out;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out.push_back('\n');
  out.append(amz_date).push_back('\n');
  out.append(scope).push_back('\n');
  out.append(Sha256Hex(canonical_request));
  return out;
}

std::string CredentialScope(std::string_view date, std::string_view region,
                            std::string_view service) {
  std::string out(date);
  out.append("/").append(region).append("/").append(service).append("/aws4_request");
  return out;
}

SecretBytes DeriveSigningKey(const SecretBytes& secret_key, std::string_view date,
                             std::string_view region, std::string_view service) {
  SecretBytes k_secret;
  k_secret.append("AWS4", 4);
  k_secret.append(secret_key.data(), secret_key.size());
  Sha256Digest k_date = HmacSha256(k_secret.view(), date);
  Sha256Digest k_region = HmacSha256(AsView(k_date), region);
  Sha256Digest k_service = HmacSha256(AsView(k_region), service);
  Sha256Digest k_signing = HmacSha256(AsView(k_service), "aws4_request");
  SecretBytes out(k_signing.data(), k_signing.size());
  SecureWipe(k_date.data(), k_date.size());
  SecureWipe(k_region.data(), k_region.size());
  SecureWipe(k_service.data(), k_service.size());
  SecureWipe(k_signing.data(), k_signing.size());
  return out;
}

std::string Signature(const SecretBytes& signing_key, std::string_view string_to_sign) {
  return HexEncode(AsView(HmacSha256(signing_key.view(), string_to_sign)));
}

std::optional<Authorization> ParseAuthorization(std::string_view header, std::string* why) {
  auto fail = [why](std::string message) -> std::optional<Authorization> {
    if (why != nullptr) *why = std::move(message);
    return std::nullopt;
  };
  header = TrimSpace(header);
  if (header.substr(0, kAlgorithm.size()) != kAlgorithm ||
      (header.size() > kAlgorithm.size() && !IsAsciiSpace(header[kAlgorithm.size()]))) {
    return fail(
        "Authorization header must use the AWS4-HMAC-SHA256 algorithm (Signature Version 4).");
  }
  std::string_view rest = header.substr(kAlgorithm.size());

  std::optional<std::string_view> credential;
  std::optional<std::string_view> signed_headers;
  std::optional<std::string_view> signature;
  std::size_t i = 0;
  while (i <= rest.size()) {
    std::size_t comma = rest.find(',', i);
    if (comma == std::string_view::npos) comma = rest.size();
    std::string_view part = TrimSpace(rest.substr(i, comma - i));
    i = comma + 1;
    if (part.empty()) continue;
    std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return fail(
          "Authorization header has a malformed component (expected name=value, separated by "
          "commas).");
    }
    std::string_view name = TrimSpace(part.substr(0, eq));
    std::string_view value = TrimSpace(part.substr(eq + 1));
    if (name == "Credential") {
      credential = value;
    } else if (name == "SignedHeaders") {
      signed_headers = value;
    } else if (name == "Signature") {
      signature = value;
    }
  }

  std::string missing;
  auto require = [&missing](const std::optional<std::string_view>& v, std::string_view name) {
    if (!v || v->empty()) {
      if (!missing.empty()) missing.push_back(' ');
      missing.append("Authorization header requires '").append(name).append("' parameter.");
    }
  };
  require(credential, "Credential");
  require(signed_headers, "SignedHeaders");
  require(signature, "Signature");
  if (!missing.empty()) return fail(missing);

  Authorization out;
  // Credential=AKID/YYYYMMDD/REGION/SERVICE/aws4_request
  std::vector<std::string_view> scope;
  std::string_view c = *credential;
  std::size_t j = 0;
  while (j <= c.size()) {
    std::size_t slash = c.find('/', j);
    if (slash == std::string_view::npos) slash = c.size();
    scope.push_back(c.substr(j, slash - j));
    j = slash + 1;
  }
  const std::string kScopeHelp =
      "Credential must have the form <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request.";
  if (scope.size() != 5 || scope[4] != "aws4_request") return fail(kScopeHelp);
  for (std::size_t k = 0; k < 4; ++k) {
    if (scope[k].empty()) return fail(kScopeHelp);
  }
  if (scope[1].size() != 8 || !std::all_of(scope[1].begin(), scope[1].end(),
                                           [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return fail(kScopeHelp);
  }
  out.access_key_id = std::string(scope[0]);
  out.date = std::string(scope[1]);
  out.region = std::string(scope[2]);
  out.service = std::string(scope[3]);

  std::string_view sh = *signed_headers;
  std::size_t k = 0;
  while (k <= sh.size()) {
    std::size_t semi = sh.find(';', k);
    if (semi == std::string_view::npos) semi = sh.size();
    std::string_view name = TrimSpace(sh.substr(k, semi - k));
    k = semi + 1;
    if (name.empty()) return fail("SignedHeaders must be a ';'-separated list of header names.");
    out.signed_headers.push_back(AsciiLower(name));
  }
  out.signature = std::string(*signature);
  return out;
}

std::string SignRequest(const SecretBytes& secret_key, std::string_view access_key_id,
                        std::string_view region, std::string_view service,
                        std::string_view amz_date,
                        const CanonicalInput& in_without_signed_headers) {
  CanonicalInput in = in_without_signed_headers;
  std::set<std::string> names;
  for (const Header& h : in.headers) names.insert(AsciiLower(TrimSpace(h.name)));
  in.signed_headers.assign(names.begin(), names.end());

  std::string_view date = amz_date.substr(0, 8);
  std::string scope = CredentialScope(date, region, service);
  std::string string_to_sign = StringToSign(amz_date, scope, CanonicalRequest(in));
  SecretBytes signing_key = DeriveSigningKey(secret_key, date, region, service);

  std::string out(kAlgorithm);
  out.append(" Credential=").append(access_key_id).append("/").append(scope);
  out.append(", SignedHeaders=").append(Join(in.signed_headers, ";"));
  out.append(", Signature=").append(Signature(signing_key, string_to_sign));
  return out;
}

}  // namespace arca::crypto::sigv4
