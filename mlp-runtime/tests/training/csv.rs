//! CSV reading through `Csv`: quoted fields, delimiters, the target column by name or index,
//! feature columns chosen or excluded, text class labels, headerless files, line ends, and
//! the errors' positions and lengths.

use mlp_runtime::data::{Csv, Dataset, Standardizer, Target, ECHO_LIMIT};
use mlp_runtime::error::{DataError, Location};
use ndarray::array;
use std::path::PathBuf;

fn at(line: usize, column: usize) -> Location {
    Location {
        path: PathBuf::from("t.csv"),
        line,
        column,
    }
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn quoted_fields_keep_delimiters_quotes_and_line_breaks() {
    let text = "\"a, x\",\"b \"\"q\"\"\",label\n\"1.5\",2,\"0\"\n3,\"4\",1\n";
    let d = Csv::new(Target::Label { classes: 2 })
        .parse::<f64>("t.csv", text)
        .unwrap();
    assert_eq!(d.features(), array![[1.5, 2.0], [3.0, 4.0]]);
    assert_eq!(d.labels(), Some(&[0, 1][..]));
    assert_eq!(d.feature_names(), Some(&names(&["a, x", "b \"q\""])[..]));
    // A class name with a line break inside quotes, and the next record's line is right.
    let text = "x,kind\n1,\"two\nlines\"\n2,plain\n3,?\n";
    let d = Csv::classes("kind").parse::<f64>("t.csv", text).unwrap();
    assert_eq!(
        d.class_names(),
        Some(&names(&["?", "plain", "two\nlines"])[..])
    );
    let err = Csv::classes("kind")
        .parse::<f64>("t.csv", "x,kind\n1,\"two\nlines\"\nz,plain\n")
        .unwrap_err();
    assert!(
        matches!(&err, DataError::NotANumber { at: a, .. } if *a == at(4, 1)),
        "{err:?}"
    );
}

#[test]
fn a_chosen_delimiter() {
    let d = Csv::new(Target::Values { columns: 1 })
        .delimiter(b';')
        .parse::<f64>("t.csv", "a;b;y\n1,5;2;3\n")
        .unwrap_err();
    // `1,5` is not a number with `;` as the delimiter: the error says which column.
    assert_eq!(
        d.to_string(),
        "t.csv:2:1: column `a`: expected a finite number, found `1,5`"
    );
    let d = Csv::new(Target::Values { columns: 1 })
        .delimiter(b'\t')
        .parse::<f64>("t.csv", "a\tb\ty\n1\t2\t3\n")
        .unwrap();
    assert_eq!(
        (d.features(), d.targets()),
        (array![[1.0, 2.0]].view(), array![[3.0]].view())
    );
}

#[test]
fn text_labels_become_sorted_class_indices_with_their_names() {
    let text = "sepal,petal,species\n1,2,virginica\n3,4,setosa\n5,6,versicolor\n7,8,setosa\n";
    let d = Csv::classes("species").parse::<f32>("t.csv", text).unwrap();
    assert_eq!(
        d.class_names(),
        Some(&names(&["setosa", "versicolor", "virginica"])[..])
    );
    assert_eq!(d.labels(), Some(&[2, 0, 1, 0][..]));
    assert_eq!(d.n_targets(), 3);
    assert_eq!(d.targets().row(0).to_vec(), [0.0, 0.0, 1.0]);
    // `1.0` and `2` are names like any other text.
    let d = Csv::classes(2)
        .parse::<f32>("t.csv", "a,b,y\n1,2,1.0\n3,4,2\n")
        .unwrap();
    assert_eq!(d.class_names(), Some(&names(&["1.0", "2"])[..]));
}

#[test]
fn given_class_names_fix_the_indices_and_refuse_others() {
    let csv = Csv::classes("y").class_names(["b", "a", "c"]);
    let d = csv.parse::<f64>("t.csv", "x,y\n1,a\n2,c\n").unwrap();
    assert_eq!(d.labels(), Some(&[1, 2][..]));
    assert_eq!(d.n_targets(), 3);
    assert_eq!(d.class_names(), Some(&names(&["b", "a", "c"])[..]));
    let err = csv.parse::<f64>("t.csv", "x,y\n1,a\n2,d\n").unwrap_err();
    assert!(
        matches!(&err, DataError::UnknownClass { at: a, text, classes: 3 } if *a == at(3, 2) && text == "d"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "t.csv:3:2: class `d` is not one of the 3 class names given"
    );
}

#[test]
fn too_many_classes_stop_at_the_row_that_brings_one_more() {
    let text = "x,y\n1,a\n2,b\n3,c\n";
    let err = Csv::classes("y")
        .max_classes(2)
        .parse::<f64>("t.csv", text)
        .unwrap_err();
    assert!(
        matches!(&err, DataError::TooManyClasses { at: Some(a), limit: 2 } if *a == at(4, 2)),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "t.csv:4:2: more than 2 classes, the limit (`Csv::max_classes`)"
    );
}

#[test]
fn the_target_column_by_name_or_index_anywhere_in_the_row() {
    let text = "label,a,b\n1,10,20\n0,30,40\n";
    for csv in [
        Csv::new(Target::Label { classes: 2 }).target("label"),
        Csv::new(Target::Label { classes: 2 }).target(0),
    ] {
        let d = csv.parse::<f64>("t.csv", text).unwrap();
        assert_eq!(d.features(), array![[10.0, 20.0], [30.0, 40.0]]);
        assert_eq!(d.labels(), Some(&[1, 0][..]));
        assert_eq!(d.feature_names(), Some(&names(&["a", "b"])[..]));
    }
    // Regression targets: adjacent columns from the one named.
    let d = Csv::values("y1", 2)
        .parse::<f64>("t.csv", "x1,y1,y2,x2\n1,2,3,4\n")
        .unwrap();
    assert_eq!(d.features(), array![[1.0, 4.0]]);
    assert_eq!(d.targets(), array![[2.0, 3.0]]);
    let err = Csv::classes("specie")
        .parse::<f64>("t.csv", "a,species\n1,x\n")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.csv:1: no column `specie` in the 2 columns of the header"
    );
    let err = Csv::classes(5)
        .parse::<f64>("t.csv", "a,species\n1,x\n")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.csv:1: no column 5 in the 2 columns of the header"
    );
    let err = Csv::values("y1", 2)
        .parse::<f64>("t.csv", "x,y1\n1,2\n")
        .unwrap_err();
    assert!(matches!(err, DataError::TooFewColumns { .. }), "{err:?}");
}

