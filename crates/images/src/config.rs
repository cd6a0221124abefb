//! What an image says about running it: its config's `Entrypoint`, `Cmd`, `Env`,
//! `WorkingDir` and `User` (image-spec `config.md`).

use oci_spec::image::ImageConfiguration;

/// The run settings of an image, empty where the image sets none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `NAME=value` pairs split at the first `=`, in the image's order.
    pub env: Vec<(String, String)>,
    pub working_dir: String,
    /// `user`, `uid`, `user:group` or `uid:gid`, as the image gives it.
    pub user: String,
}

impl ImageConfig {
    pub(crate) fn of(c: &ImageConfiguration) -> ImageConfig {
        let Some(cfg) = c.config() else {
            return ImageConfig::default();
        };
        ImageConfig {
            entrypoint: cfg.entrypoint().clone().unwrap_or_default(),
            cmd: cfg.cmd().clone().unwrap_or_default(),
            env: cfg
                .env()
                .iter()
                .flatten()
                .map(|e| match e.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (e.clone(), String::new()),
                })
                .collect(),
            working_dir: cfg.working_dir().clone().unwrap_or_default(),
            user: cfg.user().clone().unwrap_or_default(),
        }
    }
}
