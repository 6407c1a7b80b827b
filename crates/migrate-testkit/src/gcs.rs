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
    let endpoint = endpoint.to_string();
    let name = unique_name("migrate-test").replace('_', "-");
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
                    let encoded: String = url::form_urlencoded::byte_serialize(object.as_bytes()).collect();
                    let encoded = encoded.replace('+', "%20");
                    let resp =
                        http.delete(format!("{base}/o/{encoded}")).send().await.map_err(|e| e.to_string())?;
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
