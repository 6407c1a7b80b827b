//! `${name}` placeholders, so one source tree serves a single node and a cluster:
//! `${database}`, `${cluster}`, `${on_cluster}` (`ON CLUSTER name`, or nothing on one node),
//! `${replicated}` (`Replicated`, or nothing) and the ones the configuration defines.

use std::collections::BTreeMap;

/// The values placeholders take for one environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placeholders {
    /// The database migrations run in.
    pub database: String,
    /// The cluster DDL runs `ON`, when there is one.
    pub cluster: Option<String>,
    /// User-defined values from the configuration.
    pub custom: BTreeMap<String, String>,
}

impl Placeholders {
    /// The value of `name`, if it is one.
    pub fn value(&self, name: &str) -> Option<String> {
        match name {
            "database" => Some(self.database.clone()),
            "cluster" => self.cluster.clone().or_else(|| Some(String::new())),
            "on_cluster" => {
                Some(self.cluster.as_ref().map(|c| format!("ON CLUSTER {c}")).unwrap_or_default())
            }
            "replicated" => Some(if self.cluster.is_some() { "Replicated" } else { "" }.to_string()),
            other => self.custom.get(other).cloned(),
        }
    }

    /// `text` with every placeholder replaced, or the names of those that are unknown (each
    /// once, in order of appearance).
    pub fn substitute(&self, text: &str) -> Result<String, Vec<String>> {
        let mut out = String::with_capacity(text.len());
        let mut unknown: Vec<String> = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[at..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            match self.value(name) {
                Some(v) => out.push_str(&v),
                None => {
                    if !unknown.iter().any(|u| u == name) {
                        unknown.push(name.to_string());
                    }
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        if unknown.is_empty() { Ok(out) } else { Err(unknown) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DDL: &str = "CREATE TABLE ${database}.events ${on_cluster} (id UInt64) \
                       ENGINE = ${replicated}MergeTree ORDER BY id";

    #[test]
    fn one_source_serves_a_single_node_and_a_cluster() {
        let single = Placeholders { database: "analytics".into(), ..Default::default() };
        assert_eq!(
            single.substitute(DDL).unwrap(),
            "CREATE TABLE analytics.events  (id UInt64) ENGINE = MergeTree ORDER BY id"
        );
        let cluster = Placeholders { cluster: Some("main".into()), ..single };
        assert_eq!(
            cluster.substitute(DDL).unwrap(),
            "CREATE TABLE analytics.events ON CLUSTER main (id UInt64) ENGINE = ReplicatedMergeTree ORDER BY id"
        );
    }

    #[test]
    fn user_defined_values_and_unknown_names() {
        let mut p = Placeholders { database: "db".into(), ..Default::default() };
        p.custom.insert("ttl_days".into(), "90".into());
        assert_eq!(p.substitute("TTL d + INTERVAL ${ttl_days} DAY").unwrap(), "TTL d + INTERVAL 90 DAY");
        assert_eq!(
            p.substitute("${nope} ${database} ${other} ${nope}").unwrap_err(),
            vec!["nope".to_string(), "other".to_string()]
        );
        assert_eq!(
            p.substitute("no placeholders, a lone ${ brace").unwrap(),
            "no placeholders, a lone ${ brace"
        );
    }
}
