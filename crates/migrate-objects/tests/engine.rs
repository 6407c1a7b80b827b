//! Engine scenarios on memory:// and file:// locations (the GCS emulator runs the same ones in
//! store-gcs and migrate-buckets).

use migrate_objects::testing::{Capabilities, FailsAfter, conformance, keys, put_bytes, read_bytes};
use migrate_objects::{
    CopyOptions, CriticalKind, Manifest, NoProgress, ObjectBackend, ObjectStoreBackend, check_deletion, copy,
    delete_from_manifest, restore, survey, verify, verify_copy,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn memory(prefix: &str) -> (Arc<dyn ObjectBackend>, Arc<dyn ObjectBackend>) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let store = format!("engine{}{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
    (
        Arc::new(ObjectStoreBackend::open(&format!("memory://{store}/{prefix}_old/")).unwrap()),
        Arc::new(ObjectStoreBackend::open(&format!("memory://{store}/{prefix}_new/")).unwrap()),
    )
}

fn files(dir: &tempfile::TempDir) -> (Arc<dyn ObjectBackend>, Arc<dyn ObjectBackend>) {
    let url = |name: &str| format!("file://{}/{name}/", dir.path().display());
    std::fs::create_dir_all(dir.path().join("old")).unwrap();
    std::fs::create_dir_all(dir.path().join("new")).unwrap();
    (
        Arc::new(ObjectStoreBackend::open(&url("old")).unwrap()),
        Arc::new(ObjectStoreBackend::open(&url("new")).unwrap()),
    )
}

/// A QPI-like tree: daily folders with a gap, a day without JSONL, mixed kinds.
async fn qpi_tree(src: &dyn ObjectBackend) {
    for day in ["20240101", "20240102", "20240104", "20240105"] {
        put_bytes(
            src,
            &format!("qpi_answers_{day}/part-0.jsonl"),
            format!("{{\"day\":\"{day}\"}}\n").as_bytes(),
        )
        .await;
    }
    put_bytes(src, "qpi_answers_20240102/part-1.jsonl.gz", b"\x1f\x8bgz").await;
    put_bytes(src, "qpi_answers_20240106/_SUCCESS", b"").await;
    put_bytes(src, "README.txt", b"exports").await;
}

fn qpi() -> CriticalKind {
    CriticalKind::AnyOf(vec!["jsonl".into()])
}

#[tokio::test]
async fn memory_store_conforms() {
    let (a, b) = memory("conf");
    conformance(a, b, Capabilities { keeps_attributes: true, copy_refuses_existing: true }).await;
}

#[tokio::test]
async fn local_files_conform() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = files(&dir);
    conformance(a, b, Capabilities { keeps_attributes: false, copy_refuses_existing: true }).await;
}

#[tokio::test]
async fn survey_reads_the_layout_and_plans() {
    let (src, dst) = memory("survey");
    qpi_tree(src.as_ref()).await;
    put_bytes(dst.as_ref(), "qpi_answers_20240101/part-0.jsonl", b"{\"day\":\"20240101\"}\n").await;
    put_bytes(dst.as_ref(), "qpi_answers_20240104/part-0.jsonl", b"{\"day\":\"XXXXXXXX\"}\n").await;
    put_bytes(dst.as_ref(), "only-here.csv", b"x").await;
    let s = survey(src.as_ref(), dst.as_ref(), &qpi(), false, 4, &NoProgress).await.unwrap();
    assert_eq!(s.source.objects, 7);
    assert_eq!(s.source.series[0].missing_dates, vec!["2024-01-03".parse().unwrap()]);
    assert_eq!(s.source.partitions_lacking_critical, vec!["qpi_answers_20240106/"]);
    assert_eq!(s.source.empty_partitions, vec!["qpi_answers_20240106/"]);
    assert_eq!(s.plan.identical.objects, 1);
    assert_eq!(s.plan.conflicts.total, 1, "same size, other content: {:?}", s.plan.conflicts);
    assert_eq!(s.plan.conflicts.items[0].key, "qpi_answers_20240104/part-0.jsonl");
    assert_eq!(s.plan.to_copy.objects, 5);
    assert_eq!(s.plan.extra_in_target.items, vec!["only-here.csv"]);
    assert_eq!(keys(dst.as_ref()).await.len(), 3, "a survey writes nothing");
}

