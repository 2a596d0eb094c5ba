//! The training curves (the `plot` feature): PNG and SVG files of the documented size, and
//! the errors for an empty history and an unknown format.

use mlp_runtime::plot::{PlotError, SIZE};
use mlp_runtime::train::{EpochStats, Evaluation, History};
use std::time::Duration;

fn history(epochs: usize) -> History {
    let stats = |i: usize| EpochStats {
        epoch: i + 1,
        lr: 0.1,
        train: Evaluation {
            loss: 1.0 / (i + 1) as f64,
            accuracy: Some(1.0 - 0.5 / (i + 1) as f64),
        },
        validation: Some(Evaluation {
            loss: 1.2 / (i + 1) as f64 + 0.01 * i as f64,
            accuracy: Some(0.9 - 0.4 / (i + 1) as f64),
        }),
        duration: Duration::from_millis(10),
    };
    History {
        epochs: (0..epochs).map(stats).collect(),
        best_epoch: Some(epochs / 2),
        stopped_early: false,
    }
}

#[test]
fn png_and_svg_have_the_documented_size() {
    let dir = std::env::temp_dir().join(format!("mlp-plot-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("curves.png");
    history(20).plot(&png).unwrap();
    let bytes = std::fs::read(&png).unwrap();
    // PNG: the signature, then the IHDR chunk with the width and height, big-endian.
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), SIZE);
    assert!(
        bytes.len() > 10_000,
        "a PNG of {} bytes draws nothing",
        bytes.len()
    );

    let svg = dir.join("curves.SVG");
    history(3).plot(&svg).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains(&format!("width=\"{}\" height=\"{}\"", SIZE.0, SIZE.1)),
        "{:.300}",
        text
    );
    for label in ["loss", "accuracy", "training", "validation", "epoch"] {
        assert!(text.contains(label), "the SVG has no `{label}`");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nothing_to_draw_and_unknown_formats_are_errors() {
    let err = History::default().plot("x.png").unwrap_err();
    assert!(matches!(err, PlotError::Empty), "{err:?}");
    let err = history(2).plot("x.jpg").unwrap_err();
    assert!(matches!(err, PlotError::Format { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "x.jpg: expected a file name ending in .png or .svg"
    );
}
