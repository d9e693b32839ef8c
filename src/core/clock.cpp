#include "core/clock.h"

#include <cstdio>
#include <ctime>

namespace arca {

const SystemClock& SystemClock::Instance() {
  static const SystemClock clock;
  return clock;
}

std::int64_t ToUnixMillis(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TimePoint FromUnixMillis(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

namespace {
std::tm ToTm(TimePoint t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}
}  // namespace

std::string FormatAmzDate(TimePoint t) {
  std::tm tm = ToTm(t);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string FormatDateStamp(TimePoint t) {
  std::tm tm = ToTm(t);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y%m%d", &tm);
  return buf;
}

bool ParseAmzDate(std::string_view s, TimePoint* out) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') {
    return false;
  }
  auto num = [&](std::size_t pos, std::size_t len, int* v) {
    int r = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      r = r * 10 + (s[i] - '0');
    }
    *v = r;
    return true;
  };
  int y, mo, d, h, mi, se;
  if (!num(0, 4, &y) || !num(4, 2, &mo) || !num(6, 2, &d) || !num(9, 2, &h) || !num(11, 2, &mi) ||
      !num(13, 2, &se)) {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
    return false;
  }
  // Calendar arithmetic, not timegm(): this runs on every SigV4 verification, and timegm takes
  // the process-wide time zone lock.
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return false;
  *out = std::chrono::sys_days{ymd} + std::chrono::hours{h} + std::chrono::minutes{mi} +
         std::chrono::seconds{se};
  return true;
}

std::string FormatIso8601(TimePoint t, bool with_millis) {
  std::tm tm = ToTm(t);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf);
  if (with_millis) {
    char ms[8];
    std::snprintf(ms, sizeof(ms), ".%03d", static_cast<int>(ToUnixMillis(t) % 1000));
    out += ms;
  }
  out += 'Z';
  return out;
}

namespace {

bool Digits(std::string_view s, std::size_t pos, std::size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

bool ParseIso8601(std::string_view s, TimePoint* out) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d)) {
    return false;
  }
  std::size_t pos = 10;
  std::chrono::milliseconds frac{0};
  if (pos < s.size()) {
    if ((s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') || !Digits(s, pos + 1, 2, &h) ||
        s.size() < pos + 9 || s[pos + 3] != ':' || !Digits(s, pos + 4, 2, &mi) ||
        s[pos + 6] != ':' || !Digits(s, pos + 7, 2, &sec)) {
      return false;
    }
    pos += 9;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      int ms = 0, scale = 100, count = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (count < 3) ms += (s[pos] - '0') * scale;
        scale /= 10;
        ++count;
        ++pos;
      }
      if (count == 0) return false;
      frac = std::chrono::milliseconds(ms);
    }
    std::string_view zone = s.substr(pos);
    if (!(zone.empty() || zone == "Z" || zone == "z" || zone == "+00:00")) return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
  const std::chrono::year_month_day ymd{std::chrono::year(y),
                                        std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return false;
  const std::chrono::sys_days days(ymd);
  *out = TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      days.time_since_epoch() + std::chrono::hours(h) + std::chrono::minutes(mi) +
      std::chrono::seconds(sec) + frac));
  return true;
}

}  // namespace arca
