// Rotation schedules: RotationRules parsing and rejection as Secrets Manager does it, and the window
// arithmetic for rate(), cron() and Duration. Every time is fixed; nothing sleeps.

#include "secrets/schedule.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace arca::secrets {
namespace {

TimePoint T(const std::string& iso) {
  TimePoint t;
  EXPECT_TRUE(ParseIso8601(iso, &t)) << iso;
  return t;
}

std::string S(TimePoint t) { return FormatIso8601(t); }

RotationRules Expr(const std::string& e, std::optional<std::string> duration = std::nullopt) {
  return RotationRules{std::nullopt, std::move(duration), e};
}
RotationRules Days(std::int64_t n, std::optional<std::string> duration = std::nullopt) {
  return RotationRules{n, std::move(duration), std::nullopt};
}

RotationSchedule Must(const RotationRules& r) {
  auto s = RotationSchedule::Parse(r);
  EXPECT_TRUE(s.ok()) << r.schedule_expression.value_or("") << ": " << s.error().ToLogString();
  EXPECT_TRUE(s.ok() && s->has_value());
  return **s;
}

// The next window as "start..end" in ISO 8601.
std::string Next(const RotationRules& r, const std::string& last, const std::string& now) {
  auto w = Must(r).NextWindow(T(last), T(now));
  return S(w.start) + ".." + S(w.end);
}
std::string Next(const RotationRules& r, const std::string& last) { return Next(r, last, last); }

constexpr const char* kInvalid = "Invalid schedule expression.";

// ---- parsing -------------------------------------------------------------------------------------

TEST(RotationScheduleParse, AcceptsEveryDocumentedForm) {
  const std::vector<std::string> ok = {
      "rate(4 hours)", "rate(23 hours)", "rate(12 hours)",
      "rate(1 day)", "rate(1 days)", "rate(10 days)", "rate(999 days)",
      // The User Guide's cron examples.
      "cron(0 10 * * ? *)", "cron(0 18 ? * SAT *)", "cron(0 8 1 * ? *)", "cron(0 17 L * ? *)",
      "cron(0 8 ? * MON-FRI *)", "cron(0 16 1,15 * ? *)", "cron(0 0 ? * SUN#1 *)", "cron(0 4/12 * * ? *)",
      "cron(0 /4 * * ? *)", "cron(0 8/8 * * ? *)", "cron(0 2/10 * * ? *)", "cron(0 8 1/7 * ? *)",
      "cron(0 10 ? FEB,MAY,AUG,NOV TUE#2 *)", "cron(0 0 ? * 2 *)",
      // Every field form.
      "cron(0 0 * 1/3 ? *)", "cron(0 0 ? * SUNL *)", "cron(0 0 ? * 5L *)", "cron(0 0 ? * L *)",
      "cron(0 0 15W * ? *)", "cron(0 0 LW * ? *)", "cron(0 0 1-15 * ? *)", "cron(0 0 1-20/5 * ? *)",
      "cron(0 0 ? JAN-MAR FRI-MON *)", "cron(0 0 ? * mon,wed,fri *)", "cron(0 0,4,8,12,16,20 * * ? *)",
      "cron(0 0 ? * * *)", "cron(0 20-4/4 * * ? *)", "cron(0 0 29 2 ? *)", "cron(0  6  *  *  ?  *)",
      "cron(0 0 ? * 6#5 *)", "cron(0 0 ? 2 5#5 *)"};
  for (const auto& e : ok) {
    auto s = RotationSchedule::Parse(Expr(e));
    EXPECT_TRUE(s.ok()) << e << ": " << s.error().ToLogString();
    EXPECT_TRUE(s.ok() && s->has_value()) << e;
  }
  EXPECT_TRUE(RotationSchedule::Parse(Days(1)).ok());
  EXPECT_TRUE(RotationSchedule::Parse(Days(1000)).ok());
  EXPECT_TRUE(RotationSchedule::Parse(Days(30, "24h")).ok());
}

TEST(RotationScheduleParse, NoScheduleIsNoSchedule) {
  auto none = RotationSchedule::Parse(RotationRules{});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto duration_only = RotationSchedule::Parse(RotationRules{std::nullopt, "2h", std::nullopt});
  ASSERT_TRUE(duration_only.ok());
  EXPECT_FALSE(duration_only->has_value());
  EXPECT_EQ(RotationSchedule::Parse(RotationRules{std::nullopt, "0h", std::nullopt}).error().message(),
            "Duration must be at least 1 hour, at most 24 hour.");
}

struct Rejection {
  RotationRules rules;
  std::string message;
};

TEST(RotationScheduleParse, RejectsWithSecretsManagersMessages) {
  const std::string both = "You cannot specify both rotation frequency and schedule expression together.";
  const std::string days = "RotationRules.AutomaticallyAfterDays must be within 1-1000.";
  const std::string rate_hours = "Rate in hour should be least 4 and less than 24.";
  const std::string rate_days = "Rate in day should be greater than 0 and less than 1000.";
  const std::string duration = "Duration must be at least 1 hour, at most 24 hour.";
  const std::string over_rate = "Duration cannot be greater than Rate in hour.";
  const std::string past_day = "Starting hour and duration must be within a day.";
  const std::vector<Rejection> table = {
      {RotationRules{30, std::nullopt, "rate(30 days)"}, both},
      {Days(0), days},
      {Days(-1), days},
      {Days(1001), days},
      // rate()
      {Expr("rate(3 hours)"), rate_hours},
      {Expr("rate(1 hour)"), rate_hours},
      {Expr("rate(24 hours)"), rate_hours},
      {Expr("rate(99999 hours)"), rate_hours},
      {Expr("rate(0 days)"), rate_days},
      {Expr("rate(1000 days)"), rate_days},
      {Expr("rate(10 minutes)"), kInvalid},
      {Expr("rate(1 week)"), kInvalid},
      {Expr("rate(x days)"), kInvalid},
      {Expr("rate(-1 days)"), kInvalid},
      {Expr("rate(5days)"), kInvalid},
      {Expr("rate(5  days)"), kInvalid},
      {Expr("rate(5 DAYS)"), kInvalid},
      {Expr("Rate(5 days)"), kInvalid},
      {Expr("rate(5 days"), kInvalid},
      {Expr(""), kInvalid},
      {Expr("every day"), kInvalid},
      {Expr("at(2024-01-01T00:00:00)"), kInvalid},
      // cron(): shape and Secrets Manager's own restrictions
      {Expr("cron(0 10 * * ?)"), kInvalid},
      {Expr("cron(0 0 10 * * ? *)"), kInvalid},
      {Expr("cron(5 10 * * ? *)"), kInvalid},
      {Expr("cron(* 10 * * ? *)"), kInvalid},
      {Expr("cron(0/15 10 * * ? *)"), kInvalid},
      {Expr("cron(0 10 * * ? 2030)"), kInvalid},
      {Expr("cron(0 10 * * ? 2020-2030)"), kInvalid},
      {Expr("cron(0 10 * * * *)"), kInvalid},
      {Expr("cron(0 10 ? * ? *)"), kInvalid},
      {Expr("cron(0 10 1 * MON *)"), kInvalid},
      {Expr("cron(0 1 * 1/3 SUN *)"), kInvalid},
      // at most one rotation every four hours
      {Expr("cron(0 * * * ? *)"), kInvalid},
      {Expr("cron(0 0/3 * * ? *)"), kInvalid},
      {Expr("cron(0 0,3 * * ? *)"), kInvalid},
      {Expr("cron(0 1,22 * * ? *)"), kInvalid},  // 22:00 then 01:00 the next day
      {Expr("cron(0 8-10 * * ? *)"), kInvalid},
      // values and wildcards
      {Expr("cron(0 24 * * ? *)"), kInvalid},
      {Expr("cron(0 -1 * * ? *)"), kInvalid},
      {Expr("cron(0 10 0 * ? *)"), kInvalid},
      {Expr("cron(0 10 32 * ? *)"), kInvalid},
      {Expr("cron(0 10 1, * ? *)"), kInvalid},
      {Expr("cron(0 10 1/0 * ? *)"), kInvalid},
      {Expr("cron(0 10 W * ? *)"), kInvalid},
      {Expr("cron(0 10 32W * ? *)"), kInvalid},
      {Expr("cron(0 10 L,15 * ? *)"), kInvalid},
      {Expr("cron(0 10 * 13 ? *)"), kInvalid},
      {Expr("cron(0 10 * FOO ? *)"), kInvalid},
      {Expr("cron(0 10 * ? ? *)"), kInvalid},
      {Expr("cron(0 10 * L ? *)"), kInvalid},
      {Expr("cron(0 10 ? * 0 *)"), kInvalid},
      {Expr("cron(0 10 ? * 8 *)"), kInvalid},
      {Expr("cron(0 10 ? * MON#6 *)"), kInvalid},
      {Expr("cron(0 10 ? * MON#0 *)"), kInvalid},
      {Expr("cron(0 10 ? * 3#1,6#3 *)"), kInvalid},
      {Expr("cron(0 10 ? * SUNDAY *)"), kInvalid},
      {Expr("cron(0 10 30 2 ? *)"), kInvalid},  // 30 February never comes
      {Expr("cron(0 10 31 4,6,9,11 ? *)"), kInvalid},
      // Duration
      {Days(30, "0h"), duration},
      {Days(30, "25h"), duration},
      {Days(30, "100h"), duration},
      {Days(30, "3"), duration},
      {Days(30, "h"), duration},
      {Days(30, "3H"), duration},
      {Days(30, "-1h"), duration},
      {Expr("rate(10 days)", "1d"), duration},
      {Expr("rate(4 hours)", "5h"), over_rate},
      {Expr("rate(12 hours)", "13h"), over_rate},
      {Expr("cron(0 22 * * ? *)", "3h"), past_day},
      {Expr("cron(0 2/10 * * ? *)", "3h"), past_day},  // 22:00 + 3h
      {Expr("cron(0 0,4 * * ? *)", "5h"), over_rate},
  };
  for (const auto& [rules, message] : table) {
    auto s = RotationSchedule::Parse(rules);
    const std::string what = rules.schedule_expression.value_or(
        "days=" + std::to_string(rules.automatically_after_days.value_or(0)) + " duration=" +
        rules.duration.value_or(""));
    ASSERT_FALSE(s.ok()) << what;
    EXPECT_EQ(s.error().code(), Code::kInvalidParameter) << what;
    EXPECT_EQ(s.error().message(), message) << what;
  }
}

TEST(RotationScheduleParse, DurationFitsItsWindow) {
  EXPECT_TRUE(RotationSchedule::Parse(Expr("rate(4 hours)", "4h")).ok());
  EXPECT_TRUE(RotationSchedule::Parse(Expr("rate(10 days)", "24h")).ok());
  EXPECT_TRUE(RotationSchedule::Parse(Expr("cron(0 22 * * ? *)", "2h")).ok());
  EXPECT_TRUE(RotationSchedule::Parse(Expr("cron(0 0 * * ? *)", "24h")).ok());
  EXPECT_TRUE(RotationSchedule::Parse(Expr("cron(0 0/8 * * ? *)", "8h")).ok());
  EXPECT_TRUE(RotationSchedule::Parse(Expr("cron(0 2/10 * * ? *)", "2h")).ok());
}

TEST(RotationScheduleParse, HourlyOrDaily) {
  EXPECT_TRUE(Must(Expr("rate(4 hours)")).hourly());
  EXPECT_FALSE(Must(Expr("rate(1 day)")).hourly());
  EXPECT_FALSE(Must(Days(7)).hourly());
  EXPECT_TRUE(Must(Expr("cron(0 4/12 * * ? *)")).hourly());
  EXPECT_FALSE(Must(Expr("cron(0 4 * * ? *)")).hourly());
  EXPECT_FALSE(Must(Expr("cron(0 20/12 * * ? *)")).hourly());  // 20/12 names only 20:00
}

// ---- rate() and AutomaticallyAfterDays --------------------------------------------------------------

TEST(RotationScheduleRate, DaysOpenAtMidnightAndCloseAtTheEndOfTheDay) {
  EXPECT_EQ(Next(Expr("rate(10 days)"), "2024-01-10T15:30:00Z"), "2024-01-20T00:00:00Z..2024-01-21T00:00:00Z");
  EXPECT_EQ(Next(Expr("rate(1 day)"), "2024-01-10T00:00:00Z"), "2024-01-11T00:00:00Z..2024-01-12T00:00:00Z");
  EXPECT_EQ(Next(Expr("rate(1 day)"), "2024-01-10T23:59:59Z"), "2024-01-11T00:00:00Z..2024-01-12T00:00:00Z");
  EXPECT_EQ(Next(Expr("rate(10 days)", "3h"), "2024-01-10T15:30:00Z"), "2024-01-20T00:00:00Z..2024-01-20T03:00:00Z");
  EXPECT_EQ(Next(Expr("rate(10 days)", "24h"), "2024-01-10T15:30:00Z"), "2024-01-20T00:00:00Z..2024-01-21T00:00:00Z");
  // Month ends and leap years.
  EXPECT_EQ(Next(Days(30), "2024-02-01T10:00:00Z"), "2024-03-02T00:00:00Z..2024-03-03T00:00:00Z");
  EXPECT_EQ(Next(Days(30), "2023-02-01T10:00:00Z"), "2023-03-03T00:00:00Z..2023-03-04T00:00:00Z");
  EXPECT_EQ(Next(Days(1), "2024-02-28T10:00:00Z"), "2024-02-29T00:00:00Z..2024-03-01T00:00:00Z");
  EXPECT_EQ(Next(Days(1), "2100-02-28T10:00:00Z"), "2100-03-01T00:00:00Z..2100-03-02T00:00:00Z");
  EXPECT_EQ(Next(Days(365), "2024-01-01T10:00:00Z"), "2024-12-31T00:00:00Z..2025-01-01T00:00:00Z");
  EXPECT_EQ(Next(Days(1000), "2024-01-01T10:00:00Z"), "2026-09-27T00:00:00Z..2026-09-28T00:00:00Z");
  EXPECT_EQ(Next(Days(1), "2023-12-31T18:00:00Z"), "2024-01-01T00:00:00Z..2024-01-02T00:00:00Z");
}

TEST(RotationScheduleRate, AutomaticallyAfterDaysIsRateInDays) {
  for (const std::string last : {"2024-01-10T15:30:00Z", "2024-02-29T00:00:00Z", "2024-12-31T23:59:59Z"}) {
    EXPECT_EQ(Next(Days(7, "2h"), last), Next(Expr("rate(7 days)", "2h"), last)) << last;
  }
}

TEST(RotationScheduleRate, HoursOpenOnTheHourForOneHour) {
  EXPECT_EQ(Next(Expr("rate(4 hours)"), "2024-03-10T04:20:00Z"), "2024-03-10T08:00:00Z..2024-03-10T09:00:00Z");
  EXPECT_EQ(Next(Expr("rate(4 hours)", "4h"), "2024-03-10T04:20:00Z"), "2024-03-10T08:00:00Z..2024-03-10T12:00:00Z");
  EXPECT_EQ(Next(Expr("rate(6 hours)"), "2024-03-10T22:10:00Z"), "2024-03-11T04:00:00Z..2024-03-11T05:00:00Z");
  EXPECT_EQ(Next(Expr("rate(23 hours)", "2h"), "2024-02-28T03:00:00Z"), "2024-02-29T02:00:00Z..2024-02-29T04:00:00Z");
}

TEST(RotationScheduleRate, WindowsMissedEntirelyAreSkipped) {
  const auto weekly = Expr("rate(7 days)");
  // Windows on Jan 8, 15, 22, ...
  EXPECT_EQ(Next(weekly, "2024-01-01T05:00:00Z", "2024-01-08T12:00:00Z"), "2024-01-08T00:00:00Z..2024-01-09T00:00:00Z");
  EXPECT_EQ(Next(weekly, "2024-01-01T05:00:00Z", "2024-01-15T23:59:59Z"), "2024-01-15T00:00:00Z..2024-01-16T00:00:00Z");
  EXPECT_EQ(Next(weekly, "2024-01-01T05:00:00Z", "2024-01-16T00:00:00Z"), "2024-01-22T00:00:00Z..2024-01-23T00:00:00Z");
  EXPECT_EQ(Next(weekly, "2024-01-01T05:00:00Z", "2024-01-20T12:00:00Z"), "2024-01-22T00:00:00Z..2024-01-23T00:00:00Z");
  EXPECT_EQ(Next(weekly, "2024-01-01T05:00:00Z", "2025-01-01T00:00:00Z"), "2025-01-06T00:00:00Z..2025-01-07T00:00:00Z");
  // A window that has opened but not closed is still the next one.
  EXPECT_EQ(Next(Expr("rate(4 hours)"), "2024-03-10T04:20:00Z", "2024-03-10T08:59:00Z"),
            "2024-03-10T08:00:00Z..2024-03-10T09:00:00Z");
  EXPECT_EQ(Next(Expr("rate(4 hours)"), "2024-03-10T04:20:00Z", "2024-03-10T09:00:00Z"),
            "2024-03-10T12:00:00Z..2024-03-10T13:00:00Z");
}

// ---- cron() ------------------------------------------------------------------------------------------

TEST(RotationScheduleCron, DailyWindowsRunToTheEndOfTheDay) {
  EXPECT_EQ(Next(Expr("cron(0 10 * * ? *)"), "2024-01-01T10:30:00Z"), "2024-01-02T10:00:00Z..2024-01-03T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 10 * * ? *)"), "2024-01-01T09:59:59Z"), "2024-01-01T10:00:00Z..2024-01-02T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 16 * * ? *)", "2h"), "2024-01-01T10:30:00Z"), "2024-01-01T16:00:00Z..2024-01-01T18:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 18 ? * SAT *)"), "2024-01-01T00:00:00Z"), "2024-01-06T18:00:00Z..2024-01-07T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 8 1 * ? *)"), "2024-01-01T08:00:00Z"), "2024-02-01T08:00:00Z..2024-02-02T00:00:00Z");
}

