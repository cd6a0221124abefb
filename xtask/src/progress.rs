//! Progress on stderr while something slow runs.

/// A spinner with elapsed time on stderr (indicatif hides it when stderr is not a
/// terminal). Dropping it clears the line.
pub struct Spinner(indicatif::ProgressBar);

impl Spinner {
    pub fn start(what: String) -> Spinner {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .expect("a valid template"),
        );
        bar.set_message(what);
        bar.enable_steady_tick(std::time::Duration::from_millis(80));
        Spinner(bar)
    }

    /// Says what is happening now.
    pub fn say(&self, what: String) {
        self.0.set_message(what);
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