#[test]
fn an_id_column_excluded_or_features_chosen() {
    let text = "id,a,b,y\n101,1,2,0\n102,3,4,1\n";
    let d = Csv::classes("y")
        .exclude(["id"])
        .parse::<f64>("t.csv", text)
        .unwrap();
    assert_eq!(d.features(), array![[1.0, 2.0], [3.0, 4.0]]);
    assert_eq!(d.feature_names(), Some(&names(&["a", "b"])[..]));
    let d = Csv::classes("y")
        .features(["b", "id"])
        .parse::<f64>("t.csv", text)
        .unwrap();
    assert_eq!(d.features(), array![[2.0, 101.0], [4.0, 102.0]]);
    assert_eq!(d.feature_names(), Some(&names(&["b", "id"])[..]));
    // An id that is not a number fails only when it is used as a feature.
    let text = "id,a,y\nab-1,1,0\n";
    assert!(Csv::classes("y")
        .exclude(["id"])
        .parse::<f64>("t.csv", text)
        .is_ok());
    let err = Csv::classes("y").parse::<f64>("t.csv", text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.csv:2:1: column `id`: expected a finite number, found `ab-1`"
    );
    for csv in [
        Csv::classes("y").features(["a", "y"]),
        Csv::classes("y").features(["a", "a"]),
    ] {
        let err = csv.parse::<f64>("t.csv", "a,y\n1,0\n").unwrap_err();
        assert!(matches!(err, DataError::ColumnTwice { .. }), "{err:?}");
    }
    let err = Csv::classes("y")
        .exclude(["a"])
        .parse::<f64>("t.csv", "a,y\n1,0\n")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.csv: no feature columns left, expected at least 1"
    );
}