TEST(RotationScheduleCron, HourIncrementsRestartEachDayWithOneHourWindows) {
  const auto e = Expr("cron(0 2/10 * * ? *)");  // 02:00, 12:00, 22:00, then 02:00 the next day
  EXPECT_EQ(Next(e, "2024-01-01T02:30:00Z"), "2024-01-01T12:00:00Z..2024-01-01T13:00:00Z");
  EXPECT_EQ(Next(e, "2024-01-01T12:00:00Z"), "2024-01-01T22:00:00Z..2024-01-01T23:00:00Z");
  EXPECT_EQ(Next(e, "2024-01-01T22:30:00Z"), "2024-01-02T02:00:00Z..2024-01-02T03:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 /4 * * ? *)"), "2024-01-01T21:00:00Z"), "2024-01-02T00:00:00Z..2024-01-02T01:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 4/12 * * ? *)", "4h"), "2024-01-01T05:00:00Z"), "2024-01-01T16:00:00Z..2024-01-01T20:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 20-4/4 * * ? *)"), "2024-01-01T20:30:00Z"), "2024-01-02T00:00:00Z..2024-01-02T01:00:00Z");
}

TEST(RotationScheduleCron, LastDayOfMonthAcrossMonthEndsAndLeapYears) {
  const auto e = Expr("cron(0 17 L * ? *)");
  EXPECT_EQ(Next(e, "2024-02-01T00:00:00Z"), "2024-02-29T17:00:00Z..2024-03-01T00:00:00Z");
  EXPECT_EQ(Next(e, "2023-02-01T00:00:00Z"), "2023-02-28T17:00:00Z..2023-03-01T00:00:00Z");
  EXPECT_EQ(Next(e, "2100-02-01T00:00:00Z"), "2100-02-28T17:00:00Z..2100-03-01T00:00:00Z");
  EXPECT_EQ(Next(e, "2024-02-29T17:30:00Z"), "2024-03-31T17:00:00Z..2024-04-01T00:00:00Z");
  EXPECT_EQ(Next(e, "2024-04-01T00:00:00Z"), "2024-04-30T17:00:00Z..2024-05-01T00:00:00Z");
  EXPECT_EQ(Next(e, "2024-12-31T18:00:00Z"), "2025-01-31T17:00:00Z..2025-02-01T00:00:00Z");
  // The 29th of February only: every leap year, and 2100 is not one.
  EXPECT_EQ(Next(Expr("cron(0 0 29 2 ? *)"), "2024-03-01T00:00:00Z"), "2028-02-29T00:00:00Z..2028-03-01T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 0 29 2 ? *)"), "2096-03-01T00:00:00Z"), "2104-02-29T00:00:00Z..2104-03-01T00:00:00Z");
  // The 31st skips the months without one.
  EXPECT_EQ(Next(Expr("cron(0 0 31 * ? *)"), "2024-03-31T01:00:00Z"), "2024-05-31T00:00:00Z..2024-06-01T00:00:00Z");
}

