//! The batch fingerprint, computed the same way by PostgreSQL (over the rows as it turns them
//! into JSON text) and by ClickHouse (over the text it stores), so neither side's rows travel
//! to compare them: `rows:a:b`, where `a` and `b` are the sums of the first and second 32 bits
//! of each row's MD5. Sums do not depend on order and, unlike XOR, do not cancel on duplicates.

/// The PostgreSQL aggregate expression over the JSON text `json` (a column or an expression).
pub fn postgres(json: &str) -> String {
    let part = |from: u8| {
        format!("coalesce(sum(('x' || substr(md5({json}), {from}, 8))::bit(32)::bigint), 0)::text")
    };
    format!("count(*)::text || ':' || {} || ':' || {}", part(1), part(9))
}

/// The ClickHouse aggregate expression over the stored JSON text column `json`.
pub fn clickhouse(json: &str) -> String {
    let part =
        |from: u8| format!("toString(sum(reinterpretAsUInt32(reverse(substring(MD5({json}), {from}, 4)))))");
    format!("concat(toString(count()), ':', {}, ':', {})", part(1), part(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_aggregate_the_same_bits() {
        assert!(postgres("j").contains("substr(md5(j), 9, 8)"));
        assert!(clickhouse("data").contains("substring(MD5(data), 5, 4)"));
    }
}
