// Status and Result<T>: expected failures are values, never exceptions.
#pragma once

#include <roomrec/export.h>

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace roomrec {

enum class ErrorCode : int {
  ok = 0,
  invalid_argument,   // caller passed something malformed
  not_found,
  corrupt,            // damaged input data
  io,                 // file system error
  resource_exhausted, // budgets full, disk full
  unavailable,        // network down, server 5xx, retry may help
  permission_denied,  // 401/403, bad signature, expired URL
  timeout,
  cancelled,
  unsupported,
  internal,
};

ROOMREC_API const char* error_code_name(ErrorCode code) noexcept;

class ROOMREC_API Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  static Status error(ErrorCode code, std::string message) { return {code, std::move(message)}; }

  bool is_ok() const noexcept { return code_ == ErrorCode::ok; }
  explicit operator bool() const noexcept { return is_ok(); }
  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  // "code_name: message", or "ok".
  std::string to_string() const;

  // Prefixes the message with context ("while doing X: ").
  Status& with_context(std::string_view context);

 private:
  ErrorCode code_ = ErrorCode::ok;
  std::string message_;
};

// A value or a Status explaining why there is none.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}                // NOLINT(implicit)
  Result(Status status) : v_(std::move(status)) {          // NOLINT(implicit)
    assert(!std::get<Status>(v_).is_ok() && "Result built from an ok Status");
  }

  bool is_ok() const noexcept { return std::holds_alternative<T>(v_); }
  explicit operator bool() const noexcept { return is_ok(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  Status status() const {
    if (is_ok()) return Status::ok();
    return std::get<Status>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace roomrec