TEST(RotationScheduleCron, NearestWeekday) {
  const auto w15 = Expr("cron(0 8 15W * ? *)");
  EXPECT_EQ(Next(w15, "2024-06-01T00:00:00Z"), "2024-06-14T08:00:00Z..2024-06-15T00:00:00Z");  // Sat 15th -> Fri
  EXPECT_EQ(Next(w15, "2024-09-01T00:00:00Z"), "2024-09-16T08:00:00Z..2024-09-17T00:00:00Z");  // Sun 15th -> Mon
  EXPECT_EQ(Next(w15, "2024-01-01T00:00:00Z"), "2024-01-15T08:00:00Z..2024-01-16T00:00:00Z");  // Monday itself
  // Never into another month: Saturday the 1st moves to Monday the 3rd, Sunday the 31st to Friday.
  EXPECT_EQ(Next(Expr("cron(0 8 1W * ? *)"), "2024-05-31T00:00:00Z"), "2024-06-03T08:00:00Z..2024-06-04T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 8 31W * ? *)"), "2024-03-01T00:00:00Z"), "2024-03-29T08:00:00Z..2024-03-30T00:00:00Z");
  // The last weekday of the month: Saturday the 31st of August 2024 -> Friday the 30th.
  EXPECT_EQ(Next(Expr("cron(0 8 LW * ? *)"), "2024-08-01T00:00:00Z"), "2024-08-30T08:00:00Z..2024-08-31T00:00:00Z");
}

