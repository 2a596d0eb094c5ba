//! Prediction on the batched path against the per-sample `forward` with softmax, logistic and
//! argmax written out here; evaluation and the confusion matrix against counts made by hand;
//! and a model saved and loaded back that predicts the same class names.

use crate::support::{randomize, TestRng};
use mlp::data::{Csv, Dataset, Preprocessing, Standardizer};
use mlp::loss::{BinaryCrossEntropy, SoftmaxCrossEntropy};
use mlp::metrics::{confusion_matrix, ConfusionMatrix};
use mlp::predict::{predict, predict_class, predict_proba, CHUNK};
use mlp::train::evaluate;
use mlp::{BatchError, Model};
use ndarray::{Array2, ShapeBuilder};

mlp::mlp! {
    /// Four classes from five features.
    pub struct Four { scalar: f64, input: 5, layers: [7 tanh, 4 identity] }
}

mlp::mlp! {
    /// One logit: a binary classifier.
    pub struct One { scalar: f64, input: 5, layers: [6 relu, 1 identity] }
}

/// `n` random rows of five features.
fn inputs(rng: &mut TestRng, n: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, 5), |_| rng.uniform(-2.0, 2.0))
}

#[test]
fn outputs_probabilities_and_classes_match_the_per_sample_forward() {
    let mut rng = TestRng::new(5);
    let mut net = Four::zeros();
    randomize(&mut net, &mut rng, 1.0);
    // More rows than a chunk, and not a multiple of it.
    let x = inputs(&mut rng, 2 * CHUNK + 37);
    let y = predict(&net, &x).unwrap();
    let p = predict_proba(&net, &x.view()).unwrap();
    let c = predict_class(&net, &x).unwrap();
    assert_eq!(
        (y.dim(), p.dim(), c.len()),
        ((x.nrows(), 4), (x.nrows(), 4), x.nrows())
    );
    for (i, row) in x.rows().into_iter().enumerate() {
        let reference = net.forward(&[row[0], row[1], row[2], row[3], row[4]]);
        for k in 0..4 {
            assert!(
                (y[(i, k)] - reference[k]).abs() <= 1e-12,
                "row {i}, output {k}"
            );
        }
        let m = reference.iter().cloned().fold(f64::MIN, f64::max);
        let z: f64 = reference.iter().map(|v| (v - m).exp()).sum();
        for k in 0..4 {
            let expected = (reference[k] - m).exp() / z;
            assert!((p[(i, k)] - expected).abs() <= 1e-12, "row {i}, class {k}");
        }
        let argmax = (0..4).fold(0, |b, k| if reference[k] > reference[b] { k } else { b });
        assert_eq!(c[i], argmax, "row {i}");
    }
}

#[test]
fn one_output_gives_the_logistic_and_the_sign() {
    let mut rng = TestRng::new(6);
    let mut net = One::zeros();
    randomize(&mut net, &mut rng, 1.0);
    let x = inputs(&mut rng, 50);
    let p = predict_proba(&net, &x).unwrap();
    let c = predict_class(&net, &x).unwrap();
    let mut both = [0; 2];
    for (i, row) in x.rows().into_iter().enumerate() {
        let y = net.forward(&[row[0], row[1], row[2], row[3], row[4]])[0];
        assert!((p[(i, 0)] - 1.0 / (1.0 + (-y).exp())).abs() <= 1e-12);
        assert_eq!(c[i], usize::from(y > 0.0));
        both[c[i]] += 1;
    }
    assert!(
        both[0] > 0 && both[1] > 0,
        "the test sees both classes: {both:?}"
    );
}

#[test]
fn views_in_any_layout_and_empty_inputs() {
    let mut rng = TestRng::new(7);
    let mut net = Four::zeros();
    randomize(&mut net, &mut rng, 1.0);
    let x = inputs(&mut rng, 9);
    let column_major = Array2::from_shape_vec((9, 5).f(), x.t().iter().copied().collect()).unwrap();
    assert_eq!(column_major, x);
    assert_eq!(
        predict(&net, &column_major).unwrap(),
        predict(&net, &x).unwrap()
    );
    let reversed = x.slice(ndarray::s![..;-1, ..]);
    let backwards = predict(&net, &reversed).unwrap();
    assert_eq!(backwards.row(0), predict(&net, &x).unwrap().row(8));
    assert_eq!(
        predict_class(&net, &Array2::<f64>::zeros((0, 5))).unwrap(),
        Vec::<usize>::new()
    );
    let err = predict(&net, &Array2::<f64>::zeros((3, 4))).unwrap_err();
    assert!(matches!(err, BatchError::Shape(_)), "{err:?}");
    assert_eq!(err.to_string(), "input batch: expected 5 columns, found 4");
}

