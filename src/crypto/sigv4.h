#pragma once
// AWS Signature Version 4 math, shared by the server (verification) and the client (signing).
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/secret_bytes.h"
#include "crypto/hash.h"

namespace arca::crypto::sigv4 {

struct Header {
  std::string name;   // as received; canonicalisation lower-cases it
  std::string value;
};

struct CanonicalInput {
  std::string method;             // "POST"
  std::string path;               // raw request path, e.g. "/" (no query)
  std::string query;              // raw query string without '?', may be empty
  std::vector<Header> headers;    // every header of the request
  std::vector<std::string> signed_headers;  // lower-case names, sorted, as in SignedHeaders=
  std::string payload_hash;       // hex SHA-256 of the body, or x-amz-content-sha256's value
  bool s3_style_path = false;     // S3 does not normalise or double-encode the path
};

// URI-encodes per SigV4 (unreserved characters kept, everything else %XX upper case); '/' kept when
// encode_slash is false.
std::string UriEncode(std::string_view s, bool encode_slash);
std::string CanonicalRequest(const CanonicalInput& in);
// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256(canonical_request)>"
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);
// "DATE/REGION/SERVICE/aws4_request"
std::string CredentialScope(std::string_view date, std::string_view region, std::string_view service);
// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
SecretBytes DeriveSigningKey(const SecretBytes& secret_key, std::string_view date,
                             std::string_view region, std::string_view service);
std::string Signature(const SecretBytes& signing_key, std::string_view string_to_sign);  // hex

// The parsed "Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
// SignedHeaders=a;b, Signature=hex" header (or the X-Amz-* query parameters of a presigned URL).
struct Authorization {
  std::string access_key_id;
  std::string date;     // YYYYMMDD from the scope
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;
  std::string signature;
};
// nullopt with *why set when the header is not a complete SigV4 authorization.
std::optional<Authorization> ParseAuthorization(std::string_view header, std::string* why);

// Signs a request (the client's side): returns the Authorization header value. `headers` must already
// hold host and x-amz-date (and x-amz-security-token when used); all of them are signed.
std::string SignRequest(const SecretBytes& secret_key, std::string_view access_key_id,
                        std::string_view region, std::string_view service, std::string_view amz_date,
                        const CanonicalInput& in_without_signed_headers);

}  // namespace arca::crypto::sigv4