#[test]
fn headerless_files_are_an_explicit_option() {
    let text = "1,2,0\n3,4,1\n";
    let d = Csv::new(Target::Label { classes: 2 })
        .no_header()
        .parse::<f64>("t.csv", text)
        .unwrap();
    assert_eq!(d.len(), 2, "no row is lost");
    assert_eq!(d.features(), array![[1.0, 2.0], [3.0, 4.0]]);
    assert_eq!(d.feature_names(), Some(&names(&["1", "2"])[..]));
    // Without the option, a header of numbers is refused rather than dropped.
    let err = Csv::new(Target::Label { classes: 2 })
        .parse::<f64>("t.csv", text)
        .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::HeaderLooksLikeData {
                numbers: 3,
                fields: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("Csv::no_header()"), "{err}");
    // A first sample with a text class is caught too; a header with one numeric name is not.
    let err = Csv::classes(2)
        .parse::<f64>("t.csv", "5.1,3.5,setosa\n4.9,3.0,setosa\n")
        .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::HeaderLooksLikeData {
                numbers: 2,
                fields: 3,
                ..
            }
        ),
        "{err:?}"
    );
    let d = Csv::classes(2)
        .parse::<f64>("t.csv", "height,2020,species\n1,2,cat\n")
        .unwrap();
    assert_eq!(d.feature_names(), Some(&names(&["height", "2020"])[..]));
    // Said explicitly, such a header is taken as names.
    let d = Csv::new(Target::Label { classes: 2 })
        .header(true)
        .parse::<f64>("t.csv", text)
        .unwrap();
    assert_eq!(d.len(), 1);
    // Headerless errors count lines from 1 at the first sample.
    let err = Csv::new(Target::Label { classes: 2 })
        .no_header()
        .parse::<f64>("t.csv", "1,2,0\n3,x,1\n")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.csv:2:2: column `2`: expected a finite number, found `x`"
    );
}

#[test]
fn every_line_end_counts_lines_the_same() {
    for end in ["\n", "\r\n", "\r"] {
        let text = ["a,label", "1,0", "", "2,1", "x,0", ""].join(end);
        let err = Csv::new(Target::Label { classes: 2 })
            .parse::<f64>("t.csv", &text)
            .unwrap_err();
        assert!(
            matches!(&err, DataError::NotANumber { at: a, .. } if *a == at(5, 1)),
            "{end:?}: {err:?}"
        );
        let text = ["a,label", "1,0", "", "2,1", ""].join(end);
        let d = Csv::new(Target::Label { classes: 2 })
            .parse::<f64>("t.csv", &text)
            .unwrap();
        assert_eq!(d.labels(), Some(&[0, 1][..]), "{end:?}");
    }
    // A leading byte-order mark is not part of the first name.
    let d = Csv::classes("y")
        .parse::<f64>("t.csv", "\u{feff}a,y\r1,q\r")
        .unwrap();
    assert_eq!(d.feature_names(), Some(&names(&["a"])[..]));
}

