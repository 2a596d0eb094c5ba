//! The progress bar over the epochs.

use super::history::Evaluation;
use std::io::IsTerminal;

/// A progress bar over the epochs, drawn on stderr only when asked and stderr is a terminal.
pub(super) fn progress_bar(show: bool, epochs: usize) -> indicatif::ProgressBar {
    if !(show && std::io::stderr().is_terminal()) {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(epochs as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:30.cyan/blue} epoch {pos}/{len} {msg} [{elapsed}<{eta}]",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The progress bar's message: the epoch's losses and accuracies.
pub(super) fn progress_message(train: &Evaluation, val: Option<&Evaluation>) -> String {
    let mut msg = format!("loss {:.4}", train.loss);
    if let Some(a) = train.accuracy {
        msg += &format!(" acc {a:.4}");
    }
    if let Some(v) = val {
        msg += &format!(" val_loss {:.4}", v.loss);
        if let Some(a) = v.accuracy {
            msg += &format!(" val_acc {a:.4}");
        }
    }
    msg
}