TEST(RotationScheduleCron, WeekdaysByNameNumberNthAndLast) {
  EXPECT_EQ(Next(Expr("cron(0 0 ? * SUN#1 *)"), "2024-01-01T00:00:00Z"), "2024-01-07T00:00:00Z..2024-01-08T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 0 ? * 1#1 *)"), "2024-01-01T00:00:00Z"), "2024-01-07T00:00:00Z..2024-01-08T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 9 ? * TUE#3 *)"), "2024-01-01T00:00:00Z"), "2024-01-16T09:00:00Z..2024-01-17T00:00:00Z");
  // The fifth Friday: the first month of 2024 with one is March.
  EXPECT_EQ(Next(Expr("cron(0 0 ? * FRI#5 *)"), "2024-01-01T00:00:00Z"), "2024-03-29T00:00:00Z..2024-03-30T00:00:00Z");
  // The last Friday of February 2024 (the 29th is a Thursday).
  EXPECT_EQ(Next(Expr("cron(0 0 ? 2 FRIL *)"), "2024-01-01T00:00:00Z"), "2024-02-23T00:00:00Z..2024-02-24T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 0 ? 2 6L *)"), "2024-01-01T00:00:00Z"), "2024-02-23T00:00:00Z..2024-02-24T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 0 ? * L *)"), "2024-01-01T00:00:00Z"), "2024-01-06T00:00:00Z..2024-01-07T00:00:00Z");
  // Ranges, wrapping ranges, lists, lower case.
  EXPECT_EQ(Next(Expr("cron(0 8 ? * MON-FRI *)"), "2024-01-05T09:00:00Z"), "2024-01-08T08:00:00Z..2024-01-09T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 8 ? * FRI-MON *)"), "2024-01-09T09:00:00Z"), "2024-01-12T08:00:00Z..2024-01-13T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 8 ? * 6-2 *)"), "2024-01-09T09:00:00Z"), "2024-01-12T08:00:00Z..2024-01-13T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 8 ? * tue,thu *)"), "2024-01-09T09:00:00Z"), "2024-01-11T08:00:00Z..2024-01-12T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 10 ? FEB,MAY,AUG,NOV TUE#2 *)"), "2024-02-14T00:00:00Z"),
            "2024-05-14T10:00:00Z..2024-05-15T00:00:00Z");
}