#[test]
fn a_value_that_overflows_the_scalar_names_file_line_column_and_text() {
    let err = Csv::new(Target::Label { classes: 2 })
        .parse::<f32>("t.csv", "a,b,label\n1,2,0\n3,1e39,1\n")
        .unwrap_err();
    assert!(
        matches!(&err, DataError::Overflow { at: a, name, text, scalar: "f32" } if *a == at(3, 2) && name == "b" && text == "1e39"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "t.csv:3:2: column `b`: expected a finite f32, found `1e39`, which overflows it"
    );
    // The same text is finite in f64.
    let d = Csv::new(Target::Label { classes: 2 })
        .parse::<f64>("t.csv", "a,b,label\n3,1e39,1\n")
        .unwrap();
    assert_eq!(d.features()[(0, 1)], 1e39);
}

#[test]
fn long_fields_and_names_are_cut_in_messages() {
    let long = "9".repeat(10) + &"x".repeat(1 << 20);
    let err = Csv::new(Target::Label { classes: 2 })
        .parse::<f64>("t.csv", &format!("a,label\n{long},0\n"))
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.len() < 200, "{} bytes", msg.len());
    let DataError::NotANumber { text, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(text.chars().count(), ECHO_LIMIT + 1);
    assert!(text.ends_with('…') && long.starts_with(text.trim_end_matches('…')));
    let name = "n".repeat(5000);
    let err = Csv::new(Target::Label { classes: 2 })
        .parse::<f64>("t.csv", &format!("{name},label\nq,0\n"))
        .unwrap_err();
    assert!(err.to_string().len() < 200, "{err}");
}

#[test]
fn zero_target_columns_are_refused() {
    for csv in [Csv::new(Target::Values { columns: 0 }), Csv::values("a", 0)] {
        let err = csv.parse::<f64>("t.csv", "a,b\n1,2\n").unwrap_err();
        assert!(matches!(err, DataError::NoTargetColumns), "{err:?}");
        assert_eq!(
            err.to_string(),
            "expected at least 1 target column, found 0"
        );
    }
}

#[test]
fn non_utf8_fields_are_errors_at_their_position() {
    let bytes = b"a,label\n1,0\n\xff,1\n";
    let err = Csv::new(Target::Label { classes: 2 })
        .read::<f64>("t.csv", &bytes[..])
        .unwrap_err();
    assert!(
        matches!(&err, DataError::NotUtf8 { at: a } if *a == at(3, 1)),
        "{err:?}"
    );
}

#[test]
fn a_sigma_that_rounds_to_zero_in_f32_keeps_the_data_finite() {
    // σ ≈ 7e-46 in f64, which is 0 in f32: the column counts as constant.
    let tiny = 1.0e-45f32;
    let x = array![[0.0f32, 1.0], [tiny, 2.0]];
    let s = Standardizer::fit(x.view()).unwrap();
    assert_eq!(s.std()[0], 1.0);
    let mut d = Dataset::regression(x, array![[0.0f32], [1.0]]).unwrap();
    d.standardize(&s).unwrap();
    assert!(d.features().iter().all(|v| v.is_finite()));
    // A standardised value that overflows is an error, and the data set is unchanged.
    let train = array![[0.0f32], [1e-30]];
    let s = Standardizer::fit(train.view()).unwrap();
    let mut far = Dataset::regression(array![[3e38f32]], array![[0.0f32]]).unwrap();
    let before = far.clone();
    let err = far.standardize(&s).unwrap_err();
    assert!(matches!(err, DataError::NonFinite { .. }), "{err:?}");
    assert_eq!(far, before);
}

#[test]
fn names_travel_through_splits() {
    let text = "a,y\n1,p\n2,q\n3,p\n4,q\n5,p\n6,q\n";
    let d = Csv::classes("y").parse::<f64>("t.csv", text).unwrap();
    for part in [
        d.split(0.5, 1).unwrap().0,
        d.split_stratified(0.5, 1).unwrap().1,
    ] {
        assert_eq!(part.class_names(), d.class_names());
        assert_eq!(part.feature_names(), d.feature_names());
    }
}

#[test]
fn the_stratified_split_keeps_class_proportions() {
    let n = 100;
    let labels: Vec<usize> = (0..n)
        .map(|i: usize| usize::from(i.is_multiple_of(10)))
        .collect();
    let x = ndarray::Array2::from_shape_fn((n, 1), |(i, _)| i as f64);
    let d = Dataset::classification(x, labels, 2).unwrap();
    let (train, val) = d.split_stratified(0.2, 3).unwrap();
    let count = |s: &Dataset<f64>, c| s.labels().unwrap().iter().filter(|&&l| l == c).count();
    assert_eq!((count(&val, 0), count(&val, 1)), (18, 2));
    assert_eq!((count(&train, 0), count(&train, 1)), (72, 8));
    // A partition of the samples, rows kept with their labels, the same for the same seed.
    let mut ids: Vec<usize> = train
        .features()
        .iter()
        .chain(val.features().iter())
        .map(|&v| v as usize)
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..n).collect::<Vec<_>>());
    for part in [&train, &val] {
        for (row, &l) in part.labels().unwrap().iter().enumerate() {
            assert_eq!(
                l,
                usize::from((part.features()[(row, 0)] as usize).is_multiple_of(10))
            );
        }
    }
    assert_eq!(d.split_stratified(0.2, 3).unwrap().1, val);
    assert_ne!(d.split_stratified(0.2, 4).unwrap().1, val);
}
