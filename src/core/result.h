#pragma once
// Errors are values in Arca: every fallible function in core, crypto, store and the domains returns
// Result<T>. No exception crosses a module boundary.

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace arca {

// Protocol-independent error codes. Each front-end maps them to its own wire shape
// (for AWS: `__type` and an HTTP status). Keep this list about *what went wrong*, not about a protocol.
enum class Code {
  kOk = 0,
  // Caller errors.
  kValidation,             // a parameter breaks the API model's constraints (length, range, pattern)
  kInvalidParameter,       // a parameter has a bad value for the service's own rules
  kInvalidRequest,         // parameters fine, but not valid for the resource's current state
  kMissingParameter,       // a required parameter is absent
  kSerialization,          // the request body could not be decoded
  kUnknownOperation,       // the protocol names an operation that does not exist
  kInvalidNextToken,
  kNotFound,
  kAlreadyExists,
  kLimitExceeded,
  kMalformedPolicy,
  kPublicPolicy,
  kPreconditionNotMet,
  kPayloadTooLarge,
  // Authentication and authorization.
  kMissingAuthentication,  // no credentials at all
  kIncompleteSignature,    // the Authorization header is missing parts
  kInvalidSignature,       // signature mismatch or outside the allowed clock skew
  kUnrecognizedClient,     // unknown or inactive access key
  kExpiredToken,           // temporary credentials (an STS session) past their expiration
  kAccessDenied,
  // Web-identity federation (STS AssumeRoleWithWebIdentity).
  kInvalidIdentityToken,   // the token is malformed, badly signed, or for another issuer/audience
  kExpiredIdentityToken,   // the token's exp has passed
  kIdpRejectedClaim,       // a claim is unacceptable (nbf/iat in the future, sub missing)
  // Server-side.
  kDecryptionFailure,
  kEncryptionFailure,
  kUnavailable,
  kInternal,
};

std::string_view CodeName(Code code);

// An error: a code, a message that is safe to send to the client, and optional detail for the log
// only (file names, strerror, SQL). Neither may ever contain a secret value.
class Error {
 public:
  Error(Code code, std::string message, std::string detail = {})
      : code_(code), message_(std::move(message)), detail_(std::move(detail)) {}

  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& detail() const { return detail_; }
  // A service's own name for this error where the API defines one the generic code cannot say
  // (CloudTrail's InvalidLookupAttributesException is a kInvalidParameter); empty otherwise.
  // Front-ends use it instead of their table's name, keeping the code's status.
  const std::string& wire_type() const { return wire_type_; }
  Error&& WithWireType(std::string type) && {
    wire_type_ = std::move(type);
    return std::move(*this);
  }

  // "CODE: message (detail)", for logs.
  std::string ToLogString() const;

 private:
  Code code_;
  std::string message_;
  std::string detail_;
  std::string wire_type_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_{Code::kOk, {}};
  bool ok_ = true;
};

using Status = Result<void>;
inline Status OkStatus() { return {}; }

}  // namespace arca

#define ARCA_CONCAT_INNER_(a, b) a##b
#define ARCA_CONCAT_(a, b) ARCA_CONCAT_INNER_(a, b)

// Returns the error of a Result/Status expression from the enclosing function.
#define ARCA_RETURN_IF_ERROR(expr)                    \
  do {                                                \
    auto&& arca_status_ = (expr);                     \
    if (!arca_status_.ok()) {                         \
      return std::move(arca_status_).error();         \
    }                                                 \
  } while (0)

// `ARCA_ASSIGN_OR_RETURN(auto x, Foo());` declares x from Foo()'s value or returns its error.
#define ARCA_ASSIGN_OR_RETURN(lhs, expr) \
  ARCA_ASSIGN_OR_RETURN_IMPL_(ARCA_CONCAT_(arca_result_, __LINE__), lhs, expr)
#define ARCA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) {                                  \
    return std::move(tmp).error();                  \
  }                                                 \
  lhs = std::move(tmp).value()
