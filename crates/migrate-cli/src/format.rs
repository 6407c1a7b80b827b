//! Numbers as operators read them, the same in every tool's log lines and summaries.

/// `1234567` as `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A byte size in binary units: `224 B`, `1.50 KiB`, `3.20 GiB`.
pub fn bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

/// `1 object`, `2 objects`, `1,024 rows`: the count with the noun in the right number.
pub fn counted(n: u64, singular: &str, plural: &str) -> String {
    format!("{} {}", count(n), if n == 1 { singular } else { plural })
}

/// A duration as operators read it: `0.42 s`, `12.3 s`, `4 min 05 s`, `2 h 03 min`.
pub fn duration(d: std::time::Duration) -> String {
    let secs = d.as_secs_f64();
    let whole = d.as_secs();
    match whole {
        0..10 => format!("{secs:.2} s"),
        10..60 => format!("{secs:.1} s"),
        60..3600 => format!("{} min {:02} s", whole / 60, whole % 60),
        _ => format!("{} h {:02} min", whole / 3600, whole % 3600 / 60),
    }
}

/// `n` things over `d` as a rate with three significant digits at most: `1,230 rows/s`,
/// `45.6 objects/s`, `0.5 objects/s`.
pub fn rate(n: u64, d: std::time::Duration, unit: &str) -> String {
    format!("{} {unit}/s", per_second(n, d))
}

/// `n` over `d` per second, three significant digits at most: `1,230`, `45.6`, `0.5`.
pub fn per_second(n: u64, d: std::time::Duration) -> String {
    let per_sec = n as f64 / d.as_secs_f64().max(1e-3);
    if per_sec >= 100.0 {
        let digits = per_sec.log10().floor() as i32;
        let scale = 10f64.powi(digits - 2);
        count(((per_sec / scale).round() * scale) as u64)
    } else if per_sec >= 10.0 {
        format!("{per_sec:.1}")
    } else {
        format!("{per_sec:.2}").trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Bytes over `d` as a rate: `12.3 MiB/s`.
pub fn byte_rate(n: u64, d: std::time::Duration) -> String {
    format!("{}/s", bytes((n as f64 / d.as_secs_f64().max(1e-3)) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_and_rates_round_sensibly() {
        assert_eq!(duration(Duration::from_millis(420)), "0.42 s");
        assert_eq!(duration(Duration::from_millis(12_345)), "12.3 s");
        assert_eq!(duration(Duration::from_secs(245)), "4 min 05 s");
        assert_eq!(duration(Duration::from_secs(7_380)), "2 h 03 min");
        assert_eq!(rate(1_234_567, Duration::from_secs(1), "rows"), "1,230,000 rows/s");
        assert_eq!(rate(459_576, Duration::from_millis(1000), "objects"), "460,000 objects/s");
        assert_eq!(rate(456, Duration::from_secs(10), "objects"), "45.6 objects/s");
        assert_eq!(rate(1, Duration::from_secs(2), "objects"), "0.5 objects/s");
        assert_eq!(rate(0, Duration::from_secs(2), "objects"), "0 objects/s");
        assert_eq!(byte_rate(3 << 20, Duration::from_secs(2)), "1.50 MiB/s");
    }

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(720), "720");
        assert_eq!(count(1_440), "1,440");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn sizes_and_nouns() {
        assert_eq!(bytes(224), "224 B");
        assert_eq!(bytes(1536), "1.50 KiB");
        assert_eq!(counted(1, "object", "objects"), "1 object");
        assert_eq!(counted(0, "object", "objects"), "0 objects");
        assert_eq!(counted(2_000, "row", "rows"), "2,000 rows");
    }
}