#[tokio::test]
async fn rerun_copies_only_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    for (src, dst) in [memory("rerun"), files(&dir)] {
        qpi_tree(src.as_ref()).await;
        let first = copy(src.as_ref(), dst.as_ref(), CopyOptions::default(), &NoProgress).await.unwrap();
        assert_eq!((first.copied.objects, first.skipped_identical.objects), (7, 0));
        put_bytes(src.as_ref(), "qpi_answers_20240107/part-0.jsonl", b"{}\n").await;
        let second = copy(src.as_ref(), dst.as_ref(), CopyOptions::default(), &NoProgress).await.unwrap();
        assert_eq!((second.copied.objects, second.skipped_identical.objects), (1, 7));
        let third = copy(src.as_ref(), dst.as_ref(), CopyOptions::default(), &NoProgress).await.unwrap();
        assert_eq!((third.copied.objects, third.skipped_identical.objects), (0, 8));
        let v = verify(src.as_ref(), dst.as_ref(), 4, &NoProgress, &mut |_| Ok(())).await.unwrap();
        assert!(v.passed(), "{v:?}");
        assert_eq!(v.matched, 8);
    }
}

#[tokio::test]
async fn same_size_corruption_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    for (src, dst) in [memory("corrupt"), files(&dir)] {
        qpi_tree(src.as_ref()).await;
        copy(src.as_ref(), dst.as_ref(), CopyOptions::default(), &NoProgress).await.unwrap();
        let key = "qpi_answers_20240105/part-0.jsonl";
        let mut bytes = read_bytes(dst.as_ref(), key).await;
        bytes[3] ^= 0x20;
        put_bytes(dst.as_ref(), key, &bytes).await;
        let v = verify(src.as_ref(), dst.as_ref(), 4, &NoProgress, &mut |_| Ok(())).await.unwrap();
        assert!(!v.passed());
        assert_eq!(v.different.items.len(), 1);
        assert_eq!(v.different.items[0].key, key);
        assert_eq!(v.by_streamed_hash, 6, "no provider checksums here: content was hashed");
        // Without --overwrite-changed the copy leaves it as a conflict; with it, it is repaired.
        let c = copy(src.as_ref(), dst.as_ref(), CopyOptions::default(), &NoProgress).await.unwrap();
        assert_eq!(c.conflicts.total, 1);
        let options = CopyOptions { overwrite_changed: true, ..Default::default() };
        let c = copy(src.as_ref(), dst.as_ref(), options, &NoProgress).await.unwrap();
        assert_eq!(c.overwritten.objects, 1);
        assert!(verify(src.as_ref(), dst.as_ref(), 4, &NoProgress, &mut |_| Ok(())).await.unwrap().passed());
    }
}

#[tokio::test]
async fn a_copy_killed_midway_completes_on_rerun() {
    let (src, dst) = memory("killed");
    qpi_tree(src.as_ref()).await;
    let dying: Arc<dyn ObjectBackend> = Arc::new(FailsAfter::new(dst.clone(), 3));
    let options = CopyOptions { jobs: 1, attempts: 1, ..Default::default() };
    let first = copy(src.as_ref(), dying.as_ref(), options, &NoProgress).await.unwrap();
    assert_eq!(first.copied.objects, 3);
    assert_eq!(first.failed.total, 4);
    assert!(!first.complete());
    let v = verify(src.as_ref(), dst.as_ref(), 4, &NoProgress, &mut |_| Ok(())).await.unwrap();
    assert_eq!(v.missing.total, 4);
    let second = copy(src.as_ref(), dst.as_ref(), options, &NoProgress).await.unwrap();
    assert_eq!((second.copied.objects, second.skipped_identical.objects), (4, 3));
    assert!(verify(src.as_ref(), dst.as_ref(), 4, &NoProgress, &mut |_| Ok(())).await.unwrap().passed());
}

#[tokio::test]
async fn deletion_is_refused_for_an_empty_source_or_an_incomplete_copy() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = memory("refuse");
    let check = check_deletion(src.as_ref(), dst.as_ref(), &qpi(), None, None, 4, &NoProgress).await.unwrap();
    assert!(!check.allowed());
    assert!(check.refusals[0].contains("empty"), "{:?}", check.refusals);

    qpi_tree(src.as_ref()).await;
    copy(src.as_ref(), dst.as_ref(), CopyOptions::default(), &NoProgress).await.unwrap();
    let gone = dst.head("README.txt").await.unwrap().unwrap();
    dst.delete_if_unchanged(&gone).await.unwrap();
    let manifest = dir.path().join("m.jsonl");
    let mut check = check_deletion(src.as_ref(), dst.as_ref(), &qpi(), None, Some(&manifest), 4, &NoProgress)
        .await
        .unwrap();
    assert!(!check.allowed());
    assert!(
        check.refusals.iter().any(|r| r.contains("1 source objects are missing")),
        "{:?}",
        check.refusals
    );
    assert!(check.finish_manifest("x", "test").unwrap().is_none(), "a refused check completes no manifest");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "and leaves no partial file");

    // Code that still refers to the source refuses too.
    copy(src.as_ref(), dst.as_ref(), CopyOptions::default(), &NoProgress).await.unwrap();
    let refs = vec![migrate_objects::Reference {
        file: "dag.py".into(),
        line: 3,
        text: "old".into(),
        kind: migrate_objects::ReferenceKind::Reference,
    }];
    let check =
        check_deletion(src.as_ref(), dst.as_ref(), &qpi(), Some(refs), None, 4, &NoProgress).await.unwrap();
    assert_eq!(check.refusals.len(), 1, "{:?}", check.refusals);
    assert!(check.refusals[0].contains("code lines"));
    assert_eq!(keys(src.as_ref()).await.len(), 7, "checks delete nothing");
}

