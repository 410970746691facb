//! Timestamps in the shape Ansible returns them (`start`, `end`, `delta`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `2026-11-21 13:56:59.976459` (UTC: troupe has no time-zone database).
pub fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, m, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!("{y:04}-{m:02}-{day:02} {:02}:{:02}:{:02}.{:06}", rem / 3600, rem / 60 % 60, rem % 60, d.subsec_micros())
}

/// `0:00:01.234567`, as Python prints a timedelta.
pub fn delta(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}:{:02}.{:06}", s / 3600, s / 60 % 60, s % 60, d.subsec_micros())
}

/// Days since 1970-01-01 → (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_python() {
        let t = UNIX_EPOCH + Duration::from_micros(1_795_269_419_976_459);
        assert_eq!(timestamp(t), "2026-11-21 13:56:59.976459");
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01 00:00:00.000000");
        assert_eq!(timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29 00:00:00.000000");
        assert_eq!(delta(Duration::from_micros(3_723_000_005)), "1:02:03.000005");
    }
}
