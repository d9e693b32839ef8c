#pragma once
// Small pieces of Go's standard library whose exact output ESO's behaviour depends on: base64 as
// encoding/base64 decodes it, strconv.Quote, fmt's %v of a float64, encoding/json's string and
// number encoding.
//
// Thread-safety: free functions without shared state.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace arca::op {

// encoding/base64's StdEncoding (url=false) or URLEncoding (url=true) DecodeString: padded,
// '\r' and '\n' ignored, trailing bits need not be zero. nullopt on invalid input, with
// *bad_byte (when given) the offset Go's CorruptInputError reports.
std::optional<std::string> GoBase64Decode(std::string_view in, bool url,
                                          std::size_t* bad_byte = nullptr);
std::string GoBase64Encode(std::string_view in, bool url = false);

// strconv.Quote (what fmt's %q does with a string).
std::string GoQuote(std::string_view s);

// fmt's %v of a float64 (strconv 'g', shortest, %e from exponent -5 or 6 on).
std::string GoFormatFloatV(double d);
// encoding/json's float64 text ('f', or 'e' below 1e-6 / from 1e21, exponent without leading 0).
std::string GoJsonFloat(double d);
// encoding/json's quoted string; `escape_html` turns <, >, & into \u003c, \u003e, \u0026 (json.Marshal
// does; an Encoder with SetEscapeHTML(false) does not).
std::string GoJsonString(std::string_view s, bool escape_html);

}  // namespace arca::op