TEST(RotationScheduleCron, MonthsAndDayIncrements) {
  EXPECT_EQ(Next(Expr("cron(0 1 1 JAN,APR,JUL,OCT ? *)"), "2024-01-01T01:30:00Z"), "2024-04-01T01:00:00Z..2024-04-02T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 1 1 */3 ? *)"), "2024-01-01T01:30:00Z"), "2024-04-01T01:00:00Z..2024-04-02T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 1 1 NOV-FEB ? *)"), "2024-02-01T01:30:00Z"), "2024-11-01T01:00:00Z..2024-11-02T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 8 1/7 * ? *)"), "2024-02-22T09:00:00Z"), "2024-02-29T08:00:00Z..2024-03-01T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 8 1/7 * ? *)"), "2023-02-22T09:00:00Z"), "2023-03-01T08:00:00Z..2023-03-02T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 16 1,15 * ? *)"), "2024-12-15T16:00:00Z"), "2025-01-01T16:00:00Z..2025-01-02T00:00:00Z");
}

TEST(RotationScheduleCron, MissedWindowsAreSkipped) {
  const auto e = Expr("cron(0 10 * * ? *)");
  EXPECT_EQ(Next(e, "2024-01-01T10:05:00Z", "2024-01-05T12:00:00Z"), "2024-01-05T10:00:00Z..2024-01-06T00:00:00Z");
  EXPECT_EQ(Next(e, "2024-01-01T10:05:00Z", "2024-01-06T00:00:00Z"), "2024-01-06T10:00:00Z..2024-01-07T00:00:00Z");
  EXPECT_EQ(Next(Expr("cron(0 0/6 * * ? *)"), "2020-01-01T00:00:00Z", "2024-01-05T07:30:00Z"),
            "2024-01-05T12:00:00Z..2024-01-05T13:00:00Z");
}

