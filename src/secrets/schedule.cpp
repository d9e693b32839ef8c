#include "secrets/schedule.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace arca::secrets {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::sys_days;

// Secrets Manager's wording, as RotateSecret returns it.
constexpr std::string_view kBoth =
    "You cannot specify both rotation frequency and schedule expression together.";
constexpr std::string_view kDaysRange =
    "RotationRules.AutomaticallyAfterDays must be within 1-1000.";
constexpr std::string_view kInvalidExpression = "Invalid schedule expression.";
constexpr std::string_view kRateHours = "Rate in hour should be least 4 and less than 24.";
constexpr std::string_view kRateDays = "Rate in day should be greater than 0 and less than 1000.";
constexpr std::string_view kDurationRange = "Duration must be at least 1 hour, at most 24 hour.";
constexpr std::string_view kDurationOverRate = "Duration cannot be greater than Rate in hour.";
constexpr std::string_view kDurationPastDay = "Starting hour and duration must be within a day.";

constexpr int kMinHoursBetweenRotations = 4;
constexpr int kSearchYears =
    50;  // a cron day pattern recurs within this (Feb 5th Thursday: 28+ years)

Error Invalid(std::string_view message, std::string detail = {}) {
  return Error(Code::kInvalidParameter, std::string(message), std::move(detail));
}
Error BadCron(std::string detail) {
  return Invalid(kInvalidExpression, "cron: " + std::move(detail));
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// A non-negative decimal of at most 4 digits; nullopt otherwise.
std::optional<int> SmallNumber(std::string_view s) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t from = 0;
  while (true) {
    std::size_t at = s.find(sep, from);
    out.push_back(
        s.substr(from, at == std::string_view::npos ? std::string_view::npos : at - from));
    if (at == std::string_view::npos) return out;
    from = at + 1;
  }
}

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                       "THU", "FRI", "SAT"};

// One numeric cron field's domain: values lo..hi, optionally names for lo, lo+1, ...
struct Domain {
  const char* field;
  int lo;
  int hi;
  const std::string_view* names = nullptr;
  std::size_t name_count = 0;
};

constexpr Domain kHoursDomain{"Hours", 0, 23};
constexpr Domain kDomDomain{"Day-of-month", 1, 31};
constexpr Domain kMonthDomain{"Month", 1, 12, kMonthNames.data(), kMonthNames.size()};
constexpr Domain kDowDomain{"Day-of-week", 1, 7, kDayNames.data(), kDayNames.size()};

Result<int> Value(const Domain& d, std::string_view token) {
  if (auto n = SmallNumber(token)) {
    if (*n < d.lo || *n > d.hi) {
      return BadCron(std::string(d.field) + " value " + std::string(token) + " out of range");
    }
    return *n;
  }
  std::string up = Upper(token);
  for (std::size_t i = 0; i < d.name_count; ++i) {
    if (up == d.names[i]) return d.lo + static_cast<int>(i);
  }
  return BadCron(std::string(d.field) + " has a bad value '" + std::string(token) + "'");
}

// `*`, `a`, `a-b` (wrapping when a > b), each optionally `/step`; `/step` alone starts at the
// lowest value. Items are joined with `,`.
Result<std::bitset<64>> ParseList(const Domain& d, std::string_view field) {
  std::bitset<64> bits;
  for (std::string_view item : Split(field, ',')) {
    if (item.empty()) return BadCron(std::string(d.field) + " has an empty list item");
    std::string_view base = item;
    int step = 0;
    if (std::size_t slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      auto s = SmallNumber(item.substr(slash + 1));
      if (!s || *s < 1)
        return BadCron(std::string(d.field) + " has a bad increment in '" + std::string(item) +
                       "'");
      step = *s;
    }
    int from = d.lo;
    int to = d.hi;
    if (base.empty() || base == "*") {
      if (base.empty() && step == 0) return BadCron(std::string(d.field) + " is empty");
    } else if (std::size_t dash = base.find('-'); dash != std::string_view::npos) {
      ARCA_ASSIGN_OR_RETURN(from, Value(d, base.substr(0, dash)));
      ARCA_ASSIGN_OR_RETURN(to, Value(d, base.substr(dash + 1)));
    } else {
      ARCA_ASSIGN_OR_RETURN(from, Value(d, base));
      to = step > 0 ? d.hi : from;
    }
    const int span = d.hi - d.lo + 1;
    const int count = (to - from + span) % span + 1;  // a range a-b with a > b wraps around
    for (int i = 0; i < count; i += (step > 0 ? step : 1)) {
      bits.set(static_cast<std::size_t>(d.lo + (from - d.lo + i) % span));
    }
  }
  return bits;
}

