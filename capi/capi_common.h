// Helpers shared by the two halves of the C ABI (roomrec_c.cpp in libroomrec,
// roomrec_convert_c.cpp in libroomrec-convert): error codes, exception
// guards, JSON objects checked against their known fields. Internal: each
// library compiles its own hidden copy; the per-thread last error lives in
// libroomrec only (roomrec_internal_set_last_error).
#pragma once

#include "roomrec.h"
#include "roomrec_internal.h"

#include <roomrec/srtp.h>
#include <roomrec/status.h>

#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/text.h"

namespace roomrec::capi {

using json = nlohmann::json;

// Every ErrorCode has its pinned C value.
static_assert(ROOMREC_ERR_INVALID_ARGUMENT == -static_cast<int>(ErrorCode::invalid_argument));
static_assert(ROOMREC_ERR_INTERNAL == -static_cast<int>(ErrorCode::internal));

// ---- errors -----------------------------------------------------------------

inline int code_of(ErrorCode c) {
  switch (c) {
    case ErrorCode::ok: return ROOMREC_OK;
    case ErrorCode::invalid_argument: return ROOMREC_ERR_INVALID_ARGUMENT;
    case ErrorCode::not_found: return ROOMREC_ERR_NOT_FOUND;
    case ErrorCode::corrupt: return ROOMREC_ERR_CORRUPT;
    case ErrorCode::io: return ROOMREC_ERR_IO;
    case ErrorCode::resource_exhausted: return ROOMREC_ERR_RESOURCE_EXHAUSTED;
    case ErrorCode::unavailable: return ROOMREC_ERR_UNAVAILABLE;
    case ErrorCode::permission_denied: return ROOMREC_ERR_PERMISSION_DENIED;
    case ErrorCode::timeout: return ROOMREC_ERR_TIMEOUT;
    case ErrorCode::cancelled: return ROOMREC_ERR_CANCELLED;
    case ErrorCode::unsupported: return ROOMREC_ERR_UNSUPPORTED;
    case ErrorCode::internal: return ROOMREC_ERR_INTERNAL;
  }
  return ROOMREC_ERR_INTERNAL;
}

inline ErrorCode error_code_of(int c) {
  switch (c) {
    case ROOMREC_ERR_INVALID_ARGUMENT: return ErrorCode::invalid_argument;
    case ROOMREC_ERR_NOT_FOUND: return ErrorCode::not_found;
    case ROOMREC_ERR_CORRUPT: return ErrorCode::corrupt;
    case ROOMREC_ERR_IO: return ErrorCode::io;
    case ROOMREC_ERR_RESOURCE_EXHAUSTED: return ErrorCode::resource_exhausted;
    case ROOMREC_ERR_UNAVAILABLE: return ErrorCode::unavailable;
    case ROOMREC_ERR_PERMISSION_DENIED: return ErrorCode::permission_denied;
    case ROOMREC_ERR_TIMEOUT: return ErrorCode::timeout;
    case ROOMREC_ERR_CANCELLED: return ErrorCode::cancelled;
    case ROOMREC_ERR_UNSUPPORTED: return ErrorCode::unsupported;
    case ROOMREC_ERR_INTERNAL: return ErrorCode::internal;
    default: return ErrorCode::unavailable;
  }
}

inline int fail(int code, const std::string& message) {
  roomrec_internal_set_last_error(message.c_str());
  return code;
}
inline int fail(const Status& s) { return fail(code_of(s.code()), s.message()); }
inline int fail_or_ok(const Status& s) { return s ? ROOMREC_OK : fail(s); }
inline int invalid(const std::string& message) { return fail(ROOMREC_ERR_INVALID_ARGUMENT, message); }

// Bad JSON input, thrown inside an entry point and turned into invalid_argument.
struct JsonError {
  std::string message;
};

// Runs `f` (returning int), converting every exception into a code.
template <class F>
int guarded(F&& f) noexcept {
  try {
    return f();
  } catch (const JsonError& e) {
    return invalid(e.message);
  } catch (const std::bad_alloc&) {
    return fail(ROOMREC_ERR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(ROOMREC_ERR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(ROOMREC_ERR_INTERNAL, "internal error: unknown exception");
  }
}

inline char* dup_string(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) throw std::bad_alloc();
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

// ---- JSON input -------------------------------------------------------------

inline json parse_json(const char* text, const char* what) {
  if (!text) throw JsonError{std::string(what) + " is NULL"};
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) throw JsonError{std::string(what) + " is not valid JSON"};
  return j;
}

// A JSON object whose fields are checked against a known list, read with defaults.
class Obj {
 public:
  Obj(const json& j, std::string where, std::initializer_list<const char*> allowed) : j_(j), where_(std::move(where)) {
    if (!j.is_object()) throw JsonError{where_ + " must be a JSON object"};
    for (auto it = j.begin(); it != j.end(); ++it) {
      bool known = false;
      for (const char* a : allowed) known = known || it.key() == a;
      if (!known) throw JsonError{where_ + ": unknown field \"" + it.key() + "\""};
    }
  }
  bool has(const char* k) const { return j_.contains(k) && !j_.at(k).is_null(); }
  const json& at(const char* k) const { return j_.at(k); }
  std::string name(const char* k) const { return where_ + "." + k; }

  std::string str(const char* k, std::string def = {}) const {
    if (!has(k)) return def;
    const json& v = j_.at(k);
    if (!v.is_string()) throw JsonError{name(k) + " must be a string"};
    return v.get<std::string>();
  }
  std::string required_str(const char* k) const {
    if (!has(k)) throw JsonError{name(k) + " is required"};
    std::string s = str(k);
    if (s.empty()) throw JsonError{name(k) + " must not be empty"};
    return s;
  }
  uint64_t u64(const char* k, uint64_t def, uint64_t max = std::numeric_limits<uint64_t>::max()) const {
    if (!has(k)) return def;
    const json& v = j_.at(k);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
      throw JsonError{name(k) + " must be a non-negative integer"};
    uint64_t x = v.get<uint64_t>();
    if (x > max) throw JsonError{name(k) + " must be at most " + std::to_string(max)};
    return x;
  }
  uint32_t u32(const char* k, uint32_t def) const {
    return static_cast<uint32_t>(u64(k, def, std::numeric_limits<uint32_t>::max()));
  }
  int64_t i64(const char* k, int64_t def) const {
    if (!has(k)) return def;
    const json& v = j_.at(k);
    if (!v.is_number_integer()) throw JsonError{name(k) + " must be an integer"};
    return v.get<int64_t>();
  }
  bool boolean(const char* k, bool def) const {
    if (!has(k)) return def;
    const json& v = j_.at(k);
    if (!v.is_boolean()) throw JsonError{name(k) + " must be true or false"};
    return v.get<bool>();
  }
  std::vector<std::pair<std::string, std::string>> headers(const char* k) const {
    std::vector<std::pair<std::string, std::string>> out;
    if (!has(k)) return out;
    const json& v = j_.at(k);
    if (!v.is_object()) throw JsonError{name(k) + " must be an object of header names to strings"};
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!it.value().is_string()) throw JsonError{name(k) + "." + it.key() + " must be a string"};
      out.emplace_back(it.key(), it.value().get<std::string>());
    }
    return out;
  }

