//! String metadata stored with the weights, in the header's `__metadata__` object.

use super::error::{cut, MetadataError};
use std::collections::BTreeMap;

/// String entries saved with the weights (safetensors' `__metadata__`), sorted by key.
///
/// Use it for what must travel with a model: class names, column names, the mean and
/// standard deviation of a standardiser. Keys are namespaced, `namespace.name`
/// (e.g. `"app.classes"`); values are any strings. Sorted keys make the saved bytes the same
/// for the same entries.
///
/// A save writes three entries itself, replacing any value held under their keys:
/// `format` (`"pt"`, so that PyTorch's loader accepts the file), `mlp.scalar` (`"f32"` or
/// `"f64"`) and `mlp.layers` (the architecture on one line, e.g.
/// `"3 -> 5 tanh -> 2 identity"`). The `mlp.` namespace is reserved for this crate.
///
/// Bounds: at most [`Metadata::MAX_ENTRIES`] entries (the three above included), keys of at
/// most [`Metadata::MAX_KEY_LEN`] bytes, and at most [`Metadata::MAX_JSON_LEN`] bytes for
/// the whole `__metadata__` object as JSON. A load refuses a file beyond them.
///
/// ```
/// use mlp::io::Metadata;
/// let mut meta = Metadata::new();
/// meta.insert("app.classes", "setosa,versicolor,virginica")?;
/// assert_eq!(meta.get("app.classes"), Some("setosa,versicolor,virginica"));
/// assert!(meta.insert("classes", "no namespace").is_err());
/// # Ok::<(), mlp::io::MetadataError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    entries: BTreeMap<String, String>,
}

/// What a key must look like, as error messages say it.
const KEY_SYNTAX: &str = "`namespace.name` of at most 128 bytes: ASCII letters, digits, `_` and `-`, in segments joined by `.`";

impl Metadata {
    /// The most entries a file's metadata may hold, the three a save writes included.
    pub const MAX_ENTRIES: usize = 64;
    /// The longest key, in bytes.
    pub const MAX_KEY_LEN: usize = 128;
    /// The most bytes the `__metadata__` object may take in the header, as JSON.
    pub const MAX_JSON_LEN: usize = 1 << 20;

    /// No entries.
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries whose keys this crate chose: namespaced, and fewer than
    /// [`Metadata::MAX_ENTRIES`], so no check can fail.
    pub(crate) fn from_trusted<'a>(entries: impl IntoIterator<Item = (&'a str, String)>) -> Self {
        let entries: BTreeMap<String, String> = entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        debug_assert!(entries.len() <= Self::MAX_ENTRIES);
        debug_assert!(entries.keys().all(|k| check_key(k).is_ok()));
        Metadata { entries }
    }

    /// Sets `key` to `value` and returns the value it had, if any.
    ///
    /// Refuses a key that is not namespaced ([`MetadataError::Key`]) and a new key beyond
    /// [`Metadata::MAX_ENTRIES`] ([`MetadataError::TooMany`]). The size of the whole is
    /// checked when saving.
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Option<String>, MetadataError> {
        let key = key.into();
        check_key(&key)?;
        if !self.entries.contains_key(&key) && self.entries.len() >= Self::MAX_ENTRIES {
            return Err(MetadataError::TooMany {
                entries: self.entries.len() + 1,
                max: Self::MAX_ENTRIES,
            });
        }
        Ok(self.entries.insert(key, value.into()))
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Removes `key` and returns its value, if it was set.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.entries.remove(key)
    }

    /// The entries, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// These entries with the three a save writes, as the header's `__metadata__` JSON object.
    pub(super) fn to_json(&self, reserved: [(&str, String); 3]) -> Result<String, MetadataError> {
        let mut all: BTreeMap<&str, &str> = self.iter().collect();
        for (k, v) in &reserved {
            all.insert(k, v);
        }
        if all.len() > Self::MAX_ENTRIES {
            return Err(MetadataError::TooMany {
                entries: all.len(),
                max: Self::MAX_ENTRIES,
            });
        }
        let mut json = String::from("{");
        for (i, (k, v)) in all.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            json_string(k, &mut json);
            json.push(':');
            json_string(v, &mut json);
        }
        json.push('}');
        if json.len() > Self::MAX_JSON_LEN {
            let len = json.len();
            return Err(MetadataError::TooLarge {
                len,
                max: Self::MAX_JSON_LEN,
            });
        }
        Ok(json)
    }

    /// Adds an entry read from a file, where keys need not be namespaced (PyTorch writes
    /// `format`) but the bounds hold.
    pub(super) fn insert_read(&mut self, key: String, value: String) -> Result<(), String> {
        if key.len() > Self::MAX_KEY_LEN {
            return Err(format!(
                "metadata key `{}` is longer than {} bytes",
                cut(&key),
                Self::MAX_KEY_LEN
            ));
        }
        if self.entries.len() >= Self::MAX_ENTRIES {
            return Err(format!("more than {} metadata entries", Self::MAX_ENTRIES));
        }
        if self.entries.insert(key, value).is_some() {
            return Err("a metadata key appears twice".to_owned());
        }
        Ok(())
    }
}

/// Checks that `key` is `namespace.name`: segments of ASCII letters, digits, `_` and `-`,
/// at least two, joined by `.`, at most [`Metadata::MAX_KEY_LEN`] bytes in all.
fn check_key(key: &str) -> Result<(), MetadataError> {
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if key.len() <= Metadata::MAX_KEY_LEN && key.contains('.') && key.split('.').all(segment_ok) {
        Ok(())
    } else {
        Err(MetadataError::Key {
            key: cut(key),
            expected: KEY_SYNTAX,
        })
    }
}

/// Appends `s` as a JSON string literal.
pub(super) fn json_string(s: &str, out: &mut String) {
    // Writing a `&str` as JSON cannot fail; the fallback only keeps this total.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\"")));
}
