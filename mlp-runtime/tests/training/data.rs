//! Data: CSV parsing and every error path, arrays given directly, standardisation, the split,
//! one-hot labels, and the vendored data sets.

use mlp_runtime::data::{load_csv, one_hot, parse_csv, Dataset, Standardizer, Target};
use mlp_runtime::error::{DataError, Location};
use ndarray::{array, Array2};
use std::path::{Path, PathBuf};

const LABEL3: Target = Target::Label { classes: 3 };

fn parse(text: &str, target: Target) -> Result<Dataset<f64>, DataError> {
    parse_csv("t.csv", text, target)
}

fn at(line: usize, column: usize) -> Location {
    Location {
        path: PathBuf::from("t.csv"),
        line,
        column,
    }
}

/// The repository's `data/` folder.
fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data")
}

#[test]
fn parses_features_and_labels() {
    let d = parse("a,b,label\n1.5,-2,0\n3e2, 4 ,2\n", LABEL3).unwrap();
    assert_eq!(d.features(), array![[1.5, -2.0], [300.0, 4.0]]);
    assert_eq!(d.targets(), array![[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]);
    assert_eq!(d.labels(), Some(&[0, 2][..]));
    assert_eq!((d.len(), d.n_features(), d.n_targets()), (2, 2, 3));
    assert_eq!(d.sample(1), Some((&[300.0, 4.0][..], &[0.0, 0.0, 1.0][..])));
    assert_eq!(d.sample(2), None);
}

#[test]
fn parses_regression_targets() {
    let d = parse("x,y1,y2\n1,2,3\n4,5,6\n", Target::Values { columns: 2 }).unwrap();
    assert_eq!(d.features(), array![[1.0], [4.0]]);
    assert_eq!(d.targets(), array![[2.0, 3.0], [5.0, 6.0]]);
    assert_eq!(d.labels(), None);
}

#[test]
fn accepts_crlf_a_byte_order_mark_and_blank_lines() {
    let d = parse("\u{feff}a,label\r\n1,1\r\n\r\n2,0\r\n\n", LABEL3).unwrap();
    assert_eq!(d.features(), array![[1.0], [2.0]]);
    assert_eq!(d.labels(), Some(&[1, 0][..]));
}

#[test]
fn f32_data_sets_round_each_value() {
    let d = parse_csv::<f32>("t.csv", "a,label\n0.1,0\n", LABEL3).unwrap();
    assert_eq!(d.features()[(0, 0)], 0.1f32);
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let err = load_csv::<f64>("no/such/file.csv", LABEL3).unwrap_err();
    assert!(
        matches!(&err, DataError::Io { path, .. } if path == Path::new("no/such/file.csv")),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("cannot read no/such/file.csv: "),
        "{err}"
    );
}

#[test]
fn an_empty_file_is_an_error() {
    for text in ["", "\n", "  \r\n"] {
        let err = parse(text, LABEL3).unwrap_err();
        assert!(
            matches!(&err, DataError::Empty { path } if path == Path::new("t.csv")),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "t.csv: the file is empty, expected a header line naming the columns"
        );
    }
}

#[test]
fn a_header_without_rows_is_an_error() {
    let err = parse("a,b,label\n\n", LABEL3).unwrap_err();
    assert!(matches!(err, DataError::NoRows { .. }), "{err:?}");
    assert_eq!(err.to_string(), "t.csv: no data rows after the header");
}

#[test]
fn a_header_too_narrow_for_the_targets_is_an_error() {
    let err = parse("y1,y2\n1,2\n", Target::Values { columns: 2 }).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TooFewColumns {
                expected: 3,
                found: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "t.csv:1: the header has 2 columns, expected at least 3 (at least 1 feature, then 2 for the target)");
    assert!(matches!(
        parse("label\n1\n", LABEL3).unwrap_err(),
        DataError::TooFewColumns {
            expected: 2,
            found: 1,
            ..
        }
    ));
}

#[test]
fn ragged_rows_are_errors_with_the_line() {
    let err = parse("a,b,label\n1,2,0\n1,2\n", LABEL3).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Ragged {
                line: 3,
                expected: 3,
                found: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "t.csv:3: expected 3 fields as in the header, found 2"
    );
    let err = parse("a,b,label\n\n1,2,0,7\n", LABEL3).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Ragged {
                line: 3,
                expected: 3,
                found: 4,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn non_numbers_are_errors_with_line_and_column() {
    for (field, column) in [
        ("abc", 2),
        ("", 2),
        ("nan", 2),
        ("inf", 2),
        ("1.0.0", 1),
        ("-", 1),
    ] {
        let text = if column == 2 {
            format!("a,b,label\n1,{field},0\n")
        } else {
            format!("a,b,label\n{field},1,0\n")
        };
        let err = parse(&text, LABEL3).unwrap_err();
        match &err {
            DataError::NotANumber {
                at: loc,
                name,
                text,
            } => {
                assert_eq!(
                    (loc, name.as_str(), text.as_str()),
                    (&at(2, column), ["a", "b"][column - 1], field)
                );
            }
            other => panic!("`{field}`: expected NotANumber, found {other:?}"),
        }
    }
    let err = parse("a,b,label\n1,x,0\n", LABEL3).unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.csv:2:2: column `b`: expected a finite number, found `x`"
    );
    // Regression targets are checked the same way.
    let err = parse("a,y\n1,2\n3,?\n", Target::Values { columns: 1 }).unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.csv:3:2: column `y`: expected a finite number, found `?`"
    );
}

#[test]
fn labels_that_are_not_integers_are_errors() {
    for field in ["1.5", "one", "", "1e400"] {
        let err = parse(&format!("a,label\n1,{field}\n"), LABEL3).unwrap_err();
        assert!(
            matches!(&err, DataError::NotALabel { at: loc, name, text } if *loc == at(2, 2) && name == "label" && text == field),
            "`{field}`: {err:?}"
        );
    }
    let err = parse("a,label\n1,x\n", LABEL3).unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.csv:2:2: column `label`: expected an integer class label, found `x`"
    );
    // Whole numbers written as floats are labels.
    let d = parse("a,label\n1,1.0\n2,2e0\n3,0\n", LABEL3).unwrap();
    assert_eq!(d.labels(), Some(&[1, 2, 0][..]));
}

