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

// The fields of an ISO 8601 date-time, as written.
struct DateTime {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  std::chrono::milliseconds frac{0};
};

// "YYYY-MM-DD" at the start of `s`.
bool ParseDate(std::string_view s, DateTime* dt) {
  return Digits(s, 0, 4, &dt->y) && s.size() >= 10 && s[4] == '-' && Digits(s, 5, 2, &dt->mo) &&
         s[7] == '-' && Digits(s, 8, 2, &dt->d);
}

// "HH:MM:SS" and an optional fraction ".f" (at least one digit; at most `max_fraction_digits`, 0 for
// no limit; milliseconds kept) at *pos, which moves past them.
bool ParseTime(std::string_view s, std::size_t* pos, std::size_t max_fraction_digits, DateTime* dt) {
  std::size_t p = *pos;
  if (!Digits(s, p, 2, &dt->h) || s.size() < p + 8 || s[p + 2] != ':' || !Digits(s, p + 3, 2, &dt->mi) ||
      s[p + 5] != ':' || !Digits(s, p + 6, 2, &dt->sec)) {
    return false;
  }
  p += 8;
  if (p < s.size() && s[p] == '.') {
    ++p;
    int ms = 0, scale = 100;
    std::size_t count = 0;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      if (count < 3) ms += (s[p] - '0') * scale;
      scale /= 10;
      ++count;
      ++p;
    }
    if (count == 0 || (max_fraction_digits != 0 && count > max_fraction_digits)) return false;
    dt->frac = std::chrono::milliseconds(ms);
  }
  *pos = p;
  return true;
}

// The instant `dt` names at UTC offset `offset` (local = UTC + offset); false for fields out of
// range or a day the month does not have.
bool ToTimePoint(const DateTime& dt, std::chrono::seconds offset, TimePoint* out) {
  if (dt.mo < 1 || dt.mo > 12 || dt.d < 1 || dt.d > 31 || dt.h > 23 || dt.mi > 59 || dt.sec > 60) {
    return false;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(dt.y),
                                        std::chrono::month(static_cast<unsigned>(dt.mo)),
                                        std::chrono::day(static_cast<unsigned>(dt.d))};
  if (!ymd.ok()) return false;
  const std::chrono::sys_days days(ymd);
  *out = TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      days.time_since_epoch() + std::chrono::hours(dt.h) + std::chrono::minutes(dt.mi) +
      std::chrono::seconds(dt.sec) + dt.frac - offset));
  return true;
}

}  // namespace

bool ParseIso8601(std::string_view s, TimePoint* out) {
  DateTime dt;
  if (!ParseDate(s, &dt)) return false;
  std::size_t pos = 10;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return false;
    ++pos;
    if (!ParseTime(s, &pos, /*max_fraction_digits=*/0, &dt)) return false;
    std::string_view zone = s.substr(pos);
    if (!(zone.empty() || zone == "Z" || zone == "z" || zone == "+00:00")) return false;
  }
  return ToTimePoint(dt, std::chrono::seconds(0), out);
}

bool ParseIso8601WithOffset(std::string_view s, TimePoint* out) {
  DateTime dt;
  if (!ParseDate(s, &dt) || s.size() < 11 || s[10] != 'T') return false;
  std::size_t pos = 11;
  if (!ParseTime(s, &pos, /*max_fraction_digits=*/9, &dt)) return false;
  std::chrono::seconds offset(0);
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    int oh = 0, om = 0, os = 0;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &om)) {
      return false;
    }
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
      if (!Digits(s, pos + 1, 2, &os)) return false;
      pos += 3;
    }
    if (oh > 18 || om > 59 || os > 59) return false;
    offset = std::chrono::seconds(sign * (oh * 3600 + om * 60 + os));
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  return ToTimePoint(dt, offset, out);
}

}  // namespace arca