template <std::size_t N>
std::bitset<N> Narrow(const std::bitset<64>& b) {
  std::bitset<N> out;
  for (std::size_t i = 0; i < N; ++i) out[i] = b[i];
  return out;
}

unsigned LastDayOfMonth(std::chrono::year y, std::chrono::month m) {
  return static_cast<unsigned>(
      std::chrono::year_month_day_last(y, std::chrono::month_day_last(m)).day());
}

// 1 = Sunday ... 7 = Saturday, as cron numbers them.
int CronWeekday(sys_days d) { return static_cast<int>(std::chrono::weekday(d).c_encoding()) + 1; }

TimePoint FloorTo(TimePoint t, std::chrono::milliseconds unit) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  auto floored = ms - (ms % unit + unit) % unit;  // correct for instants before 1970 too
  return TimePoint(floored);
}

Result<int> ParseDuration(const std::string& text) {
  // RotationRulesType: length 2-3, "Nh".
  std::optional<int> n;
  if (text.size() >= 2 && text.size() <= 3 && text.back() == 'h') {
    n = SmallNumber(std::string_view(text).substr(0, text.size() - 1));
  }
  if (!n || *n < 1 || *n > 24) return Invalid(kDurationRange, "Duration '" + text + "'");
  return *n;
}

}  // namespace