#[test]
fn labels_out_of_range_are_errors() {
    for (field, label) in [("3", 3), ("-1", -1), ("99", 99)] {
        let err = parse(&format!("a,label\n1,0\n1,{field}\n"), LABEL3).unwrap_err();
        assert!(
            matches!(&err, DataError::LabelOutOfRange { at: loc, label: l, classes: 3 } if *loc == at(3, 2) && *l == label),
            "`{field}`: {err:?}"
        );
    }
    let err = parse("a,label\n1,3\n", LABEL3).unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.csv:2:2: label 3 out of range, expected 0 to 2 for 3 classes"
    );
    assert!(matches!(
        parse("a,label\n1,0\n", Target::Label { classes: 0 }),
        Err(DataError::NoClasses)
    ));
}

#[test]
fn arrays_are_checked_too() {
    let x = array![[1.0, 2.0], [3.0, 4.0]];
    let err = Dataset::regression(x.clone(), array![[1.0]]).unwrap_err();
    assert_eq!(err.to_string(), "targets: expected 2 rows, found 1");
    let err = Dataset::classification(x.clone(), vec![0], 2).unwrap_err();
    assert_eq!(err.to_string(), "labels: expected 2 rows, found 1");
    let err = Dataset::classification(x.clone(), vec![0, 2], 2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "label 2 of row 1 out of range, expected 0 to 1 for 2 classes"
    );
    let err = Dataset::regression(array![[1.0, f64::NAN]], array![[1.0]]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "features: row 0, column 1 is NaN, expected a finite number"
    );
    let err = Dataset::regression(array![[1.0]], array![[f64::NEG_INFINITY]]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "targets: row 0, column 0 is -inf, expected a finite number"
    );
    let err = Dataset::regression(Array2::<f64>::zeros((0, 2)), Array2::zeros((0, 1))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "features: expected at least 1 row, found 0"
    );
    assert!(matches!(
        Dataset::classification(x, vec![0, 0], 0),
        Err(DataError::NoClasses)
    ));
}

#[test]
fn arrays_in_any_layout_become_contiguous_samples() {
    let x = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
    let d = Dataset::regression(
        x.t().to_owned().reversed_axes(),
        array![[0.0], [1.0], [2.0]],
    )
    .unwrap();
    assert_eq!(d.sample(1), Some((&[3.0, 4.0][..], &[1.0][..])));
}

