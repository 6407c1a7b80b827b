//! Bucket administration (tests and emulators create and drop buckets).

use crate::client::{GcsClient, segment};
use crate::error::Result;
use futures::TryStreamExt;
use reqwest::Method;

impl GcsClient {
    /// Creates a bucket. `project` is required by production GCS and ignored by emulators.
    pub async fn create_bucket(&self, name: &str, project: Option<&str>) -> Result<()> {
        let what = format!("creating bucket gs://{name}");
        let params: Vec<(&str, String)> = project.map(|p| ("project", p.to_string())).into_iter().collect();
        let url = self.url_with("/storage/v1/b", &params);
        let body = serde_json::json!({ "name": name }).to_string();
        let resp = self
            .send(&what, Method::POST, &url, |r| {
                r.header("content-type", "application/json").body(body.clone())
            })
            .await?;
        Self::check(&what, name, "", resp).await?;
        Ok(())
    }

    /// Deletes every object in the bucket, then the bucket.
    pub async fn delete_bucket_and_objects(&self, name: &str) -> Result<()> {
        let objects: Vec<_> = self.list(name, "").try_collect().await?;
        for o in objects {
            self.delete(&o.bucket, &o.name, None).await?;
        }
        let what = format!("deleting bucket gs://{name}");
        let url = self.url(&format!("/storage/v1/b/{}", segment(name)));
        let resp = self.send(&what, Method::DELETE, &url, |r| r).await?;
        Self::check(&what, name, "", resp).await?;
        Ok(())
    }
}