#[test]
fn evaluation_and_the_confusion_matrix_count_what_the_forward_predicts() {
    let mut rng = TestRng::new(8);
    let mut net = Four::zeros();
    randomize(&mut net, &mut rng, 1.0);
    let x = inputs(&mut rng, 300);
    let labels: Vec<usize> = (0..300).map(|i| (i * 7) % 4).collect();
    let data = Dataset::classification(x.clone(), labels.clone(), 4).unwrap();
    let mut counts = [[0usize; 4]; 4];
    let mut loss = 0.0;
    for (i, row) in x.rows().into_iter().enumerate() {
        let y = net.forward(&[row[0], row[1], row[2], row[3], row[4]]);
        let argmax = (0..4).fold(0, |b, k| if y[k] > y[b] { k } else { b });
        counts[labels[i]][argmax] += 1;
        let m = y.iter().cloned().fold(f64::MIN, f64::max);
        loss += m + y.iter().map(|v| (v - m).exp()).sum::<f64>().ln() - y[labels[i]];
    }
    let e = evaluate(&net, &SoftmaxCrossEntropy, &data).unwrap();
    assert!(
        (e.loss - loss / 300.0).abs() < 1e-12,
        "{} {}",
        e.loss,
        loss / 300.0
    );
    let correct: usize = (0..4).map(|c| counts[c][c]).sum();
    assert_eq!(e.accuracy, Some(correct as f64 / 300.0));
    let m = confusion_matrix(&net, &data).unwrap();
    for (t, row) in counts.iter().enumerate() {
        for (p, &count) in row.iter().enumerate() {
            assert_eq!(m.count(t, p), count, "true {t}, predicted {p}");
        }
        let predicted: usize = (0..4).map(|s| counts[s][t]).sum();
        let support: usize = counts[t].iter().sum();
        assert_eq!(
            m.precision(t),
            (predicted > 0).then(|| counts[t][t] as f64 / predicted as f64)
        );
        assert_eq!(m.recall(t), Some(counts[t][t] as f64 / support as f64));
    }
    assert_eq!(m.accuracy(), correct as f64 / 300.0);
    // One logit with 0/1 targets: evaluation through the same path.
    let mut one = One::zeros();
    randomize(&mut one, &mut rng, 1.0);
    let t = Array2::from_shape_fn((300, 1), |(i, _)| (labels[i] % 2) as f64);
    let binary = Dataset::regression(x, t).unwrap();
    let m = confusion_matrix(&one, &binary).unwrap();
    let e = evaluate(&one, &BinaryCrossEntropy, &binary).unwrap();
    assert_eq!((m.classes(), m.total()), (2, 300));
    assert_eq!(Some(m.accuracy()), e.accuracy);
}

#[test]
fn the_confusion_matrix_prints_a_table() {
    let m = ConfusionMatrix::new(3, &[0, 0, 1, 1, 2, 2], &[0, 1, 1, 1, 1, 2])
        .unwrap()
        .with_names(["cat", "dog", "hedgehog"])
        .unwrap();
    let expected = "\
true       predicted
                cat       dog  hedgehog
cat               1         1         0
dog               0         2         0
hedgehog          0         1         1

class      precision     recall         f1    support
cat           1.0000     0.5000     0.6667          2
dog           0.5000     1.0000     0.6667          2
hedgehog      1.0000     0.5000     0.6667          2
accuracy   0.6667 of 6";
    assert_eq!(m.to_string(), expected);
    // A class never predicted has no precision (printed `-`), and its F1 is undefined too.
    let m = ConfusionMatrix::new(2, &[0, 1], &[0, 0]).unwrap();
    assert_eq!(
        (m.precision(1), m.recall(1), m.f1(1)),
        (None, Some(0.0), None)
    );
    assert!(
        m.to_string()
            .contains("1                  -     0.0000          -          1"),
        "{m}"
    );
    assert!(ConfusionMatrix::new(2, &[0, 2], &[0, 0]).is_err());
    assert!(ConfusionMatrix::new(2, &[0], &[0, 0]).is_err());
}

#[test]
fn a_saved_then_loaded_model_predicts_the_same_class_names() {
    let text = "id,a,b,c,d,e,kind\n\
        1,0.5,1,2,3,4,fox\n2,1.5,0,2,1,4,owl\n3,2,1,0,3,1,\"red, deer\"\n4,9,1,2,8,4,fox\n5,3,3,3,3,3,owl\n";
    let data = Csv::classes("kind")
        .exclude(["id"])
        .parse::<f64>("animals.csv", text)
        .unwrap();
    assert_eq!(data.class_names().unwrap(), ["fox", "owl", "red, deer"]);
    mlp::mlp! { pub struct Three { scalar: f64, input: 5, layers: [6 tanh, 3 identity] } }
    let mut net = Three::zeros();
    randomize(&mut net, &mut TestRng::new(9), 1.0);
    let s = Standardizer::fit(data.features()).unwrap();
    let model = Model::new(net, Preprocessing::from_dataset(&data).with_standardizer(s));
    let dir = std::env::temp_dir().join(format!("mlp-model-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("animals.safetensors");
    model.save(&path).unwrap();
    let back = Model::<Three>::load(&path).unwrap();
    assert_eq!(
        back, model,
        "weights, names and standardiser all come back exactly"
    );
    let before = model.predict_names(&data).unwrap();
    assert_eq!(back.predict_names(&data).unwrap(), before);
    // The names are those of the classes predicted from standardised inputs.
    let mut standardised = data.clone();
    standardised
        .standardize(model.preprocessing.standardizer.as_ref().unwrap())
        .unwrap();
    let classes = predict_class(&model.net, &standardised).unwrap();
    let names: Vec<&str> = classes
        .iter()
        .map(|&k| data.class_names().unwrap()[k].as_str())
        .collect();
    assert_eq!(before, names);
    // The file is still a plain weights file for `io::load`.
    let mut plain = Three::zeros();
    mlp::io::load(&mut plain, &path).unwrap();
    assert_eq!(plain, model.net);
    std::fs::remove_dir_all(&dir).unwrap();
}
