// Status and Result<T>: errors a user can cause travel as values; the library never throws or exits on them.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "core/check.h"

namespace lm {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // malformed request or option
  kNotFound,         // missing file, key or tensor
  kIoError,          // the OS refused a read/write/mmap
  kCorrupt,          // a file's bytes contradict its own format
  kUnsupported,      // valid but not implemented (unknown architecture, tensor type, ...)
  kOutOfRange,       // e.g. a prompt longer than the context
  kOutOfMemory,
  kUnavailable,      // e.g. CUDA requested but not built or no device
  kInternal,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "corrupt: gguf: ..." — the form printed to users.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status Corrupt(std::string m) { return {StatusCode::kCorrupt, std::move(m)}; }
inline Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status OutOfMemory(std::string m) { return {StatusCode::kOutOfMemory, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// A value or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    LM_CHECK(!std::get<Status>(v_).ok(), "Result built from an ok Status carries no value");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return Checked(); }
  const T& value() const& { return const_cast<Result*>(this)->Checked(); }
  T&& value() && { return std::move(Checked()); }
  T* operator->() { return &Checked(); }
  const T* operator->() const { return &const_cast<Result*>(this)->Checked(); }
  T& operator*() & { return Checked(); }
  const T& operator*() const& { return const_cast<Result*>(this)->Checked(); }

 private:
  T& Checked() {
    LM_CHECK(ok(), "Result::value() on error: ", std::get<Status>(v_).ToString());
    return std::get<T>(v_);
  }
  std::variant<T, Status> v_;
};

}  // namespace lm

// Propagates a non-ok Status to the caller. The only control-flow macro in the project.
#define LM_RETURN_IF_ERROR(expr)               \
  do {                                         \
    ::lm::Status lm_status_internal_ = (expr); \
    if (!lm_status_internal_.ok()) return lm_status_internal_; \
  } while (0)