#[test]
fn one_hot_encodes_labels() {
    assert_eq!(
        one_hot::<f32>(&[1, 0, 1], 2).unwrap(),
        array![[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    );
    assert!(matches!(
        one_hot::<f64>(&[0, 5], 5),
        Err(DataError::LabelIndexOutOfRange {
            row: 1,
            label: 5,
            classes: 5
        })
    ));
    assert!(matches!(one_hot::<f64>(&[], 0), Err(DataError::NoClasses)));
}

#[test]
fn standardisation_uses_training_statistics() {
    let train = array![[1.0, 7.0, 0.0], [2.0, 7.0, 10.0], [6.0, 7.0, 20.0]];
    let s = Standardizer::fit(train.view()).unwrap();
    // Population statistics: mean 3, variance ((−2)² + (−1)² + 3²)/3 = 14/3; a constant column
    // keeps σ = 1; the third column has variance (100 + 0 + 100)/3.
    assert_eq!(s.mean(), array![3.0, 7.0, 10.0]);
    assert_eq!(
        s.std(),
        array![(14.0f64 / 3.0).sqrt(), 1.0, (200.0f64 / 3.0).sqrt()]
    );
    let mut d = Dataset::regression(train, array![[0.0], [0.0], [0.0]]).unwrap();
    d.standardize(&s).unwrap();
    let f = d.features();
    for j in 0..3 {
        let col = f.column(j);
        let mean = col.sum() / 3.0;
        let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0;
        assert!(mean.abs() < 1e-15);
        assert!(
            (var - if j == 1 { 0.0 } else { 1.0 }).abs() < 1e-15,
            "column {j}: variance {var}"
        );
    }
    let mut test = array![[3.0, 8.0, 40.0]];
    s.apply(test.view_mut()).unwrap();
    assert_eq!(test, array![[0.0, 1.0, 30.0 / (200.0f64 / 3.0).sqrt()]]);
    let mut wrong = array![[1.0, 2.0]];
    assert_eq!(
        s.apply(wrong.view_mut()).unwrap_err().to_string(),
        "features to standardise: expected 3 columns, found 2"
    );
    assert!(matches!(
        Standardizer::fit(Array2::<f64>::zeros((0, 3)).view()),
        Err(DataError::NoSamples { .. })
    ));
}

#[test]
fn the_split_is_a_seeded_partition() {
    let n = 50;
    let x = Array2::from_shape_fn((n, 1), |(i, _)| i as f64);
    let labels: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let d = Dataset::classification(x, labels, 3).unwrap();
    let (train, val) = d.split(0.2, 1).unwrap();
    assert_eq!((train.len(), val.len()), (40, 10));
    let mut seen: Vec<usize> = train
        .features()
        .iter()
        .chain(val.features().iter())
        .map(|&v| v as usize)
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..n).collect::<Vec<_>>());
    // Labels and one-hot targets travel with their rows.
    for part in [&train, &val] {
        for i in 0..part.len() {
            let id = part.features()[(i, 0)] as usize;
            assert_eq!(part.labels().unwrap()[i], id % 3);
            assert_eq!(part.targets()[(i, id % 3)], 1.0);
        }
    }
    assert_eq!(d.split(0.2, 1).unwrap(), (train.clone(), val.clone()));
    assert_ne!(d.split(0.2, 2).unwrap().1, val);
}

#[test]
fn splits_that_leave_a_side_empty_are_errors() {
    let d = Dataset::regression(array![[1.0], [2.0], [3.0]], array![[1.0], [2.0], [3.0]]).unwrap();
    for fraction in [0.1, 0.9] {
        assert!(
            matches!(d.split(fraction, 0), Err(DataError::BadSplit { .. })),
            "fraction {fraction}"
        );
    }
    for fraction in [0.0, 1.0, 1.5, -0.2, f64::NAN, f64::INFINITY] {
        for split in [Dataset::split, Dataset::split_stratified] {
            let err = split(&d, fraction, 0).unwrap_err();
            assert!(
                matches!(err, DataError::BadFraction { fraction: f } if f.to_bits() == fraction.to_bits()),
                "fraction {fraction}: {err:?}"
            );
            assert_eq!(
                err.to_string(),
                format!("validation fraction {fraction}: the fraction must be in (0, 1)")
            );
        }
    }
    assert_eq!(
        d.split(0.1, 0).unwrap_err().to_string(),
        "validation fraction 0.1 of 3 rows leaves 3 for training and 0 for validation, expected at least 1 in each"
    );
}

#[test]
fn the_vendored_data_sets_load_with_their_documented_class_counts() {
    let counts = |d: &Dataset<f32>, classes: usize| {
        let mut c = vec![0; classes];
        d.labels().unwrap().iter().for_each(|&l| c[l] += 1);
        c
    };
    let train = load_csv::<f32>(
        data_dir().join("digits_train.csv"),
        Target::Label { classes: 10 },
    )
    .unwrap();
    assert_eq!((train.len(), train.n_features()), (1437, 64));
    assert_eq!(
        counts(&train, 10),
        [142, 146, 142, 146, 145, 145, 145, 143, 139, 144]
    );
    let test = load_csv::<f32>(
        data_dir().join("digits_test.csv"),
        Target::Label { classes: 10 },
    )
    .unwrap();
    assert_eq!(counts(&test, 10), [36, 36, 35, 37, 36, 37, 36, 36, 35, 36]);
    assert!(train
        .features()
        .iter()
        .all(|&p| (0.0..=16.0).contains(&p) && p.fract() == 0.0));
    let iris = load_csv::<f32>(
        data_dir().join("iris_train.csv"),
        Target::Label { classes: 3 },
    )
    .unwrap();
    assert_eq!(
        (iris.len(), iris.n_features(), counts(&iris, 3)),
        (120, 4, vec![40, 40, 40])
    );
    let iris = load_csv::<f32>(
        data_dir().join("iris_test.csv"),
        Target::Label { classes: 3 },
    )
    .unwrap();
    assert_eq!((iris.len(), counts(&iris, 3)), (30, vec![10, 10, 10]));
}