Result<std::optional<RotationSchedule>> RotationSchedule::Parse(const RotationRules& rules) {
  if (rules.automatically_after_days && rules.schedule_expression) return Invalid(kBoth);
  std::optional<int> duration;
  if (rules.duration) {
    ARCA_ASSIGN_OR_RETURN(int d, ParseDuration(*rules.duration));
    duration = d;
  }
  RotationSchedule s;
  s.duration_hours_ = duration;
  if (rules.automatically_after_days) {
    const std::int64_t n = *rules.automatically_after_days;
    if (n < 1 || n > 1000) return Invalid(kDaysRange);
    s.kind_ = Kind::kRate;
    s.rate_ = static_cast<int>(n);
    return std::optional<RotationSchedule>(s);  // a window from midnight: any Duration fits the day
  }
  if (!rules.schedule_expression) return std::optional<RotationSchedule>();
  const std::string& e = *rules.schedule_expression;
  const std::string_view ev(e);

  if (ev.starts_with("rate(") && ev.ends_with(")")) {
    std::string_view body = ev.substr(5, ev.size() - 6);
    std::size_t space = body.find(' ');
    if (space == std::string_view::npos) return Invalid(kInvalidExpression, "rate: no unit");
    auto n = SmallNumber(body.substr(0, space));
    std::string_view unit = body.substr(space + 1);
    const bool in_hours = unit == "hour" || unit == "hours";
    const bool in_days = unit == "day" || unit == "days";
    if (!in_hours && !in_days)
      return Invalid(kInvalidExpression, "rate: unit must be hour(s) or day(s)");
    if (!n) {
      // A value too long for SmallNumber is out of range, anything else is not a number.
      const bool digits =
          !body.substr(0, space).empty() &&
          body.substr(0, space).find_first_not_of("0123456789") == std::string_view::npos;
      if (!digits) return Invalid(kInvalidExpression, "rate: value must be a positive integer");
      return Invalid(in_hours ? kRateHours : kRateDays);
    }
    if (in_hours && (*n < kMinHoursBetweenRotations || *n > 23)) return Invalid(kRateHours);
    if (in_days && (*n < 1 || *n > 999)) return Invalid(kRateDays);
    s.kind_ = Kind::kRate;
    s.rate_ = *n;
    s.hourly_ = in_hours;
    if (in_hours && duration && *duration > *n) return Invalid(kDurationOverRate);
    return std::optional<RotationSchedule>(s);
  }

  if (!ev.starts_with("cron(") || !ev.ends_with(")"))
    return Invalid(kInvalidExpression, "not rate() or cron()");
  std::vector<std::string_view> fields;
  for (std::string_view f : Split(ev.substr(5, ev.size() - 6), ' ')) {
    if (!f.empty()) fields.push_back(f);  // fields are separated by white space
  }
  if (fields.size() != 6) return BadCron("needs 6 fields, has " + std::to_string(fields.size()));
  const std::string_view minutes = fields[0], hours_f = fields[1], dom = fields[2],
                         month = fields[3], dow = fields[4], year = fields[5];
  // Secrets Manager: windows open on the hour, and schedules are never more than a year apart.
  if (minutes != "0") return BadCron("Minutes must be 0");
  if (year != "*") return BadCron("Year must be *");
  // One of Day-of-month and Day-of-week is '?', the other names the days.
  if ((dom == "?") == (dow == "?"))
    return BadCron("exactly one of Day-of-month and Day-of-week must be ?");

  Cron c;
  ARCA_ASSIGN_OR_RETURN(auto hour_bits, ParseList(kHoursDomain, hours_f));
  c.hours = Narrow<24>(hour_bits);
  ARCA_ASSIGN_OR_RETURN(auto month_bits, ParseList(kMonthDomain, month));
  c.months = Narrow<13>(month_bits);

  if (dom != "?") {
    c.day_of_month = true;
    const std::string up = Upper(dom);
    if (up == "L") {
      c.last_day = true;
    } else if (up == "LW") {
      c.last_weekday = true;
    } else if (up.size() >= 2 && up.back() == 'W') {
      auto n = SmallNumber(std::string_view(up).substr(0, up.size() - 1));
      if (!n || *n < 1 || *n > 31) return BadCron("Day-of-month nW needs 1 <= n <= 31");
      c.nearest_weekday = *n;
    } else {
      ARCA_ASSIGN_OR_RETURN(auto day_bits, ParseList(kDomDomain, dom));
      c.days = Narrow<32>(day_bits);
    }
  } else {
    const std::string up = Upper(dow);
    if (std::size_t hash = up.find('#'); hash != std::string::npos) {
      // d#n: only one such expression in the field ("3#1,6#3" is invalid).
      if (up.find(',') != std::string::npos)
        return BadCron("Day-of-week with # takes a single expression");
      ARCA_ASSIGN_OR_RETURN(c.nth_weekday, Value(kDowDomain, std::string_view(up).substr(0, hash)));
      auto n = SmallNumber(std::string_view(up).substr(hash + 1));
      if (!n || *n < 1 || *n > 5) return BadCron("Day-of-week d#n needs 1 <= n <= 5");
      c.nth = *n;
    } else if (up == "L") {
      c.weekdays.set(7);  // the last day of the week: Saturday
    } else if (up.size() >= 2 && up.back() == 'L') {
      ARCA_ASSIGN_OR_RETURN(c.last_of_weekday,
                            Value(kDowDomain, std::string_view(up).substr(0, up.size() - 1)));
    } else {
      ARCA_ASSIGN_OR_RETURN(auto dow_bits, ParseList(kDowDomain, dow));
      c.weekdays = Narrow<8>(dow_bits);
    }
  }

  // At most one rotation every four hours: consecutive hours (and the last hour of a day to the
  // first of the next) at least four apart.
  std::vector<int> hour_list;
  for (int h = 0; h < 24; ++h) {
    if (c.hours[static_cast<std::size_t>(h)]) hour_list.push_back(h);
  }
  int min_gap = 24;
  for (std::size_t i = 0; i < hour_list.size(); ++i) {
    const int next = i + 1 < hour_list.size() ? hour_list[i + 1] : hour_list.front() + 24;
    min_gap = std::min(min_gap, next - hour_list[i]);
  }
  if (hour_list.size() > 1 && min_gap < kMinHoursBetweenRotations) {
    return BadCron("rotations must be at least 4 hours apart");
  }
  s.kind_ = Kind::kCron;
  s.cron_ = c;
  s.hourly_ = hour_list.size() > 1;
  if (duration) {
    if (hour_list.back() + *duration > 24) return Invalid(kDurationPastDay);
    if (s.hourly_ && *duration > min_gap) return Invalid(kDurationOverRate);
  }
  // A day pattern that never occurs (30 FEB) schedules nothing.
  if (!s.NextCronStart(TimePoint(sys_days(std::chrono::year(2000) / 1 / 1)))) {
    return BadCron("the expression names no day that exists");
  }
  return std::optional<RotationSchedule>(s);
}

