//! `gs://` locations run the engine's conformance suite and its key scenarios against the
//! emulator, a bucket per test.

use migrate_objects::testing::{Capabilities, conformance, put_bytes, read_bytes};
use migrate_objects::{CopyOptions, CopyPath, NoProgress, ObjectBackend, copy, copy_object, verify};
use std::sync::Arc;
use store_gcs::{GcsBackend, GcsClient};

fn open(bucket: &migrate_testkit::TestBucket, prefix: &str) -> Arc<dyn ObjectBackend> {
    let client = GcsClient::anonymous(&bucket.endpoint).unwrap();
    Arc::new(GcsBackend::open(client, &format!("gs://{}/{prefix}", bucket.name)).unwrap())
}

#[tokio::test]
async fn gcs_prefixes_of_one_bucket_conform() {
    let bucket = migrate_testkit::gcs_bucket().await;
    conformance(
        open(&bucket, "QPI_exports/"),
        open(&bucket, "qpi_exports"),
        Capabilities { keeps_attributes: true, copy_refuses_existing: false },
    )
    .await;
}

#[tokio::test]
async fn gcs_locations_in_two_buckets_conform() {
    let old = migrate_testkit::gcs_bucket().await;
    let new = migrate_testkit::gcs_bucket().await;
    conformance(
        open(&old, "clickhouse_export/"),
        open(&new, "clickhouse_export/"),
        Capabilities { keeps_attributes: true, copy_refuses_existing: false },
    )
    .await;
}

#[tokio::test]
async fn copies_between_buckets_are_server_side_and_keep_checksums() {
    let old = migrate_testkit::gcs_bucket().await;
    let new = migrate_testkit::gcs_bucket().await;
    let (src, dst) = (open(&old, "QPI_exports/"), open(&new, "qpi_exports/"));
    let entry = put_bytes(src.as_ref(), "qpi_answers_20240101/part-0.jsonl", b"{\"a\":1}\n").await;
    let (copied, path) = copy_object(src.as_ref(), dst.as_ref(), &entry, &entry.key, None).await.unwrap();
    assert_eq!(path, CopyPath::ServerSide);
    assert_eq!((copied.crc32c, copied.md5), (entry.crc32c, entry.md5));
    assert!(entry.crc32c.is_some() && entry.md5.is_some(), "GCS reports both checksums");
}

#[tokio::test]
async fn same_size_corruption_is_caught_by_the_providers_checksum() {
    let old = migrate_testkit::gcs_bucket().await;
    let new = migrate_testkit::gcs_bucket().await;
    let (src, dst) = (open(&old, "clickhouse_export/"), open(&new, "clickhouse_export/"));
    for day in 1..=5 {
        put_bytes(
            src.as_ref(),
            &format!("prd/export/2024-01-0{day}/data.csv.gz"),
            format!("gz{day}").as_bytes(),
        )
        .await;
    }
    let report = copy(src.as_ref(), dst.as_ref(), CopyOptions::default(), &NoProgress).await.unwrap();
    assert_eq!((report.copied.objects, report.server_side), (5, 5));
    let key = "prd/export/2024-01-03/data.csv.gz";
    let mut bytes = read_bytes(dst.as_ref(), key).await;
    bytes[0] = b'G';
    put_bytes(dst.as_ref(), key, &bytes).await;
    let v = verify(src.as_ref(), dst.as_ref(), 4, &NoProgress, &mut |_| Ok(())).await.unwrap();
    assert!(!v.passed());
    assert_eq!(v.different.items[0].key, key);
    assert_eq!(v.by_md5, 4, "decided from the listings, nothing read");
}

#[tokio::test]
async fn local_files_to_gcs_are_streamed_and_verified_by_hashing_one_side() {
    let dir = migrate_testkit::temp_dir();
    std::fs::create_dir_all(dir.path().join("exports/2024-01-01")).unwrap();
    std::fs::write(dir.path().join("exports/2024-01-01/a.json"), b"{\"x\":1}").unwrap();
    let src: Arc<dyn ObjectBackend> = Arc::new(
        migrate_objects::ObjectStoreBackend::open(&format!("file://{}/exports/", dir.path().display()))
            .unwrap(),
    );
    let new = migrate_testkit::gcs_bucket().await;
    let dst = open(&new, "exports/");
    let report = copy(src.as_ref(), dst.as_ref(), CopyOptions::default(), &NoProgress).await.unwrap();
    assert_eq!((report.copied.objects, report.streamed), (1, 1));
    let v = verify(src.as_ref(), dst.as_ref(), 4, &NoProgress, &mut |_| Ok(())).await.unwrap();
    assert!(v.passed());
    assert_eq!(v.by_streamed_hash, 1);
}
