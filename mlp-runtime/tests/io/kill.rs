//! A process killed (SIGKILL) at random moments while it saves in a loop never leaves a torn
//! file: the target always loads and holds one of the two networks it alternates between,
//! and the next save removes the temporary file the killed one left.
//!
//! The test runs itself as the child: with `MLP_SAVE_LOOP_DIR` set it saves forever.

use crate::support::{fill, Scratch, Small};
use mlp_runtime::io;
use mlp_runtime::Network;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD_ENV: &str = "MLP_SAVE_LOOP_DIR";
const TEST_NAME: &str = "kill::a_save_killed_at_any_moment_leaves_the_old_or_the_new_file";

fn network(seed: u64) -> Small<f64> {
    let mut net = Small::zeros();
    fill(&mut net, seed);
    net
}

/// The child: saves the two networks in turn until killed.
fn save_forever(dir: &std::ffi::OsStr) -> ! {
    let path = std::path::Path::new(dir).join("net.safetensors");
    let (a, b) = (network(1), network(2));
    io::save(&a, &path).unwrap();
    // libtest has printed the test's name without a newline: the line ends with this.
    println!("ready");
    loop {
        io::save(&b, &path).unwrap();
        io::save(&a, &path).unwrap();
    }
}

#[test]
fn a_save_killed_at_any_moment_leaves_the_old_or_the_new_file() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        save_forever(&dir);
    }
    let dir = Scratch::new("kill");
    let path = dir.path().join("net.safetensors");
    let (a, b) = (network(1), network(2));
    let exe = std::env::current_exe().unwrap();
    // A fixed sequence of delays (a linear congruential generator), so a failure reproduces.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let (mut kills, mut left_behind) = (0, 0);
    for _ in 0..40 {
        let mut child = Command::new(&exe)
            .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let ready = std::io::BufReader::new(stdout)
            .lines()
            .any(|line| line.is_ok_and(|l| l.ends_with("ready")));
        assert!(ready, "the child never saved");
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        std::thread::sleep(Duration::from_micros((state >> 33) % 5000));
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;

        let back = Small::<f64>::load(&path).unwrap();
        assert!(
            back == a || back == b,
            "a killed save left a network that is neither"
        );
        if dir.entries().len() > 1 {
            left_behind += 1;
        }
        io::save(&a, &path).unwrap();
        assert_eq!(dir.entries(), ["net.safetensors"]);
    }
    eprintln!("{kills} kills, {left_behind} left a temporary file that the next save removed");
    // A save spends most of its time between creating its temporary file and renaming it
    // (writing, syncing), so some kills land there: the cleanup above was exercised.
    assert!(left_behind > 0, "no kill landed inside a save");
}
