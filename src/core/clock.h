#pragma once
// Clock: the one source of "now" for everything that is not a benchmark. Inject FakeClock in tests.
//
// Thread-safety: Now() may be called from any thread. FakeClock::Set/Advance are atomic.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace arca {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
  static const SystemClock& Instance();
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::seconds(1700000000)))
      : now_ms_(ToMillis(start)) {}
  TimePoint Now() const override { return TimePoint(std::chrono::milliseconds(now_ms_.load())); }
  void Set(TimePoint t) { now_ms_ = ToMillis(t); }
  void Advance(std::chrono::milliseconds d) { now_ms_ += d.count(); }

 private:
  static std::int64_t ToMillis(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }
  std::atomic<std::int64_t> now_ms_;
};

// Milliseconds since the Unix epoch: how Arca stores instants.
std::int64_t ToUnixMillis(TimePoint t);
TimePoint FromUnixMillis(std::int64_t ms);

// "20150830T123600Z" (SigV4's X-Amz-Date form) and "20150830".
std::string FormatAmzDate(TimePoint t);
std::string FormatDateStamp(TimePoint t);
// Parses "YYYYMMDDTHHMMSSZ"; false on any deviation.
bool ParseAmzDate(std::string_view s, TimePoint* out);
// "2015-08-30T12:36:00Z" (ISO 8601, UTC, seconds), and "...12:36:00.123Z" with milliseconds.
std::string FormatIso8601(TimePoint t, bool with_millis = false);
// "2026-11-25T10:00:00Z", with optional fraction ".123" and "+00:00"/"Z"; also a bare date
// "2026-11-25" (midnight UTC). false on anything else.
bool ParseIso8601(std::string_view s, TimePoint* out);
// Java's ISO_OFFSET_DATE_TIME / ISO_INSTANT, as AWS APIs take them: "2030-11-01T22:13:48.87+10:30",
// "2030-12-02T21:34:33.000Z". The "T", the zone ("Z" or +/-hh:mm[:ss]) and the time are required;
// a fraction has 1 to 9 digits (milliseconds kept). false on anything else.
bool ParseIso8601WithOffset(std::string_view s, TimePoint* out);

}  // namespace arca
