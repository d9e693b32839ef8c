#pragma once
// What the JSON 1.1 front-ends (secretsmanager, ssm, kms) share to decode a request: typed member
// getters over a parsed body with AWS's wording for a missing or mistyped member, and the table that
// maps an operation name to its handler.
//
// Members of the wrong JSON type are kSerialization ("Unexpected value type for X: expected Y.").
// How a missing required member is worded depends on the service (MissingStyle), so the getters that
// can report one are members of a JsonDecoder built for that style.
//
// Thread-safety: stateless functions; a JsonDecoder is immutable and may be shared.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "frontends/aws/json_protocol.h"

namespace arca::frontends::aws {

// kSerialization "Unexpected value type for <member>: expected <want>."
Error BadType(std::string_view member, std::string_view want);

// A list of strings at `key`; nullopt when absent.
Result<std::optional<std::vector<std::string>>> OptStringList(const boost::json::object& o,
                                                              std::string_view key);
// The same, empty when absent.
Result<std::vector<std::string>> StringListOrEmpty(const boost::json::object& o, std::string_view key);
// A boolean at `key`; false when absent.
Result<bool> FlagOrFalse(const boost::json::object& o, std::string_view key);

// Calls `one(const boost::json::object&) -> Status` for each element of the list of structures at
// `key`; false when the list is absent.
template <typename Fn>
Result<bool> ForEachStruct(const boost::json::object& o, std::string_view key, Fn one) {
  ARCA_ASSIGN_OR_RETURN(const boost::json::array* a, json::GetArray(o, key));
  if (a == nullptr) return false;
  for (const boost::json::value& v : *a) {
    if (!v.is_object()) return BadType(key, "a list of structures");
    ARCA_RETURN_IF_ERROR(one(v.get_object()));
  }
  return true;
}

// The T of the Result<T> that a structure decoder `Fn` returns.
template <typename Fn>
using DecodedType = std::remove_cvref_t<
    decltype(std::declval<std::invoke_result_t<Fn&, const boost::json::object&>>().value())>;

// The list of structures at `key`, each decoded by `one(const boost::json::object&) -> Result<T>`;
// nullopt when absent.
template <typename Fn, typename T = DecodedType<Fn>>
Result<std::optional<std::vector<T>>> OptStructList(const boost::json::object& o, std::string_view key,
                                                    Fn one) {
  std::vector<T> out;
  ARCA_ASSIGN_OR_RETURN(bool present, ForEachStruct(o, key, [&](const boost::json::object& s) -> Status {
    ARCA_ASSIGN_OR_RETURN(T item, one(s));
    out.push_back(std::move(item));
    return OkStatus();
  }));
  if (!present) return std::optional<std::vector<T>>();
  return std::optional<std::vector<T>>(std::move(out));
}

// The same, empty when absent.
template <typename Fn, typename T = DecodedType<Fn>>
Result<std::vector<T>> StructListOrEmpty(const boost::json::object& o, std::string_view key, Fn one) {
  ARCA_ASSIGN_OR_RETURN(std::optional<std::vector<T>> list, OptStructList(o, key, std::move(one)));
  if (!list.has_value()) return std::vector<T>();
  return std::move(*list);
}

// How a service words a required member that is absent.
enum class MissingStyle {
  // Secrets Manager: kMissingParameter "You must provide a value for the SecretId parameter."
  kProvideValue,
  // SSM and KMS (the API model's validation): kValidation, wire type ValidationException,
  // "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not
  // be null" (the member name with its first letter lower-cased).
  kValueNull,
};

// The getters of required members, for one service's MissingStyle.
// Thread-safety: immutable.
class JsonDecoder {
 public:
  constexpr explicit JsonDecoder(MissingStyle style) : style_(style) {}

  // The error for the absent required member `member`.
  Error Missing(std::string_view member) const;

  Result<std::string> RequiredString(const boost::json::object& o, std::string_view key) const;
  Result<std::vector<std::string>> RequiredStringList(const boost::json::object& o,
                                                      std::string_view key) const;
  // OptStructList, with Missing(key) when absent.
  template <typename Fn, typename T = DecodedType<Fn>>
  Result<std::vector<T>> RequiredStructList(const boost::json::object& o, std::string_view key, Fn one) const {
    ARCA_ASSIGN_OR_RETURN(std::optional<std::vector<T>> list, OptStructList(o, key, std::move(one)));
    if (!list.has_value()) return Missing(key);
    return std::move(*list);
  }

 private:
  MissingStyle style_;
};

// ---- dispatch -----------------------------------------------------------------------------------

// kUnknownOperation "The operation <operation> is not supported."
Error UnknownOperation(std::string_view operation);

// A front-end's operations by name: each decodes its input, calls `Service` with the domain's
// `Context`, and encodes the output.
template <typename Service, typename Context>
using OperationTable =
    std::unordered_map<std::string_view, Result<std::string> (*)(Service&, const Context&, boost::json::object&)>;

// Runs ctx.operation from `table` against `service` with the domain context made from `ctx`
// (region, request id, caller ARN, authorization gate).
template <typename Service, typename Context>
Result<std::string> RunOperation(const OperationTable<Service, Context>& table, Service& service,
                                 const OperationContext& ctx, boost::json::object& input) {
  auto it = table.find(ctx.operation);
  if (it == table.end()) return UnknownOperation(ctx.operation);
  Context domain_ctx{ctx.region, ctx.request_id, ctx.caller.arn, ctx.gate};
  return it->second(service, domain_ctx, input);
}

}  // namespace arca::frontends::aws