bool RotationSchedule::CronDayMatches(sys_days day) const {
  const std::chrono::year_month_day ymd(day);
  const unsigned month = static_cast<unsigned>(ymd.month());
  if (!cron_.months[month]) return false;
  const int dom = static_cast<int>(static_cast<unsigned>(ymd.day()));
  const int last = static_cast<int>(LastDayOfMonth(ymd.year(), ymd.month()));
  const int wd = CronWeekday(day);
  if (cron_.day_of_month) {
    if (cron_.last_day) return dom == last;
    if (cron_.last_weekday) {
      const int wd_last = CronWeekday(sys_days(ymd.year() / ymd.month() / std::chrono::last));
      const int target = wd_last == 1   ? last - 2
                         : wd_last == 7 ? last - 1
                                        : last;  // Sun/Sat -> Fri
      return dom == target;
    }
    if (cron_.nearest_weekday > 0) {
      const int n = cron_.nearest_weekday;
      if (n > last) return false;
      const int wd_n = CronWeekday(
          sys_days(ymd.year() / ymd.month() / std::chrono::day(static_cast<unsigned>(n))));
      int target = n;
      if (wd_n == 7) target = n == 1 ? 3 : n - 1;  // Saturday: Friday before, or Monday the 3rd
      if (wd_n == 1) target = n == last ? n - 2 : n + 1;  // Sunday: Monday after, or Friday before
      return dom == target;
    }
    return cron_.days[static_cast<std::size_t>(dom)];
  }
  if (cron_.nth > 0) return wd == cron_.nth_weekday && (dom - 1) / 7 + 1 == cron_.nth;
  if (cron_.last_of_weekday > 0) return wd == cron_.last_of_weekday && dom + 7 > last;
  return cron_.weekdays[static_cast<std::size_t>(wd)];
}

std::optional<TimePoint> RotationSchedule::NextCronStart(TimePoint t) const {
  const sys_days first = std::chrono::floor<days>(t);
  const sys_days stop = first + days(366 * kSearchYears);
  for (sys_days d = first; d < stop; d += days(1)) {
    if (!CronDayMatches(d)) continue;
    for (int h = 0; h < 24; ++h) {
      if (!cron_.hours[static_cast<std::size_t>(h)]) continue;
      const TimePoint start = TimePoint(d) + hours(h);
      if (start > t) return start;
    }
  }
  return std::nullopt;
}

std::chrono::hours RotationSchedule::WindowLength(TimePoint start) const {
  if (duration_hours_) return hours(*duration_hours_);
  if (hourly_) return hours(1);
  // To the end of the UTC day.
  return std::chrono::duration_cast<hours>(TimePoint(std::chrono::floor<days>(start) + days(1)) -
                                           start);
}

RotationWindow RotationSchedule::NextWindow(TimePoint last_rotated, TimePoint now) const {
  if (kind_ == Kind::kRate) {
    const std::chrono::milliseconds unit =
        hourly_ ? std::chrono::milliseconds(hours(1)) : std::chrono::milliseconds(days(1));
    const std::chrono::milliseconds period = unit * rate_;
    const TimePoint anchor = FloorTo(last_rotated, unit);
    const std::chrono::milliseconds length =
        WindowLength(anchor + period);  // the same for every window
    std::int64_t k = 1;
    const auto behind = now - (anchor + period + length);  // >= 0: the first window has closed
    if (behind >= TimePoint::duration::zero()) {
      k += std::chrono::duration_cast<std::chrono::milliseconds>(behind) / period + 1;
    }
    const TimePoint start = anchor + period * k;
    return {start, start + length};
  }
  // A window is at most a day long: one still open at `now` started after now - 1 day.
  TimePoint from = std::max(last_rotated, now - days(1));
  for (int guard = 0; guard < 64; ++guard) {
    auto start = NextCronStart(from);
    if (!start) break;
    const TimePoint end = *start + WindowLength(*start);
    if (end > now) return {*start, end};
    from = *start;
  }
  // Unreachable for a schedule Parse accepted (every day pattern recurs within kSearchYears).
  const TimePoint never = now + days(366 * kSearchYears);
  return {never, never + hours(1)};
}

TimePoint RotationSchedule::NextRotationDate(TimePoint last_rotated, TimePoint now) const {
  return NextWindow(last_rotated, now).end - std::chrono::seconds(1);
}

}  // namespace arca::secrets
