//! A trained network together with its [`Preprocessing`], saved and loaded as one
//! safetensors file, so that inference code cannot forget the standardiser or the class
//! names.
//!
//! ```
//! use mlp::{data::{Csv, Preprocessing, Standardizer}, mlp, Model};
//! mlp! { pub struct Net = 1 -> 2 identity; }
//! let train = Csv::classes("kind").parse::<f32>("t.csv", "x,kind\n0,low\n10,high\n")?;
//! let mut net = Net::zeros();
//! net.w1 = Box::new([[-1.0], [1.0]]);        // class 0 ("high") for x < μ, 1 ("low") above
//! let prep = Preprocessing::from_dataset(&train).with_standardizer(Standardizer::fit(train.features())?);
//! let model = Model::new(net, prep);
//!
//! # let dir = std::env::temp_dir().join(format!("mlp-model-doctest-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let path = dir.join("net.safetensors");
//! model.save(&path)?;
//! let back = Model::<Net>::load(&path)?;
//! let raw = mlp::ndarray::array![[1.0f32], [9.0]];      // raw, as in the CSV
//! assert_eq!(back.predict_names(&raw)?, ["high", "low"]);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::data::{Dataset, Preprocessing};
use crate::error::{DataError, ShapeError, TrainError};
use crate::io::{LoadError, SaveError};
use crate::metrics::{confusion_matrix, ConfusionMatrix};
use crate::predict::{predict_class, predict_proba, Inputs};
use crate::{BatchError, BatchNetwork, Network};
use ndarray::Array2;
use std::path::{Path, PathBuf};

/// A network and what its inputs and outputs mean.
#[derive(Clone, Debug, PartialEq)]
pub struct Model<N: Network> {
    /// The trained network.
    pub net: N,
    /// Feature names, class names and the standardiser.
    pub preprocessing: Preprocessing<N::Scalar>,
}

/// Why a model could not be saved, loaded or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The weights could not be saved.
    #[error(transparent)]
    Save(#[from] SaveError),
    /// The weights could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The weights loaded, but the preprocessing in the file's metadata is malformed.
    #[error("cannot load the preprocessing saved in {}", path.display())]
    Metadata {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: Box<DataError>,
    },
    /// The inputs do not fit the network or the standardiser.
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// A data set that does not fit the model.
    #[error(transparent)]
    Data(Box<DataError>),
    /// Evaluation failed.
    #[error(transparent)]
    Train(TrainError),
    /// Class names were asked for, but the model has none.
    #[error("the model has no class names: build its Preprocessing from a data set read with text labels (Target::Classes)")]
    NoClassNames,
}

impl From<ShapeError> for ModelError {
    fn from(e: ShapeError) -> Self {
        ModelError::Batch(BatchError::Shape(e))
    }
}

impl<N: BatchNetwork> Model<N> {
    /// A model from a trained network and its preprocessing.
    pub fn new(net: N, preprocessing: Preprocessing<N::Scalar>) -> Self {
        Model { net, preprocessing }
    }

    /// Saves the weights as safetensors (atomically, as [`crate::io::save_with`]), with the
    /// preprocessing in the file's metadata ([`Preprocessing::to_metadata`]).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ModelError> {
        let metadata = self.preprocessing.to_metadata();
        Ok(crate::io::save_with(&self.net, path, &metadata)?)
    }

    /// Loads a model saved by [`Model::save`] (a plain weights file loads with an empty
    /// preprocessing). Everything is checked before anything is returned.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ModelError> {
        let path = path.as_ref();
        let mut net = N::zeros();
        let metadata = crate::io::load(&mut net, path)?;
        let preprocessing =
            Preprocessing::from_metadata(&metadata).map_err(|source| ModelError::Metadata {
                path: path.to_path_buf(),
                source: Box::new(source),
            })?;
        Ok(Model { net, preprocessing })
    }

    /// `raw` prepared for the network: a standardised copy.
    fn prepare(
        &self,
        raw: &(impl Inputs<N::Scalar> + ?Sized),
    ) -> Result<Array2<N::Scalar>, ModelError> {
        let mut x = raw.inputs().to_owned();
        self.preprocessing.apply(x.view_mut())?;
        Ok(x)
    }

    /// The class probabilities of raw inputs (prepared first), as [`predict_proba`].
    pub fn predict_proba(
        &self,
        raw: &(impl Inputs<N::Scalar> + ?Sized),
    ) -> Result<Array2<N::Scalar>, ModelError> {
        Ok(predict_proba(&self.net, &self.prepare(raw)?)?)
    }

    /// The predicted classes of raw inputs (prepared first), as [`predict_class`].
    pub fn predict_class(
        &self,
        raw: &(impl Inputs<N::Scalar> + ?Sized),
    ) -> Result<Vec<usize>, ModelError> {
        Ok(predict_class(&self.net, &self.prepare(raw)?)?)
    }

    /// The confusion matrix (accuracy, per-class precision, recall, F1) on a raw
    /// classification data set, prepared first, with the model's class names.
    pub fn confusion_matrix(
        &self,
        raw: &Dataset<N::Scalar>,
    ) -> Result<ConfusionMatrix, ModelError> {
        let mut data = raw.clone();
        if let Some(s) = &self.preprocessing.standardizer {
            data.standardize(s)
                .map_err(|e| ModelError::Data(Box::new(e)))?;
        }
        let m = confusion_matrix(&self.net, &data).map_err(ModelError::Train)?;
        match &self.preprocessing.class_names {
            Some(names) if names.len() == m.classes() => m
                .with_names(names.iter().cloned())
                .map_err(|e| ModelError::Data(Box::new(e))),
            _ => Ok(m),
        }
    }

    /// The predicted class names of raw inputs (prepared first).
    pub fn predict_names(
        &self,
        raw: &(impl Inputs<N::Scalar> + ?Sized),
    ) -> Result<Vec<&str>, ModelError> {
        self.predict_class(raw)?
            .into_iter()
            .map(|k| {
                self.preprocessing
                    .class_name(k)
                    .ok_or(ModelError::NoClassNames)
            })
            .collect()
    }
}