 private:
  const json& j_;
  std::string where_;
};

inline bool is_http(std::string_view s) { return util::is_http_uri(s); }

// An SRTP key from {"sdes"} | {"profile", "inline"} | {"profile", "key_hex"}; bad JSON throws JsonError.
inline Result<SrtpKey> srtp_key_from_json(const json& j, const std::string& where) {
  Obj s(j, where, {"sdes", "profile", "inline", "key_hex"});
  Result<SrtpKey> key = Status::error(ErrorCode::invalid_argument, "no key");
  if (s.has("sdes")) {
    if (s.has("profile") || s.has("inline") || s.has("key_hex"))
      return Status::error(ErrorCode::invalid_argument, where + ": \"sdes\" carries its own suite and key; give nothing else");
    key = SrtpKey::from_sdes(s.str("sdes"));
  } else {
    std::string name = s.required_str("profile");
    auto profile = srtp_profile_from_name(name);
    if (!profile) return Status::error(ErrorCode::unsupported, where + ".profile: unknown SRTP profile \"" + name + "\"");
    if (s.has("inline") == s.has("key_hex"))
      return Status::error(ErrorCode::invalid_argument,
                           where + " needs \"sdes\", or \"profile\" with one of \"inline\" / \"key_hex\"");
    if (s.has("inline")) {
      key = SrtpKey::from_sdes_inline(*profile, s.str("inline"));
    } else {
      std::string hex = s.str("key_hex");
      std::vector<uint8_t> bytes;
      auto nib = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        c = util::ascii_lower(c);
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
      };
      if (hex.size() % 2) return Status::error(ErrorCode::invalid_argument, where + ".key_hex has an odd number of digits");
      for (size_t i = 0; i < hex.size(); i += 2) {
        int hi = nib(hex[i]), lo = nib(hex[i + 1]);
        if (hi < 0 || lo < 0) return Status::error(ErrorCode::invalid_argument, where + ".key_hex is not hexadecimal");
        bytes.push_back(static_cast<uint8_t>(hi * 16 + lo));
      }
      key = SrtpKey::from_bytes(*profile, bytes.data(), bytes.size());
    }
  }
  if (!key) {
    Status st = key.status();
    return st.with_context(where);
  }
  return key;
}


}  // namespace roomrec::capi
