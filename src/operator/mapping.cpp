#include "operator/mapping.h"

#include <cstdio>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "operator/go_regexp.h"
#include "operator/go_text.h"
#include "operator/json_path.h"
#include "operator/template.h"

namespace arca::op {
namespace {

// One UTF-8 character at s[i]: its code point (or -1 when invalid) and width.
std::pair<std::int32_t, std::size_t> Rune(std::string_view s, std::size_t i) {
  const auto c0 = static_cast<unsigned char>(s[i]);
  if (c0 < 0x80) return {c0, 1};
  std::size_t width = c0 >= 0xF0 ? 4 : c0 >= 0xE0 ? 3 : c0 >= 0xC0 ? 2 : 1;
  if (width == 1 || i + width > s.size()) return {-1, 1};
  std::int32_t cp = c0 & (0x7F >> width);
  for (std::size_t k = 1; k < width; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return {-1, 1};
    cp = (cp << 6) | (c & 0x3F);
  }
  return {cp, width};
}

// unicode.IsLetter || unicode.IsNumber, approximately beyond ASCII: punctuation, symbols and
// spaces of the common blocks are not; other characters are taken as letters.
bool IsLetterOrNumber(std::int32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
  }
  if (cp < 0xA0) return false;
  if (cp < 0xC0) {
    return cp == 0xAA || cp == 0xB5 || cp == 0xBA || cp == 0xB2 || cp == 0xB3 || cp == 0xB9 ||
           (cp >= 0xBC && cp <= 0xBE);
  }
  if (cp == 0xD7 || cp == 0xF7) return false;
  if (cp >= 0x2000 && cp <= 0x2BFF) return false;  // punctuation, symbols, arrows, math, boxes
  if (cp >= 0x3000 && cp <= 0x303F) return false;  // CJK punctuation
  if (cp >= 0xFE30 && cp <= 0xFE4F) return false;
  if (cp >= 0xFF00 && cp <= 0xFF0F) return false;
  if (cp >= 0x1F000 && cp <= 0x1FAFF) return false;  // emoji and pictographs
  return true;
}

bool IsKeyChar(std::int32_t cp) { return IsLetterOrNumber(cp) || cp == '-' || cp == '.' || cp == '_'; }

// Go's json.Marshal of a map[string]string (sorted keys, HTML escaped).
std::string TagsJson(const std::map<std::string, std::string>& tags) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : tags) {
    if (!first) out.push_back(',');
    first = false;
    out += GoJsonString(k, true);
    out.push_back(':');
    out += GoJsonString(v, true);
  }
  out.push_back('}');
  return out;
}

Error WithContext(const Error& e, const std::string& context) {
  Error out(e.code(), context + ": " + e.message(), e.detail());
  if (!e.wire_type().empty()) return std::move(out).WithWireType(e.wire_type());
  return out;
}

// Reads through the sources, with ESO's per-sync cache of remote values.
// Thread-safety: one instance per ComputeSecret call; not shared.
class Reader {
 public:
  explicit Reader(const SourceResolver& sources) : sources_(sources) {}

  // ESO's provider GetSecret: the value (or tags) then `property`. *gone is set when the remote
  // secret itself does not exist (NoSecretErr).
  Result<SecretBytes> GetSecret(const std::optional<StoreRef>& store, const RemoteRef& ref, bool* gone) {
    *gone = false;
    ARCA_ASSIGN_OR_RETURN(SecretSource * src, sources_(store));
    const bool fetch = ref.metadata == MetadataPolicy::kFetch;
    auto cache_key = std::make_tuple(src, ref.key, ref.version, fetch);
    auto it = cache_.find(cache_key);
    if (it == cache_.end()) {
      Result<SecretBytes> value = SecretBytes();
      if (fetch) {
        auto tags = src->GetTags(ref.key, ref.version);
        if (!tags.ok()) {
          value = std::move(tags).error();
        } else {
          value = SecretBytes::CopyOf(TagsJson(*tags));
        }
      } else {
        value = src->GetValue(ref.key, ref.version);
      }
      if (!value.ok()) {
        *gone = value.error().code() == Code::kNotFound;
        return std::move(value).error();
      }
      it = cache_.emplace(cache_key, std::move(value).value()).first;
    }
    if (ref.property.empty()) return it->second.Clone();
    auto v = LookupProperty(it->second.view(), ref.property);
    if (!v) {
      return Error(Code::kNotFound, "key " + ref.property + " does not exist in secret " + ref.key);
    }
    return SecretBytes::FromString(std::move(*v));
  }

