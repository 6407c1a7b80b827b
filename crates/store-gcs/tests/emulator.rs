//! The GCS paths the bucket tools use, against the real emulator with a bucket per test:
//! listing with checksums, uploads (one-shot and resumable 50 MB), server-side copy, delete.

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use md5::{Digest, Md5};
use store_gcs::{CopyConditions, GcsClient, GcsError, UploadOptions};

fn client(bucket: &migrate_testkit::TestBucket) -> GcsClient {
    GcsClient::anonymous(&bucket.endpoint).unwrap()
}

fn jsonl(day: u32, i: u32) -> Bytes {
    Bytes::from(format!("{{\"day\":{day},\"answer\":{i}}}\n").repeat(10))
}

#[tokio::test]
async fn list_reports_size_crc32c_md5_and_generation() {
    let bucket = migrate_testkit::gcs_bucket().await;
    let gcs = client(&bucket);
    let opts = UploadOptions { content_type: Some("application/jsonl".into()), ..Default::default() };
    for day in 1..=3 {
        for i in 0..2 {
            let name = format!("QPI_exports/qpi_answers_202401{day:02}/part-{i}.jsonl");
            gcs.upload(&bucket.name, &name, jsonl(day, i), &opts).await.unwrap();
        }
    }
    gcs.upload(&bucket.name, "other/x.csv", Bytes::from_static(b"a,b\n"), &opts).await.unwrap();

    let listed: Vec<_> = gcs.list(&bucket.name, "QPI_exports/").try_collect().await.unwrap();
    assert_eq!(listed.len(), 6);
    for object in &listed {
        // QPI_exports/qpi_answers_202401DD/part-I.jsonl
        let (folder, file) = object.name.rsplit_once('/').unwrap();
        let day: u32 = folder[folder.len() - 2..].parse().unwrap();
        let i: u32 = file.trim_start_matches("part-").trim_end_matches(".jsonl").parse().unwrap();
        let body = jsonl(day, i);
        assert_eq!(object.size, body.len() as u64, "{}", object.name);
        assert_eq!(object.crc32c, Some(crc32c::crc32c(&body)), "{}", object.name);
        assert_eq!(object.md5, Some(Md5::digest(&body).into()), "{}", object.name);
        assert!(object.generation > 0);
        assert_eq!(object.content_type.as_deref(), Some("application/jsonl"));
    }
}

#[tokio::test]
async fn listing_streams_across_pages() {
    let bucket = migrate_testkit::gcs_bucket().await;
    let gcs = client(&bucket);
    let names: Vec<String> = (0..1203).map(|i| format!("p/{i:05}.json")).collect();
    let opts = UploadOptions::default();
    stream::iter(names.iter())
        .map(|n| gcs.upload(&bucket.name, n, Bytes::from_static(b"{}"), &opts))
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let mut listed: Vec<String> =
        gcs.list(&bucket.name, "p/").map_ok(|o| o.name).try_collect().await.unwrap();
    listed.sort();
    assert_eq!(listed, names);
}

#[tokio::test]
async fn rewrite_copies_server_side_across_buckets() {
    let src = migrate_testkit::gcs_bucket().await;
    let dst = migrate_testkit::gcs_bucket().await;
    let gcs = client(&src);
    let mut metadata = std::collections::BTreeMap::new();
    metadata.insert("origin".to_string(), "qpi".to_string());
    let opts = UploadOptions { content_type: Some("text/csv".into()), metadata, ..Default::default() };
    let original = gcs
        .upload(&src.name, "export/2024-01-01/a.csv.gz", Bytes::from_static(b"\x1f\x8bdata"), &opts)
        .await
        .unwrap();

    let copy = gcs
        .rewrite(
            &src.name,
            "export/2024-01-01/a.csv.gz",
            &dst.name,
            "clickhouse_export/a.csv.gz",
            CopyConditions::default(),
        )
        .await
        .unwrap();
    assert_eq!(copy.size, original.size);
    assert_eq!(copy.crc32c, original.crc32c);
    assert_eq!(copy.md5, original.md5);
    assert_eq!(copy.content_type.as_deref(), Some("text/csv"));
    assert_eq!(copy.metadata.get("origin").map(String::as_str), Some("qpi"));

    let missing = gcs
        .rewrite(&src.name, "no/such/object", &dst.name, "x", CopyConditions::default())
        .await
        .unwrap_err();
    assert!(matches!(missing, GcsError::NotFound { .. }), "{missing}");
}

