//! Listing, reading, server-side copy and deletion.

use crate::client::{GcsClient, segment};
use crate::error::{GcsError, Result};
use crate::object::{ObjectMeta, ObjectResource};
use bytes::Bytes;
use futures::{Stream, TryStreamExt, stream};
use reqwest::Method;
use serde::Deserialize;

/// Objects per listing page (the API's maximum).
const PAGE_SIZE: &str = "1000";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListPage {
    #[serde(default)]
    items: Vec<ObjectResource>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RewriteResponse {
    done: bool,
    #[serde(default)]
    rewrite_token: Option<String>,
    #[serde(default)]
    resource: Option<ObjectResource>,
}

/// Preconditions for a server-side copy.
#[derive(Debug, Clone, Copy, Default)]
pub struct CopyConditions {
    /// Copy only if the source still has this generation.
    pub if_source_generation_match: Option<i64>,
    /// Copy only if the destination has this generation (`Some(0)`: only if it does not exist).
    pub if_generation_match: Option<i64>,
}

impl GcsClient {
    /// Streams every object whose name starts with `prefix`, page by page (never the whole
    /// listing in memory), with sizes, CRC32C/MD5 and generations.
    pub fn list<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
    ) -> impl Stream<Item = Result<ObjectMeta>> + Send + 'a {
        let pages = stream::try_unfold(Some(String::new()), move |token| async move {
            let Some(token) = token else {
                return Ok(None);
            };
            let page = self.list_page(bucket, prefix, &token).await?;
            let next = page.next_page_token.filter(|t| !t.is_empty());
            Ok(Some((page.items, next)))
        });
        pages.map_ok(|items| stream::iter(items.into_iter().map(ObjectResource::into_meta))).try_flatten()
    }

    async fn list_page(&self, bucket: &str, prefix: &str, token: &str) -> Result<ListPage> {
        let what = format!("listing gs://{bucket}/{prefix}");
        let mut params = vec![
            ("prefix", prefix.to_string()),
            ("maxResults", PAGE_SIZE.to_string()),
            ("projection", "noAcl".to_string()),
        ];
        if !token.is_empty() {
            params.push(("pageToken", token.to_string()));
        }
        let url = self.url_with(&format!("/storage/v1/b/{}/o", segment(bucket)), &params);
        let resp = self.send(&what, Method::GET, &url, |r| r).await?;
        let resp = Self::check(&what, bucket, prefix, resp).await?;
        resp.json().await.map_err(|e| GcsError::Protocol { what, detail: e.to_string() })
    }

    /// Metadata of one object, `None` when it does not exist.
    pub async fn head(&self, bucket: &str, name: &str) -> Result<Option<ObjectMeta>> {
        let what = format!("reading metadata of gs://{bucket}/{name}");
        let url = self.url(&format!("/storage/v1/b/{}/o/{}", segment(bucket), segment(name)));
        let resp = self.send(&what, Method::GET, &url, |r| r).await?;
        match Self::check(&what, bucket, name, resp).await {
            Ok(resp) => Ok(Some(parse_object(&what, resp).await?)),
            Err(GcsError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Streams an object's content.
    pub async fn download(
        &self,
        bucket: &str,
        name: &str,
    ) -> Result<impl Stream<Item = Result<Bytes>> + Send + use<>> {
        let what = format!("downloading gs://{bucket}/{name}");
        let url = self.url_with(
            &format!("/download/storage/v1/b/{}/o/{}", segment(bucket), segment(name)),
            &[("alt", "media".to_string())],
        );
        let resp = self.send(&what, Method::GET, &url, |r| r).await?;
        let resp = Self::check(&what, bucket, name, resp).await?;
        let endpoint = self.endpoint().to_string();
        Ok(resp.bytes_stream().map_err(move |source| GcsError::Transport {
            endpoint: endpoint.clone(),
            what: what.clone(),
            source,
        }))
    }

    /// Server-side copy by `rewrite`: no bytes pass through this client, and copies across
    /// locations or storage classes work too (the call is repeated until GCS reports done).
    pub async fn rewrite(
        &self,
        src_bucket: &str,
        src_name: &str,
        dst_bucket: &str,
        dst_name: &str,
        conditions: CopyConditions,
    ) -> Result<ObjectMeta> {
        let what = format!("copying gs://{src_bucket}/{src_name} to gs://{dst_bucket}/{dst_name}");
        let path = format!(
            "/storage/v1/b/{}/o/{}/rewriteTo/b/{}/o/{}",
            segment(src_bucket),
            segment(src_name),
            segment(dst_bucket),
            segment(dst_name)
        );
        let mut token: Option<String> = None;
        loop {
            let mut params = vec![("projection", "noAcl".to_string())];
            if let Some(g) = conditions.if_source_generation_match {
                params.push(("ifSourceGenerationMatch", g.to_string()));
            }
            if let Some(g) = conditions.if_generation_match {
                params.push(("ifGenerationMatch", g.to_string()));
            }
            if let Some(t) = &token {
                params.push(("rewriteToken", t.clone()));
            }
            let url = self.url_with(&path, &params);
            let resp = self.send(&what, Method::POST, &url, |r| r.header("content-length", "0")).await?;
            let resp = Self::check(&what, src_bucket, src_name, resp).await?;
            let body: RewriteResponse = resp
                .json()
                .await
                .map_err(|e| GcsError::Protocol { what: what.clone(), detail: e.to_string() })?;
            if body.done {
                let resource = body.resource.ok_or_else(|| GcsError::Protocol {
                    what: what.clone(),
                    detail: "rewrite reported done without the new object".into(),
                })?;
                return resource.into_meta();
            }
            token = Some(body.rewrite_token.filter(|t| !t.is_empty()).ok_or_else(|| GcsError::Protocol {
                what: what.clone(),
                detail: "rewrite not done but no rewriteToken to continue with".into(),
            })?);
        }
    }

    /// Deletes an object; with `if_generation_match`, only if it still has that generation.
    pub async fn delete(&self, bucket: &str, name: &str, if_generation_match: Option<i64>) -> Result<()> {
        let what = format!("deleting gs://{bucket}/{name}");
        let params: Vec<(&str, String)> =
            if_generation_match.map(|g| ("ifGenerationMatch", g.to_string())).into_iter().collect();
        let url = self.url_with(&format!("/storage/v1/b/{}/o/{}", segment(bucket), segment(name)), &params);
        let resp = self.send(&what, Method::DELETE, &url, |r| r).await?;
        Self::check(&what, bucket, name, resp).await?;
        Ok(())
    }
}

pub(crate) async fn parse_object(what: &str, resp: reqwest::Response) -> Result<ObjectMeta> {
    let resource: ObjectResource = resp
        .json()
        .await
        .map_err(|e| GcsError::Protocol { what: what.to_string(), detail: e.to_string() })?;
    resource.into_meta()
}
