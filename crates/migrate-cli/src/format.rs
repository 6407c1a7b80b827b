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

#[cfg(test)]
mod tests {
    use super::*;

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