  // ESO's GetSecretMap (dataFrom.extract).
  Result<std::map<std::string, SecretBytes>> GetSecretMap(const std::optional<StoreRef>& store,
                                                          const RemoteRef& ref, bool* gone) {
    ARCA_ASSIGN_OR_RETURN(SecretBytes value, GetSecret(store, ref, gone));
    auto members = JsonObjectMembers(value.view());
    if (!members.ok()) {
      return Error(Code::kInvalidParameter,
                   "unable to unmarshal secret " + ref.key + ": " + members.error().message());
    }
    std::map<std::string, SecretBytes> out;
    for (auto& [k, v] : *members) out[k] = SecretBytes::FromString(std::move(v));
    return out;
  }

  Result<std::map<std::string, SecretBytes>> Find(const std::optional<StoreRef>& store, const FindSpec& f,
                                                  bool* gone) {
    *gone = false;
    ARCA_ASSIGN_OR_RETURN(SecretSource * src, sources_(store));
    FindQuery q;
    q.name_regexp = f.name_regexp;
    q.tags = f.tags;
    q.path = f.path;
    auto r = src->Find(q);
    if (!r.ok()) *gone = r.error().code() == Code::kNotFound;
    return r;
  }

 private:
  const SourceResolver& sources_;
  std::map<std::tuple<SecretSource*, std::string, std::string, bool>, SecretBytes> cache_;
};

Status CheckNullBytes(NullBytePolicy policy, const std::string& key, const SecretBytes& v) {
  if (policy == NullBytePolicy::kFail && v.view().find('\0') != std::string_view::npos) {
    return Error(Code::kInvalidParameter, "key " + key + " contains a null byte (nullBytePolicy: Fail)");
  }
  return OkStatus();
}

// ESO's ValidateKeys: drops empty keys, rejects long keys and characters outside letters, digits,
// '-', '.', '_'.
Status ValidateKeys(std::map<std::string, SecretBytes>* m) {
  for (auto it = m->begin(); it != m->end();) {
    const std::string& key = it->first;
    if (key.empty()) {
      it = m->erase(it);
      continue;
    }
    if (key.size() > 253) {
      return Error(Code::kInvalidParameter, "key has length " + std::to_string(key.size()) +
                                                " but max is 253: (following is truncated): " + key.substr(0, 253));
    }
    for (std::size_t i = 0; i < key.size();) {
      auto [cp, width] = Rune(key, i);
      if (cp < 0 || !IsKeyChar(cp)) {
        return Error(Code::kInvalidParameter, "key has invalid character " + key.substr(i, width) +
                                                  ", only alphanumeric, '-', '.' and '_' are allowed: " + key);
      }
      i += width;
    }
    ++it;
  }
  return OkStatus();
}

std::map<std::string, std::string> AsStrings(const std::map<std::string, SecretBytes>& m) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : m) out.emplace(k, std::string(v.view()));
  return out;
}

void Wipe(std::map<std::string, std::string>& m) {
  for (auto& [k, v] : m) SecureWipe(v);
}

}  // namespace

Result<SecretBytes> DecodeValue(DecodingStrategy strategy, const SecretBytes& in) {
  switch (strategy) {
    case DecodingStrategy::kNone:
      return in.Clone();
    case DecodingStrategy::kBase64:
    case DecodingStrategy::kBase64Url: {
      std::size_t bad = 0;
      auto out = GoBase64Decode(in.view(), strategy == DecodingStrategy::kBase64Url, &bad);
      if (!out) return Error(Code::kInvalidParameter, "illegal base64 data at input byte " + std::to_string(bad));
      return SecretBytes::FromString(std::move(*out));
    }
    case DecodingStrategy::kAuto: {
      if (auto out = GoBase64Decode(in.view(), false)) return SecretBytes::FromString(std::move(*out));
      if (auto out = GoBase64Decode(in.view(), true)) return SecretBytes::FromString(std::move(*out));
      return in.Clone();
    }
  }
  return in.Clone();
}

