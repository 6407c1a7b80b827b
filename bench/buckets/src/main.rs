//! Bucket copy benchmark, in the GCS emulator (not a test: it asserts no time).
//!
//! Source: `--small` objects of `--small-kib` KiB in daily folders plus `--large` objects of
//! `--large-mib` MiB. Each contender copies the whole prefix into a fresh bucket:
//! - raw: list once, then `rewrite` every object, `--jobs` at a time (the emulator's limit);
//! - migrate-prefix --execute (analyse + copy + verify), timed as a whole, and its copy step
//!   alone through the same library;
//! - rclone copy with its defaults, and with --transfers/--checkers matching --jobs.
//!
//! The small objects and the large ones are two scenarios (objects/s matters for the first,
//! MB/s for the second); each contender runs each `--runs` times (median shown). Prints
//! objects/s, MB/s, peak RSS and the ratios.
//! Usage: bench-buckets BIN_DIR [--small N] [--small-kib K] [--large N] [--large-mib M] [--jobs N] [--runs N]

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use migrate_objects::{CopyOptions, NoProgress, ObjectBackend};
use std::process::Command;
use std::time::{Duration, Instant};
use store_gcs::{CopyConditions, GcsBackend, GcsClient, UploadOptions};

struct Args {
    bin_dir: String,
    small: usize,
    small_kib: usize,
    large: usize,
    large_mib: usize,
    jobs: usize,
    runs: usize,
}

fn args() -> Args {
    let mut a = Args {
        bin_dir: String::new(),
        small: 3000,
        small_kib: 4,
        large: 20,
        large_mib: 50,
        jobs: 16,
        runs: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num =
            || it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{arg} needs a number"));
        match arg.as_str() {
            "--small" => a.small = num(),
            "--small-kib" => a.small_kib = num(),
            "--large" => a.large = num(),
            "--large-mib" => a.large_mib = num(),
            "--jobs" => a.jobs = num(),
            "--runs" => a.runs = num(),
            dir => a.bin_dir = dir.to_string(),
        }
    }
    assert!(!a.bin_dir.is_empty(), "usage: bench-buckets BIN_DIR [--small N] [--large N] [--jobs N]");
    a
}

fn endpoint() -> String {
    if let Ok(host) = std::env::var("STORAGE_EMULATOR_HOST") {
        return store_gcs::emulator_endpoint(&host);
    }
    let env = std::fs::read_to_string(".services/env").expect("start the emulator: scripts/services up");
    env.lines()
        .find_map(|l| l.strip_prefix("MIGRATE_TEST_GCS_URL=").map(str::to_string))
        .expect("MIGRATE_TEST_GCS_URL in .services/env")
}

/// Wall time and peak RSS (KiB) of a child process.
fn run_child(mut cmd: Command) -> (Duration, u64, bool) {
    let start = Instant::now();
    let child =
        cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child; status and usage point at live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    let ok = waited == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    std::mem::forget(child);
    (elapsed, usage.ru_maxrss as u64, ok)
}

struct Row {
    name: String,
    elapsed: Duration,
    rss_kib: Option<u64>,
}

/// The median of `runs` measurements (time and the largest RSS seen).
fn median(name: String, mut runs: Vec<(Duration, Option<u64>)>) -> Row {
    runs.sort_by_key(|r| r.0);
    let rss = runs.iter().filter_map(|r| r.1).max();
    Row { name, elapsed: runs[runs.len() / 2].0, rss_kib: rss }
}

async fn fresh_bucket(gcs: &GcsClient, name: &str) {
    let _ = gcs.delete_bucket_and_objects(name).await;
    gcs.create_bucket(name, None).await.expect("create bucket");
}

