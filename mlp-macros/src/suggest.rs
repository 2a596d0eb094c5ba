//! Did-you-mean suggestions for unknown names: keys, activations, functions, parameters.

/// The candidate within edit distance 2 of `name` (or sharing a prefix of 3), if any.
pub fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(name, c), *c))
        .filter(|(d, c)| *d <= 2 || (name.len() >= 3 && c.starts_with(name)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The Levenshtein distance between two strings, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::{closest, edit_distance};

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("tanh", "tanh"), 0);
        assert_eq!(edit_distance("tahn", "tanh"), 2);
        assert_eq!(edit_distance("relu", "gelu"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("sigmod", "sigmoid"), 1);
    }

    #[test]
    fn closest_suggests_only_near_names() {
        let names: Vec<&str> = crate::model::Builtin::names().collect();
        assert_eq!(closest("sigmod", &names), Some("sigmoid"));
        assert_eq!(closest("leaky", &names), Some("leaky_relu"));
        assert_eq!(closest("convolution", &names), None);
    }
}