#[tokio::test]
async fn delete_removes_and_missing_objects_are_reported() {
    let bucket = migrate_testkit::gcs_bucket().await;
    let gcs = client(&bucket);
    let meta =
        gcs.upload(&bucket.name, "d/x", Bytes::from_static(b"x"), &UploadOptions::default()).await.unwrap();
    assert!(gcs.head(&bucket.name, "d/x").await.unwrap().is_some());
    gcs.delete(&bucket.name, "d/x", Some(meta.generation)).await.unwrap();
    assert!(gcs.head(&bucket.name, "d/x").await.unwrap().is_none());
    let err = gcs.delete(&bucket.name, "d/x", None).await.unwrap_err();
    assert!(matches!(err, GcsError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn resumable_upload_of_50_mb_streams_and_verifies() {
    let bucket = migrate_testkit::gcs_bucket().await;
    let gcs = client(&bucket);
    const SIZE: usize = 50 * 1024 * 1024;
    // Deterministic pseudo-random content, produced in 1 MiB pieces (never 50 MB at once here).
    let piece = |k: usize| -> Bytes {
        let mut x = (k as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut v = Vec::with_capacity(1 << 20);
        while v.len() < 1 << 20 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.extend_from_slice(&x.to_le_bytes());
        }
        Bytes::from(v)
    };
    let expected_crc = (0..SIZE >> 20).fold(0u32, |crc, k| crc32c::crc32c_append(crc, &piece(k)));
    let data = stream::iter((0..SIZE >> 20).map(|k| Ok::<_, std::io::Error>(piece(k))));
    let opts = UploadOptions { content_type: Some("application/octet-stream".into()), ..Default::default() };
    let meta = gcs.upload_stream(&bucket.name, "big/blob.bin", data, &opts).await.unwrap();
    assert_eq!(meta.size, SIZE as u64);
    assert_eq!(meta.crc32c, Some(expected_crc));

    let mut downloaded = 0usize;
    let mut crc = 0u32;
    let mut body = std::pin::pin!(gcs.download(&bucket.name, "big/blob.bin").await.unwrap());
    while let Some(chunk) = body.try_next().await.unwrap() {
        downloaded += chunk.len();
        crc = crc32c::crc32c_append(crc, &chunk);
    }
    assert_eq!(downloaded, SIZE);
    assert_eq!(crc, expected_crc);
}

#[tokio::test]
async fn object_store_reads_and_lists_through_the_service_account_file() {
    use object_store::ObjectStoreExt as _;
    use object_store::gcp::GoogleCloudStorageBuilder;
    use object_store::path::Path;

    let bucket = migrate_testkit::gcs_bucket().await;
    client(&bucket)
        .upload(&bucket.name, "dir/file.json", Bytes::from_static(b"{\"a\":1}"), &UploadOptions::default())
        .await
        .unwrap();
    let store = GoogleCloudStorageBuilder::new()
        .with_service_account_path(migrate_testkit::services().gcs_service_account.to_string_lossy())
        .with_bucket_name(&bucket.name)
        .build()
        .unwrap();
    let listed: Vec<_> =
        object_store::ObjectStore::list(&store, Some(&Path::from("dir"))).try_collect().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].size, 7);
    let body = store.get(&Path::from("dir/file.json")).await.unwrap().bytes().await.unwrap();
    assert_eq!(&body[..], b"{\"a\":1}");
}