#[tokio::main]
async fn main() {
    let a = args();
    let endpoint = endpoint();
    let gcs = GcsClient::anonymous(&endpoint).expect("client");
    let src = "bench-src";
    println!(
        "emulator {endpoint}: {} × {} KiB in daily folders, {} × {} MiB; jobs {}, median of {} runs",
        a.small, a.small_kib, a.large, a.large_mib, a.jobs, a.runs
    );
    fresh_bucket(&gcs, src).await;
    let small = Bytes::from(vec![b'q'; a.small_kib * 1024]);
    let opts = UploadOptions::default();
    futures::stream::iter(0..a.small)
        .map(|i| {
            let (gcs, small, opts) = (&gcs, small.clone(), &opts);
            async move {
                let day = i / 30;
                let name = format!(
                    "small/qpi_answers_2024{:02}{:02}/part-{i:05}.jsonl",
                    1 + day / 28 % 12,
                    1 + day % 28
                );
                gcs.upload(src, &name, small, opts).await.expect("upload small");
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    for i in 0..a.large {
        let chunks =
            (0..a.large_mib).map(move |m| Ok::<_, std::io::Error>(Bytes::from(vec![(i + m) as u8; 1 << 20])));
        gcs.upload_stream(src, &format!("large/blob-{i:02}.parquet"), futures::stream::iter(chunks), &opts)
            .await
            .expect("upload large");
    }
    scenario(&a, &gcs, &endpoint, "small", a.small, (a.small * a.small_kib * 1024) as f64).await;
    scenario(&a, &gcs, &endpoint, "large", a.large, (a.large * a.large_mib * 1024 * 1024) as f64).await;
    let _ = gcs.delete_bucket_and_objects(src).await;
}

async fn scenario(a: &Args, gcs: &GcsClient, endpoint: &str, prefix: &str, objects: usize, bytes: f64) {
    let (src, dst) = ("bench-src", "bench-dst");
    let from_url = format!("gs://{src}/{prefix}/");
    let to_url = format!("gs://{dst}/{prefix}/");
    let rclone_env = [
        ("RCLONE_CONFIG_EMU_TYPE", "google cloud storage".to_string()),
        ("RCLONE_CONFIG_EMU_ANONYMOUS", "true".to_string()),
        ("RCLONE_CONFIG_EMU_ENDPOINT", format!("{endpoint}/storage/v1/")),
        ("RCLONE_CONFIG_EMU_BUCKET_POLICY_ONLY", "true".to_string()),
    ];
    let rclone_parallel = format!("rclone copy --transfers {0} --checkers {0}", a.jobs);
    let names = [
        format!("raw rewrite client ({} at once)", a.jobs),
        "migrate-objects copy step (library)".to_string(),
        "migrate-prefix --execute (analyse+copy+verify)".to_string(),
        "rclone copy (defaults)".to_string(),
        rclone_parallel,
    ];
    let mut runs: Vec<Vec<(Duration, Option<u64>)>> = vec![Vec::new(); names.len()];
    for round in 0..a.runs {
        // Rotate the order so no contender always runs first after the uploads.
        for k in 0..names.len() {
            let which = (k + round) % names.len();
            fresh_bucket(gcs, dst).await;
            let measured = match which {
                0 => {
                    let start = Instant::now();
                    let keys: Vec<String> = gcs
                        .list(src, &format!("{prefix}/"))
                        .map_ok(|o| o.name)
                        .try_collect()
                        .await
                        .expect("list");
                    futures::stream::iter(keys)
                        .map(|name| async move {
                            gcs.rewrite(src, &name, dst, &name, CopyConditions::default())
                                .await
                                .expect("rewrite")
                        })
                        .buffer_unordered(a.jobs)
                        .collect::<Vec<_>>()
                        .await;
                    (start.elapsed(), None)
                }
                1 => {
                    let from = GcsBackend::open(gcs.clone(), &from_url).unwrap();
                    let to = GcsBackend::open(gcs.clone(), &to_url).unwrap();
                    let start = Instant::now();
                    let options = CopyOptions { jobs: a.jobs, ..Default::default() };
                    let report = migrate_objects::copy(&from, &to, options, &NoProgress).await.expect("copy");
                    assert!(
                        report.complete() && report.copied.objects as usize == objects,
                        "copy incomplete"
                    );
                    let _ = to.url();
                    (start.elapsed(), None)
                }
                2 => {
                    let mut cmd = Command::new(format!("{}/migrate-prefix", a.bin_dir));
                    cmd.args([
                        "--from",
                        &from_url,
                        "--to",
                        &to_url,
                        "--execute",
                        "--jobs",
                        &a.jobs.to_string(),
                    ])
                    .args(["--log-dir", "/tmp/bench-buckets-logs"])
                    .env("STORAGE_EMULATOR_HOST", endpoint);
                    let (elapsed, rss, ok) = run_child(cmd);
                    assert!(ok, "migrate-prefix failed");
                    (elapsed, Some(rss))
                }
                _ => {
                    let mut cmd = Command::new("rclone");
                    cmd.args(["copy", &format!("emu:{src}/{prefix}"), &format!("emu:{dst}/{prefix}")]);
                    if which == 4 {
                        cmd.args(["--transfers", &a.jobs.to_string(), "--checkers", &a.jobs.to_string()]);
                    }
                    cmd.envs(rclone_env.iter().map(|(k, v)| (k, v)));
                    let (elapsed, rss, ok) = run_child(cmd);
                    assert!(ok, "rclone failed (is it installed? apt-get install rclone)");
                    (elapsed, Some(rss))
                }
            };
            let copied: usize = gcs
                .list(dst, &format!("{prefix}/"))
                .try_fold(0, |n, _| async move { Ok(n + 1) })
                .await
                .unwrap();
            assert_eq!(copied, objects, "{} copied everything", names[which]);
            runs[which].push(measured);
        }
    }
    let _ = gcs.delete_bucket_and_objects(dst).await;
    let rows: Vec<Row> = names.iter().cloned().zip(runs).map(|(n, r)| median(n, r)).collect();
    let raw = rows[0].elapsed.as_secs_f64();
    let rclone_best = rows[3..].iter().map(|r| r.elapsed.as_secs_f64()).fold(f64::MAX, f64::min);
    println!("\nscenario {prefix}/: {objects} objects, {:.1} MB", bytes / 1e6);
    println!(
        "{:<50} {:>8} {:>10} {:>9} {:>10} {:>8} {:>10}",
        "contender", "seconds", "objects/s", "MB/s", "peak RSS", "vs raw", "vs rclone*"
    );
    for r in &rows {
        let s = r.elapsed.as_secs_f64();
        let rss = r.rss_kib.map(|k| format!("{:.1} MiB", k as f64 / 1024.0)).unwrap_or_else(|| "-".into());
        println!(
            "{:<50} {:>8.2} {:>10.0} {:>9.1} {:>10} {:>7.2}x {:>9.2}x",
            r.name,
            s,
            objects as f64 / s,
            bytes / s / 1e6,
            rss,
            raw / s,
            rclone_best / s
        );
    }
    println!("(speed ratios: >1 is faster than the other; rclone* is the faster rclone configuration)");
}