std::string ConvertKey(ConversionStrategy strategy, std::string_view key) {
  std::string out;
  for (std::size_t i = 0; i < key.size();) {
    auto [cp, width] = Rune(key, i);
    if (cp >= 0 && IsKeyChar(cp)) {
      out.append(key.substr(i, width));
    } else if (strategy == ConversionStrategy::kUnicode) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "_U%04x_", static_cast<unsigned>(cp < 0 ? 0xFFFD : cp));
      out += buf;
    } else {
      out.push_back('_');
    }
    i += width;
  }
  return out;
}

Result<std::map<std::string, SecretBytes>> RewriteKeys(const std::vector<Rewrite>& ops,
                                                       std::map<std::string, SecretBytes> in) {
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Rewrite& op = ops[i];
    const std::string where = "failed rewrite operation[" + std::to_string(i) + "]: ";
    std::map<std::string, SecretBytes> out;
    if (op.kind == Rewrite::Kind::kRegexp) {
      auto re = GoRegexp::Compile(op.source);
      if (!re.ok()) return Error(Code::kInvalidParameter, where + "regexp failed with failed to compile: " + re.error().message());
      for (auto& [k, v] : in) out[re->ReplaceAllString(k, op.target)] = std::move(v);
    } else {
      auto t = tmpl::Template::Parse("transform", op.templ);
      if (!t.ok()) return Error(Code::kInvalidParameter, where + "transform failed with failed to parse template: " + t.error().message());
      for (auto& [k, v] : in) {
        tmpl::Value::Map dot;
        dot["value"] = tmpl::Value::String(k);
        auto key = t->Execute(tmpl::Value::MakeMap(std::move(dot), true), /*missing_key_error=*/false);
        if (!key.ok()) {
          return Error(Code::kInvalidParameter, where + "transform failed with failed to execute template for key \"" +
                                                    k + "\": " + key.error().message());
        }
        out[*key] = std::move(v);
      }
    }
    in = std::move(out);
  }
  return in;
}

// Tells each source which current values the sync will read, so it can batch them.
void Prefetch(const ExternalSecret& es, const SourceResolver& sources) {
  std::map<SecretSource*, std::set<std::string>> keys;
  auto add = [&](const std::optional<StoreRef>& store, const RemoteRef& ref) {
    if (ref.metadata == MetadataPolicy::kFetch || (!ref.version.empty() && ref.version != "AWSCURRENT")) return;
    auto src = sources(store);
    if (src.ok()) keys[*src].insert(ref.key);
  };
  for (const auto& d : es.data) add(d.store, d.remote_ref);
  for (const auto& d : es.data_from) {
    if (d.extract) add(d.store, *d.extract);
  }
  for (const auto& [src, set] : keys) {
    if (set.size() >= 2) src->Prefetch(std::vector<std::string>(set.begin(), set.end()));
  }
}

