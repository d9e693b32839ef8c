#include "core/result.h"

namespace arca {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "Ok";
    case Code::kValidation: return "Validation";
    case Code::kInvalidParameter: return "InvalidParameter";
    case Code::kInvalidRequest: return "InvalidRequest";
    case Code::kMissingParameter: return "MissingParameter";
    case Code::kSerialization: return "Serialization";
    case Code::kUnknownOperation: return "UnknownOperation";
    case Code::kInvalidNextToken: return "InvalidNextToken";
    case Code::kNotFound: return "NotFound";
    case Code::kAlreadyExists: return "AlreadyExists";
    case Code::kLimitExceeded: return "LimitExceeded";
    case Code::kMalformedPolicy: return "MalformedPolicy";
    case Code::kPublicPolicy: return "PublicPolicy";
    case Code::kPreconditionNotMet: return "PreconditionNotMet";
    case Code::kPayloadTooLarge: return "PayloadTooLarge";
    case Code::kMissingAuthentication: return "MissingAuthentication";
    case Code::kIncompleteSignature: return "IncompleteSignature";
    case Code::kInvalidSignature: return "InvalidSignature";
    case Code::kUnrecognizedClient: return "UnrecognizedClient";
    case Code::kExpiredToken: return "ExpiredToken";
    case Code::kAccessDenied: return "AccessDenied";
    case Code::kInvalidIdentityToken: return "InvalidIdentityToken";
    case Code::kExpiredIdentityToken: return "ExpiredIdentityToken";
    case Code::kIdpRejectedClaim: return "IdpRejectedClaim";
    case Code::kDecryptionFailure: return "DecryptionFailure";
    case Code::kEncryptionFailure: return "EncryptionFailure";
    case Code::kUnavailable: return "Unavailable";
    case Code::kInternal: return "Internal";
  }
  return "Unknown";
}

std::string Error::ToLogString() const {
  std::string out(CodeName(code_));
  out += ": ";
  out += message_;
  if (!detail_.empty()) {
    out += " (";
    out += detail_;
    out += ")";
  }
  return out;
}

}  // namespace arca
