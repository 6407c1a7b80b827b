//! Pairs the objects of two locations by key in one pass over both sorted listings, so
//! planning and verification hold neither listing in memory.

use crate::backend::ObjectBackend;
use crate::entry::ObjectEntry;
use crate::error::{ObjectsError, Result};
use futures::stream::{BoxStream, Peekable};
use futures::{Stream, StreamExt};
use std::cmp::Ordering;
use std::pin::Pin;

/// One key seen on either side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pair {
    /// Only in the source.
    SourceOnly(ObjectEntry),
    /// Only in the target.
    TargetOnly(ObjectEntry),
    /// In both.
    Both(ObjectEntry, ObjectEntry),
}

impl Pair {
    /// The key this pair is about.
    pub fn key(&self) -> &str {
        match self {
            Pair::SourceOnly(e) | Pair::TargetOnly(e) | Pair::Both(e, _) => &e.key,
        }
    }
}

struct Side<'a> {
    url: String,
    stream: Peekable<BoxStream<'a, Result<ObjectEntry>>>,
    last: Option<String>,
}

impl Side<'_> {
    /// The next entry, checking that keys ascend.
    async fn next(&mut self) -> Result<Option<ObjectEntry>> {
        let Some(item) = self.stream.next().await else { return Ok(None) };
        let entry = item?;
        if let Some(last) = &self.last
            && last.as_str() >= entry.key.as_str()
        {
            return Err(ObjectsError::UnsortedListing {
                url: self.url.clone(),
                previous: last.clone(),
                next: entry.key.clone(),
            });
        }
        self.last = Some(entry.key.clone());
        Ok(Some(entry))
    }

    async fn peek_key(&mut self) -> Option<std::result::Result<String, ()>> {
        match Pin::new(&mut self.stream).peek().await? {
            Ok(e) => Some(Ok(e.key.clone())),
            Err(_) => Some(Err(())),
        }
    }
}

/// Streams the key-ordered union of both listings.
pub fn join<'a>(
    source: &'a dyn ObjectBackend,
    target: &'a dyn ObjectBackend,
) -> impl Stream<Item = Result<Pair>> + Send + 'a {
    let sides = (
        Side { url: source.url(), stream: source.list().peekable(), last: None },
        Side { url: target.url(), stream: target.list().peekable(), last: None },
    );
    futures::stream::try_unfold(sides, |(mut s, mut t)| async move {
        let order = match (s.peek_key().await, t.peek_key().await) {
            (None, None) => return Ok(None),
            (Some(Err(())), _) => Ordering::Less,
            (_, Some(Err(()))) => Ordering::Greater,
            (Some(Ok(_)), None) => Ordering::Less,
            (None, Some(Ok(_))) => Ordering::Greater,
            (Some(Ok(a)), Some(Ok(b))) => a.cmp(&b),
        };
        let pair = match order {
            Ordering::Less => Pair::SourceOnly(s.next().await?.expect("peeked")),
            Ordering::Greater => Pair::TargetOnly(t.next().await?.expect("peeked")),
            Ordering::Equal => {
                let a = s.next().await?.expect("peeked");
                let b = t.next().await?.expect("peeked");
                Pair::Both(a, b)
            }
        };
        Ok(Some((pair, (s, t))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ObjectStoreBackend;
    use crate::testing::put_bytes;
    use futures::TryStreamExt;

    #[tokio::test]
    async fn pairs_keys_from_both_sides_in_order() {
        let src = ObjectStoreBackend::open("memory://join/src/").unwrap();
        let dst = ObjectStoreBackend::open("memory://join/dst/").unwrap();
        for k in ["a", "b", "d"] {
            put_bytes(&src, k, b"1").await;
        }
        for k in ["b", "c", "d", "e"] {
            put_bytes(&dst, k, b"1").await;
        }
        let pairs: Vec<Pair> = join(&src, &dst).try_collect().await.unwrap();
        let summary: Vec<(char, &str)> = pairs
            .iter()
            .map(|p| match p {
                Pair::SourceOnly(e) => ('s', e.key.as_str()),
                Pair::TargetOnly(e) => ('t', e.key.as_str()),
                Pair::Both(e, _) => ('b', e.key.as_str()),
            })
            .collect();
        assert_eq!(summary, vec![('s', "a"), ('b', "b"), ('t', "c"), ('b', "d"), ('t', "e")]);
    }
}
