//! The clock behind the templates' `strftime_now(fmt)` and a small `strftime`.
//!
//! Templates such as Llama 3's put today's date into the system prompt. A dependency-free
//! formatter keeps the crate small and wasm-friendly; it covers the C/Python directives that
//! chat templates use. Times are UTC: transformers uses the local time, but a library
//! cannot know the user's time zone on every target, and callers that care inject a clock.

use std::sync::Arc;

/// Returns the current time as seconds since the Unix epoch (UTC), or `None` when the
/// target has no clock.
pub type Clock = Arc<dyn Fn() -> Option<i64> + Send + Sync>;

/// The system clock. On wasm32 (the browser) std has none (`SystemTime::now` panics there),
/// so it is JS's `Date.now()`, which every page and worker has: Llama 3.x templates put
/// today's date in the system prompt and must render there too.
pub fn system_clock() -> Clock {
    #[cfg(not(target_arch = "wasm32"))]
    {
        Arc::new(|| {
            let now = std::time::SystemTime::now();
            let secs = match now.duration_since(std::time::UNIX_EPOCH) {
                Ok(d) => i64::try_from(d.as_secs()).ok()?,
                Err(before) => -i64::try_from(before.duration().as_secs()).ok()?,
            };
            Some(secs)
        })
    }
    #[cfg(target_arch = "wasm32")]
    {
        Arc::new(|| Some((js_sys::Date::now() / 1000.0).floor() as i64))
    }
}

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Monday .. 6 = Sunday (Python's `weekday()`).
    pub weekday: u32,
    /// 1..=366
    pub year_day: u32,
}

impl CivilTime {
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        let year_day = (days - days_from_civil(year, 1, 1)) as u32 + 1;
        // 1970-01-01 was a Thursday (weekday 3).
        let weekday = (days + 3).rem_euclid(7) as u32;
        CivilTime { year, month, day, hour: rem / 3600, minute: rem / 60 % 60, second: rem % 60, weekday, year_day }
    }
}

// Howard Hinnant's proleptic-Gregorian day-count algorithms (public domain descriptions).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const MONTHS: [&str; 12] =
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Formats `t` like Python's `datetime.strftime` (glibc) for a naive datetime. Supports
/// `%a %A %b %h %B %d %e %H %I %j %m %M %p %S %y %Y %F %T %D %R %Z %z %%` and glibc's `%-d`
/// style no-padding flag; any other directive is an error naming it.
pub fn strftime(fmt: &str, t: &CivilTime) -> Result<String, String> {
    let mut out = String::with_capacity(fmt.len() + 16);
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = chars.next().ok_or("strftime format ends with a lone '%'")?;
        let no_pad = spec == '-';
        if no_pad {
            spec = chars.next().ok_or("strftime format ends with '%-'")?;
        }
        let num = |out: &mut String, v: i64, width: usize| {
            if no_pad {
                out.push_str(&v.to_string());
            } else {
                out.push_str(&format!("{v:0width$}"));
            }
        };
        let hour12 = match t.hour % 12 {
            0 => 12,
            h => h,
        };
        match spec {
            'a' => out.push_str(&WEEKDAYS[t.weekday as usize][..3]),
            'A' => out.push_str(WEEKDAYS[t.weekday as usize]),
            'b' | 'h' => out.push_str(&MONTHS[t.month as usize - 1][..3]),
            'B' => out.push_str(MONTHS[t.month as usize - 1]),
            'd' => num(&mut out, t.day.into(), 2),
            'e' if no_pad => num(&mut out, t.day.into(), 1),
            'e' => out.push_str(&format!("{:2}", t.day)),
            'H' => num(&mut out, t.hour.into(), 2),
            'I' => num(&mut out, hour12.into(), 2),
            'j' => num(&mut out, t.year_day.into(), 3),
            'm' => num(&mut out, t.month.into(), 2),
            'M' => num(&mut out, t.minute.into(), 2),
            'p' => out.push_str(if t.hour < 12 { "AM" } else { "PM" }),
            'S' => num(&mut out, t.second.into(), 2),
            'y' => num(&mut out, t.year.rem_euclid(100), 2),
            'Y' => out.push_str(&t.year.to_string()),
            'F' => out.push_str(&format!("{}-{:02}-{:02}", t.year, t.month, t.day)),
            'T' => out.push_str(&format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second)),
            'R' => out.push_str(&format!("{:02}:{:02}", t.hour, t.minute)),
            'D' => out.push_str(&format!("{:02}/{:02}/{:02}", t.month, t.day, t.year.rem_euclid(100))),
            // Python's naive datetimes have no zone: both expand to nothing.
            'Z' | 'z' => {}
            '%' => out.push('%'),
            other => return Err(format!("unsupported strftime directive '%{other}'")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_leap_years_and_negative_times() {
        for days in [-719_468_i64, -1, 0, 59, 60, 365, 10_957, 11_016, 20_154, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "day {days} -> {y}-{m}-{d}");
        }
        // 2000-02-29 is day 11_016 and a Tuesday.
        let t = CivilTime::from_unix(11_016 * 86_400 + 3_661);
        assert_eq!((t.year, t.month, t.day, t.hour, t.minute, t.second), (2000, 2, 29, 1, 1, 1));
        assert_eq!((t.weekday, t.year_day), (1, 60));
        let before_epoch = CivilTime::from_unix(-1);
        assert_eq!((before_epoch.year, before_epoch.month, before_epoch.day), (1969, 12, 31));
        assert_eq!((before_epoch.hour, before_epoch.second, before_epoch.weekday), (23, 59, 2));
    }

    #[test]
    fn strftime_directives_and_errors() {
        let t = CivilTime::from_unix(1_704_067_200 + 9 * 3600 + 5); // 2024-01-01 09:00:05, Monday
        assert_eq!(strftime("%-d %B %Y, %-I%p", &t).unwrap(), "1 January 2024, 9AM");
        assert_eq!(strftime("%F %T %e|%j", &t).unwrap(), "2024-01-01 09:00:05  1|001");
        assert!(strftime("%Q", &t).unwrap_err().contains("%Q"));
        assert!(strftime("abc%", &t).is_err());
    }
}