Result<DesiredSecret> ComputeSecret(const ExternalSecret& es, const SourceResolver& sources) {
  DesiredSecret out;
  Prefetch(es, sources);
  Reader reader(sources);
  std::map<std::string, SecretBytes> provider;
  const bool skip_gone = es.target.deletion != DeletionPolicy::kRetain;
  std::size_t entries = 0;
  std::size_t gone_entries = 0;

  for (std::size_t i = 0; i < es.data_from.size(); ++i) {
    const DataFromEntry& df = es.data_from[i];
    const std::string where = "spec.dataFrom[" + std::to_string(i) + "]";
    ++entries;
    bool gone = false;
    Result<std::map<std::string, SecretBytes>> got = std::map<std::string, SecretBytes>();
    DecodingStrategy decoding = DecodingStrategy::kNone;
    ConversionStrategy conversion = ConversionStrategy::kDefault;
    NullBytePolicy null_bytes = NullBytePolicy::kIgnore;
    std::string what;
    if (df.extract) {
      what = "extract";
      got = reader.GetSecretMap(df.store, *df.extract, &gone);
      decoding = df.extract->decoding;
      conversion = df.extract->conversion;
      null_bytes = df.extract->null_bytes;
    } else if (df.find) {
      what = "find";
      got = reader.Find(df.store, *df.find, &gone);
      decoding = df.find->decoding;
      conversion = df.find->conversion;
      null_bytes = df.find->null_bytes;
    }
    if (!got.ok()) {
      if (gone && skip_gone) {
        ++gone_entries;
        out.skipped.push_back(where + ": " + got.error().message());
        continue;
      }
      return WithContext(got.error(), where + " (" + what + (df.extract ? " " + df.extract->key : "") + ")");
    }
    std::map<std::string, SecretBytes> m = std::move(got).value();
    auto rewritten = RewriteKeys(df.rewrite, std::move(m));
    if (!rewritten.ok()) return WithContext(rewritten.error(), where);
    m = std::move(rewritten).value();
    if (df.rewrite.empty()) {
      std::map<std::string, SecretBytes> converted;
      for (auto& [k, v] : m) {
        std::string key = ConvertKey(conversion, k);
        if (converted.contains(key)) {
          return Error(Code::kInvalidParameter, where + ": secret name collision during conversion: " + key);
        }
        converted.emplace(std::move(key), std::move(v));
      }
      m = std::move(converted);
    }
    if (auto st = ValidateKeys(&m); !st.ok()) {
      return WithContext(st.error(), "invalid key in " + where + " (" + what + ")");
    }
    for (auto& [k, v] : m) {
      auto decoded = DecodeValue(decoding, v);
      if (!decoded.ok()) {
        return Error(Code::kInvalidParameter,
                     "error decoding " + where + ": failure decoding key " + k + ": " + decoded.error().message());
      }
      if (auto st = CheckNullBytes(null_bytes, k, *decoded); !st.ok()) return WithContext(st.error(), where);
      provider[k] = std::move(decoded).value();
    }
  }

  for (std::size_t i = 0; i < es.data.size(); ++i) {
    const DataEntry& d = es.data[i];
    const std::string where = "spec.data[" + std::to_string(i) + "]";
    ++entries;
    bool gone = false;
    auto v = reader.GetSecret(d.store, d.remote_ref, &gone);
    if (!v.ok()) {
      if (gone && skip_gone) {
        ++gone_entries;
        out.skipped.push_back(where + ": " + v.error().message());
        continue;
      }
      return WithContext(v.error(), where + " (key " + d.remote_ref.key + ")");
    }
    auto decoded = DecodeValue(d.remote_ref.decoding, *v);
    if (!decoded.ok()) return Error(Code::kInvalidParameter, "error decoding " + where + ": " + decoded.error().message());
    if (auto st = CheckNullBytes(d.remote_ref.null_bytes, d.secret_key, *decoded); !st.ok()) {
      return WithContext(st.error(), where);
    }
    provider[d.secret_key] = std::move(decoded).value();
  }
  out.all_sources_gone = entries > 0 && gone_entries == entries;

  const auto& templ = es.target.templ;
  if (!templ) {
    out.data = std::move(provider);
    out.labels = es.labels;
    out.annotations = es.annotations;
  } else {
    out.type = templ->type;
    if (templ->merge == TemplateMergePolicy::kMerge || templ->data.empty()) {
      for (const auto& [k, v] : provider) out.data[k] = v.Clone();
    }
    std::map<std::string, std::string> strings = AsStrings(provider);
    const tmpl::Value dot = tmpl::DataValue(strings);
    Wipe(strings);
    auto run = [&](const std::string& where, const std::string& key, const std::string& text) -> Result<std::string> {
      auto t = tmpl::Template::Parse(key, text);
      if (!t.ok()) return WithContext(t.error(), where);
      auto r = t->Execute(dot);
      if (!r.ok()) return WithContext(r.error(), where);
      return r;
    };
    for (const auto& [k, text] : templ->data) {
      ARCA_ASSIGN_OR_RETURN(std::string v, run("spec.target.template.data." + k, k, text));
      out.data[k] = SecretBytes::FromString(std::move(v));
    }
    for (const auto& [k, text] : templ->labels) {
      ARCA_ASSIGN_OR_RETURN(out.labels[k], run("spec.target.template.metadata.labels." + k, k, text));
    }
    for (const auto& [k, text] : templ->annotations) {
      ARCA_ASSIGN_OR_RETURN(out.annotations[k], run("spec.target.template.metadata.annotations." + k, k, text));
    }
  }
  for (const auto& [k, v] : out.data) {
    if (auto why = SecretKeyProblem(k); !why.empty()) {
      return Error(Code::kInvalidParameter, "the Secret cannot hold key \"" + k + "\": " + why);
    }
  }
  return out;
}

}  // namespace arca::op
