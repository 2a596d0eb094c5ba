//! Snapshots of the expansion and of the checked model.
