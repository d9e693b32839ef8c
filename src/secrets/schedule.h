#pragma once
// Rotation schedules as AWS Secrets Manager parses and applies them: RotationRules'
// AutomaticallyAfterDays, ScheduleExpression (`rate(N hours|days)`, `cron(...)`) and Duration, and
// the rotation windows they define. Pure arithmetic: every "now" is an argument, all times are UTC.
//
// What a window is (AWS Secrets Manager User Guide, "Rotation schedules"; RotationRulesType):
// - Windows always open on the hour. rate(N days) and AutomaticallyAfterDays open at midnight, N
// days
//   after the day of the last rotation; rate(N hours) opens N hours after the hour of the last
//   rotation.
// - cron() opens at each time the expression names (hour increments restart every day).
// - Without Duration a window closes after one hour for a schedule in hours (rate(N hours), or a
//   cron() naming several hours a day) and at the end of the UTC day for a schedule in days.
// - A window never runs into the next UTC day (cron, rate(days)) nor into the next window.
//
// Thread-safety: RotationSchedule is an immutable value; its const methods may be called from any
// thread.

#include <bitset>
#include <optional>

#include "core/clock.h"
#include "core/result.h"
#include "secrets/types.h"

namespace arca::secrets {

// Secrets Manager may rotate at any instant in [start, end).
struct RotationWindow {
  TimePoint start;
  TimePoint end;
};

class RotationSchedule {
 public:
  // Checks `rules` exactly as RotateSecret does. On a bad rule: kInvalidParameter with AWS's
  // message (e.g. "Invalid schedule expression."); the specific reason is in the error's log-only
  // detail. Rules with neither AutomaticallyAfterDays nor ScheduleExpression name no schedule:
  // nullopt (a Duration there is still checked for 1h-24h).
  static Result<std::optional<RotationSchedule>> Parse(const RotationRules& rules);

  // The window of the next scheduled rotation: the first window that opens after `last_rotated`
  // (the last rotation, or the secret's creation when it never rotated) and has not closed at
  // `now`. A window that passed entirely without a rotation (the server was down) is skipped, since
  // Secrets Manager rotates only inside a window.
  RotationWindow NextWindow(TimePoint last_rotated, TimePoint now) const;

  // DescribeSecret's NextRotationDate: the last second of NextWindow (AWS shows "...T23:59:59Z" for
  // a window that runs to the end of a day).
  TimePoint NextRotationDate(TimePoint last_rotated, TimePoint now) const;

  // True for a schedule in hours (rate(N hours), or a cron() naming more than one hour a day).
  bool hourly() const { return hourly_; }

 private:
  enum class Kind { kRate, kCron };
  // A parsed cron(): bit i set means value i matches.
  struct Cron {
    std::bitset<24> hours;
    std::bitset<13> months;     // 1-12
    bool day_of_month = false;  // false: Day-of-month is '?' and Day-of-week applies
    std::bitset<32> days;       // 1-31
    bool last_day = false;      // L
    bool last_weekday = false;  // LW
    int nearest_weekday = 0;    // nW: the weekday nearest day n of the month (0: unused)
    std::bitset<8> weekdays;    // 1-7 = SUN-SAT
    int last_of_weekday = 0;    // dL / SUNL: the last such weekday of the month (0: unused)
    int nth_weekday = 0;        // d#n: weekday d ...
    int nth = 0;                // ... the n-th of the month (0: unused)
  };

  RotationSchedule() = default;
  std::chrono::hours WindowLength(TimePoint start) const;
  // The first cron start strictly after t, searching up to 50 years ahead.
  std::optional<TimePoint> NextCronStart(TimePoint t) const;
  bool CronDayMatches(std::chrono::sys_days day) const;

  Kind kind_ = Kind::kRate;
  bool hourly_ = false;
  int rate_ = 0;                       // kRate: N (days or hours)
  std::optional<int> duration_hours_;  // Duration
  Cron cron_;
};

}  // namespace arca::secrets