#[tokio::test]
async fn deletes_exactly_the_manifest_then_restores() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = memory("delete");
    qpi_tree(src.as_ref()).await;
    copy(src.as_ref(), dst.as_ref(), CopyOptions::default(), &NoProgress).await.unwrap();
    let path = dir.path().join("m.jsonl");
    let mut check =
        check_deletion(src.as_ref(), dst.as_ref(), &qpi(), None, Some(&path), 4, &NoProgress).await.unwrap();
    assert!(check.allowed(), "{:?}", check.refusals);
    assert_eq!(check.warnings.len(), 2, "{:?}", check.warnings); // a day without JSONL, a missing date
    let manifest = check.finish_manifest(&dst.url(), "test").unwrap().unwrap();
    assert_eq!(manifest.summary.objects, 7);

    // After the manifest: one object appears, one changes.
    put_bytes(src.as_ref(), "qpi_answers_20240108/part-0.jsonl", b"{\"late\":1}\n").await;
    put_bytes(src.as_ref(), "README.txt", b"exports, edited").await;
    let report = delete_from_manifest(src.as_ref(), &manifest, 4, &NoProgress).await.unwrap();
    assert_eq!(report.deleted.objects, 6);
    assert_eq!(report.kept_changed.items, vec!["README.txt"]);
    assert_eq!(report.remaining_in_source.items, vec!["README.txt", "qpi_answers_20240108/part-0.jsonl"]);

    // A manifest of another location is refused.
    let (other, _) = memory("elsewhere");
    assert!(delete_from_manifest(other.as_ref(), &manifest, 4, &NoProgress).await.is_err());

    // Restore: dry run first, then for real; the edited README is a conflict, left alone.
    let manifest = Manifest::open(&path).unwrap();
    let dry = restore(&manifest, src.as_ref(), dst.as_ref(), false, 4, &NoProgress).await.unwrap();
    assert_eq!(dry.restored.objects, 6);
    assert_eq!(keys(src.as_ref()).await.len(), 2, "a dry run restores nothing");
    let done = restore(&manifest, src.as_ref(), dst.as_ref(), true, 4, &NoProgress).await.unwrap();
    assert_eq!(done.restored.objects, 6);
    assert_eq!(done.conflicts.total, 1);
    assert_eq!(
        read_bytes(src.as_ref(), "qpi_answers_20240101/part-0.jsonl").await,
        b"{\"day\":\"20240101\"}\n"
    );
    let again = restore(&manifest, src.as_ref(), dst.as_ref(), true, 4, &NoProgress).await.unwrap();
    assert_eq!((again.restored.objects, again.already_present.objects), (0, 6));
}

#[tokio::test]
async fn objects_written_during_a_copy_are_new_since_the_copy_not_failures() {
    let (src, dst) = memory("live");
    qpi_tree(src.as_ref()).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let copy_started = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let copied = copy(src.as_ref(), dst.as_ref(), CopyOptions::default(), &NoProgress).await.unwrap();
    assert_eq!(copied.copied.objects, 7);

    // The exporting system keeps writing: a new day, and a rewritten part.
    put_bytes(src.as_ref(), "qpi_answers_20240107/part-0.jsonl", b"{\"late\":1}\n").await;
    put_bytes(src.as_ref(), "qpi_answers_20240101/part-0.jsonl", b"{\"rewritten\":1}\n").await;
    let v = verify_copy(src.as_ref(), dst.as_ref(), 4, &NoProgress, copy_started, None).await.unwrap();
    assert!(v.passed(), "{v:?}");
    assert_eq!(v.new_since_copy.total, 2, "{v:?}");
    // The same state judged strictly (as before a deletion) is a difference.
    let strict = verify(src.as_ref(), dst.as_ref(), 4, &NoProgress, &mut |_| Ok(())).await.unwrap();
    assert!(!strict.passed());

    // An object the copy should have written but that is not there is still a failure.
    let lost = dst.head("README.txt").await.unwrap().expect("copied");
    dst.delete_if_unchanged(&lost).await.unwrap();
    let v = verify_copy(src.as_ref(), dst.as_ref(), 4, &NoProgress, copy_started, None).await.unwrap();
    assert!(!v.passed());
    assert_eq!(v.missing.items, vec!["README.txt".to_string()]);
}