// ---- NextRotationDate (DescribeSecret) -------------------------------------------------------------

TEST(RotationScheduleNextRotationDate, IsTheLastSecondOfTheNextWindow) {
  // As AWS showed it: cron(0 0 ? * 2 *), last rotated Monday 2023-10-16T07:18:02Z.
  EXPECT_EQ(S(Must(Expr("cron(0 0 ? * 2 *)")).NextRotationDate(T("2023-10-16T07:18:02Z"), T("2023-10-16T07:18:02Z"))),
            "2023-10-23T23:59:59Z");
  EXPECT_EQ(S(Must(Days(30)).NextRotationDate(T("2026-02-03T17:34:00Z"), T("2026-02-03T17:34:00Z"))),
            "2026-03-05T23:59:59Z");
  EXPECT_EQ(S(Must(Expr("rate(4 hours)")).NextRotationDate(T("2024-03-10T04:20:00Z"), T("2024-03-10T05:00:00Z"))),
            "2024-03-10T08:59:59Z");
  EXPECT_EQ(S(Must(Expr("rate(10 days)", "2h")).NextRotationDate(T("2024-01-10T15:30:00Z"), T("2024-01-10T15:30:00Z"))),
            "2024-01-20T01:59:59Z");
}

}  // namespace
}  // namespace arca::secrets
