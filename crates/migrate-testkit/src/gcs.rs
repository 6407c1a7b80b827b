//! A fresh bucket in the GCS emulator per test.

use crate::config::{START_HINT, services};
use crate::{cleanup_in_background, unique_name};

/// A bucket created for one test; its objects and the bucket go when this is dropped.
#[derive(Debug)]
pub struct TestBucket {
    /// Bucket name.
    pub name: String,
    /// Emulator endpoint (the value for `STORAGE_EMULATOR_HOST`).
    pub endpoint: String,
}

/// Creates a fresh bucket. Panics with how to start the emulator when it is unreachable.
pub async fn gcs_bucket() -> TestBucket {
    gcs_bucket_at(&services().gcs_url).await
}

/// Like [`gcs_bucket`], in the emulator at `endpoint`.
pub async fn gcs_bucket_at(endpoint: &str) -> TestBucket {
    gcs_bucket_named_at(endpoint, &unique_name("migrate-test").replace('_', "-")).await
}

/// A fresh bucket called `name` (which must be new), for tests that need production-like
/// names such as `data-bucket-{env}`.
pub async fn gcs_bucket_named(name: &str) -> TestBucket {
    gcs_bucket_named_at(&services().gcs_url, name).await
}

async fn gcs_bucket_named_at(endpoint: &str, name: &str) -> TestBucket {
    let endpoint = endpoint.to_string();
    let name = name.to_string();
    let resp = reqwest::Client::new()
        .post(format!("{endpoint}/storage/v1/b"))
        .json(&serde_json::json!({ "name": name }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GCS emulator is not reachable at {endpoint}: {e}; {START_HINT}"));
    if !resp.status().is_success() {
        panic!("GCS emulator at {endpoint} refused to create bucket {name}: HTTP {}", resp.status());
    }
    TestBucket { name, endpoint }
}

impl TestBucket {
    /// `gs://name/`.
    pub fn url(&self) -> String {
        format!("gs://{}/", self.name)
    }

    /// Uploads `body` as object `name`.
    pub async fn put(&self, name: &str, body: &str) {
        put_object(&self.endpoint, &self.name, name, body).await
    }

    /// The names of the objects under `prefix`, in listing order.
    pub async fn names(&self, prefix: &str) -> Vec<String> {
        let http = reqwest::Client::new();
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut url = format!("{}/storage/v1/b/{}/o?prefix={}", self.endpoint, self.name, encode(prefix));
            if let Some(t) = &token {
                url.push_str(&format!("&pageToken={}", encode(t)));
            }
            let page: serde_json::Value = http
                .get(url)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .unwrap_or_else(|e| panic!("listing {}: {e}", self.name))
                .json()
                .await
                .unwrap_or_else(|e| panic!("listing {}: {e}", self.name));
            let items = page["items"].as_array().cloned().unwrap_or_default();
            names.extend(items.iter().filter_map(|i| i["name"].as_str().map(str::to_string)));
            match page["nextPageToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => return names,
            }
        }
    }
}

impl Drop for TestBucket {
    fn drop(&mut self) {
        let endpoint = self.endpoint.clone();
        let name = self.name.clone();
        cleanup_in_background(format!("bucket {name}"), async move {
            let http = reqwest::Client::new();
            let base = format!("{endpoint}/storage/v1/b/{name}");
            // The emulator keeps no versions: deleting each listed object empties the bucket.
            for _ in 0..10_000 {
                let page: serde_json::Value = http
                    .get(format!("{base}/o"))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?
                    .json()
                    .await
                    .map_err(|e| e.to_string())?;
                let items = page["items"].as_array().cloned().unwrap_or_default();
                if items.is_empty() {
                    break;
                }
                for item in items {
                    let object = item["name"].as_str().unwrap_or_default();
                    let resp = http
                        .delete(format!("{base}/o/{}", encode(object)))
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    if !resp.status().is_success() && resp.status() != reqwest::StatusCode::NOT_FOUND {
                        return Err(format!("deleting {object}: HTTP {}", resp.status()));
                    }
                }
            }
            http.delete(&base).send().await.map_err(|e| e.to_string())?;
            Ok(())
        });
    }
}

/// The two buckets of a documented bucket migration, named as in production
/// (`data-bucket-{env}` and `de-bigquery-data-export-{env}`) for a fresh environment name.
#[derive(Debug)]
pub struct EnvBuckets {
    /// The environment name (`--env`): lowercase letters and digits, unique per test.
    pub env: String,
    /// `data-bucket-{env}`: where the data is today.
    pub old: TestBucket,
    /// `de-bigquery-data-export-{env}`: where it moves to.
    pub new: TestBucket,
}

impl EnvBuckets {
    /// `bin` run in `dir` (see [`crate::cli::command`]) against this emulator.
    pub fn command(&self, bin: &str, dir: &std::path::Path) -> std::process::Command {
        let mut cmd = crate::cli::command(bin, dir);
        cmd.env("STORAGE_EMULATOR_HOST", &self.old.endpoint);
        cmd
    }

    /// Snapshot settings that also redact the environment name as `[ENV]`.
    pub fn snapshot_settings(&self, dir: &std::path::Path) -> insta::Settings {
        crate::cli::snapshot_settings(dir, &[(&self.env, "ENV")])
    }
}

/// Creates both buckets of [`EnvBuckets`] for a fresh environment name.
pub async fn env_buckets() -> EnvBuckets {
    let env: String = format!("t{}", unique_name("").replace('_', "")).chars().take(20).collect();
    let old = gcs_bucket_named(&format!("data-bucket-{env}")).await;
    let new = gcs_bucket_named(&format!("de-bigquery-data-export-{env}")).await;
    EnvBuckets { env, old, new }
}

/// Writes a QPI export tree under `prefix` (`QPI_exports/`) in `bucket`: daily folders of two
/// JSONL parts for 2024-01-01, 02, 03 and 05 (the 4th is missing), and a 6th day with only a
/// `_SUCCESS` marker: 9 objects, 224 bytes.
pub async fn seed_qpi_tree(bucket: &TestBucket, prefix: &str) {
    for day in ["20240101", "20240102", "20240103", "20240105"] {
        for part in 0..2 {
            let name = format!("{prefix}qpi_answers_{day}/part-{part}.jsonl");
            bucket.put(&name, &format!("{{\"day\":\"{day}\",\"part\":{part}}}\n")).await;
        }
    }
    bucket.put(&format!("{prefix}qpi_answers_20240106/_SUCCESS"), "").await;
}

/// `text` percent-encoded for a URL path segment or query value.
fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>().replace('+', "%20")
}

/// Uploads `body` as object `name` of `bucket` in the emulator at `endpoint` (for tests that
/// write from a task of their own while a tool runs).
pub async fn put_object(endpoint: &str, bucket: &str, name: &str, body: &str) {
    let resp = reqwest::Client::new()
        .post(format!("{endpoint}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={}", encode(name)))
        .header("content-type", "application/octet-stream")
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("uploading {name} to {bucket}: {e}"));
    assert!(resp.status().is_success(), "uploading {name} to {bucket}: HTTP {}", resp.status());
}
