//! Images as host programs: the images the course uses, mapped to programs this machine
//! has, with the image's entrypoint, default command and environment.
//!
//! Image facts (entrypoint, `PATH`, `CURL_CA_BUNDLE`) are taken from the images' published
//! Dockerfiles as best known (UNCONFIRMED where noted); an image not listed here cannot be
//! run, and the pod says so (`ErrImagePull`), never pretends.

use std::path::{Path, PathBuf};

/// How to run one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// `ENTRYPOINT`.
    pub entrypoint: Vec<String>,
    /// `CMD`.
    pub cmd: Vec<String>,
    /// The image's `ENV`.
    pub env: Vec<(String, String)>,
    /// Host programs to expose in the container's `/bin`, `/usr/bin`, `/sbin` and
    /// `/usr/sbin`: applet name → host path. Empty means the host's own directories.
    pub bin: Vec<(String, PathBuf)>,
    /// A program built into podbox that stands in for the image's (see `podbox::proxy`).
    pub builtin: Option<String>,
}

/// The Alpine `PATH`.
const ALPINE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why an image cannot run here.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImageError {
    #[error("image {image:?} is not one the embedded runtime can run; it runs {known}")]
    Unknown { image: String, known: &'static str },
    #[error(
        "image {image:?} needs the host program {program:?}, which is not installed ({install})"
    )]
    MissingProgram {
        image: String,
        program: &'static str,
        install: &'static str,
    },
}

const KNOWN: &str = "curlimages/curl, busybox, alpine and registry.k8s.io/kubectl";

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The applets of a busybox binary (`busybox --list`).
fn busybox_applets(busybox: &Path) -> Vec<String> {
    std::process::Command::new(busybox)
        .arg("--list")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// The repository of an image reference: `docker.io/curlimages/curl:8.8.0` → `curlimages/curl`.
pub fn repository(image: &str) -> String {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    let no_tag = match no_digest[last_slash..].find(':') {
        Some(i) => &no_digest[..last_slash + i],
        None => no_digest,
    };
    let repo = no_tag.strip_prefix("docker.io/").unwrap_or(no_tag);
    repo.strip_prefix("library/").unwrap_or(repo).to_string()
}

fn busybox_userland(image: &str) -> Result<Vec<(String, PathBuf)>, ImageError> {
    let busybox = which("busybox").ok_or_else(|| ImageError::MissingProgram {
        image: image.into(),
        program: "busybox",
        install: "apt-get install busybox",
    })?;
    Ok(busybox_applets(&busybox)
        .into_iter()
        .map(|a| (a, busybox.clone()))
        .collect())
}

/// Resolves an image reference to what runs it.
pub fn resolve(image: &str) -> Result<Image, ImageError> {
    let alpine_env = || vec![("PATH".to_string(), ALPINE_PATH.to_string())];
    match repository(image).as_str() {
        // curlimages/curl: Alpine with curl; ENTRYPOINT ["/entrypoint.sh"], CMD ["curl"]
        // (the entrypoint runs its arguments, prefixing `curl` to options), user
        // curl_user and CURL_CA_BUNDLE=/cacert.pem (UNCONFIRMED for the 8.x images).
        "curlimages/curl" => {
            let mut bin = busybox_userland(image)?;
            let curl = which("curl").ok_or_else(|| ImageError::MissingProgram {
                image: image.into(),
                program: "curl",
                install: "apt-get install curl",
            })?;
            bin.push(("curl".into(), curl));
            Ok(Image {
                entrypoint: vec!["curl".into()],
                cmd: Vec::new(),
                env: alpine_env(),
                bin,
                builtin: None,
            })
        }
        "busybox" | "alpine" => Ok(Image {
            entrypoint: Vec::new(),
            cmd: vec!["sh".into()],
            env: vec![(
                "PATH".into(),
                if repository(image) == "busybox" {
                    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()
                } else {
                    ALPINE_PATH.into()
                },
            )],
            bin: busybox_userland(image)?,
            builtin: None,
        }),
        // registry.k8s.io/kubectl: ENTRYPOINT ["kubectl"] (a distroless image with no shell).
        // Without a host kubectl (or with KUBELAB_BUILTIN_KUBECTL=1), podbox's built-in
        // `kubectl proxy` stands in.
        "registry.k8s.io/kubectl" | "bitnami/kubectl" => {
            let env = vec![("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into())];
            let forced = std::env::var("KUBELAB_BUILTIN_KUBECTL").is_ok_and(|v| v == "1");
            match which("kubectl").filter(|_| !forced) {
                Some(kubectl) => Ok(Image {
                    entrypoint: vec!["kubectl".into()],
                    cmd: Vec::new(),
                    env,
                    bin: vec![("kubectl".into(), kubectl)],
                    builtin: None,
                }),
                None => Ok(Image {
                    entrypoint: vec!["kubectl".into()],
                    cmd: Vec::new(),
                    env,
                    bin: Vec::new(),
                    builtin: Some("kubectl".into()),
                }),
            }
        }
        _ => Err(ImageError::Unknown {
            image: image.into(),
            known: KNOWN,
        }),
    }
}

/// `command`/`args` over the image's entrypoint/cmd, as the kubelet combines them.
pub fn argv(image: &Image, command: Option<&[String]>, args: Option<&[String]>) -> Vec<String> {
    match (command, args) {
        (Some(c), Some(a)) => c.iter().chain(a).cloned().collect(),
        (Some(c), None) => c.to_vec(),
        (None, Some(a)) => image.entrypoint.iter().chain(a).cloned().collect(),
        (None, None) => image.entrypoint.iter().chain(&image.cmd).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories() {
        assert_eq!(repository("curlimages/curl:8.8.0"), "curlimages/curl");
        assert_eq!(repository("docker.io/library/busybox:1.36"), "busybox");
        assert_eq!(
            repository("registry.k8s.io/kubectl:v1.33.3"),
            "registry.k8s.io/kubectl"
        );
        assert_eq!(
            repository("localhost:5000/x@sha256:abc"),
            "localhost:5000/x"
        );
    }

    #[test]
    fn unknown_images_say_what_runs() {
        let err = resolve("nginx:1.27").unwrap_err();
        assert_eq!(
            err.to_string(),
            "image \"nginx:1.27\" is not one the embedded runtime can run; it runs curlimages/curl, busybox, alpine and registry.k8s.io/kubectl"
        );
    }

    #[test]
    fn command_and_args_combine_as_kubernetes_does() {
        let img = Image {
            entrypoint: vec!["curl".into()],
            cmd: vec!["--help".into()],
            env: vec![],
            bin: vec![],
            builtin: None,
        };
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(argv(&img, None, None), s(&["curl", "--help"]));
        assert_eq!(
            argv(&img, None, Some(&s(&["-s", "x"]))),
            s(&["curl", "-s", "x"])
        );
        assert_eq!(
            argv(&img, Some(&s(&["sleep"])), Some(&s(&["9"]))),
            s(&["sleep", "9"])
        );
    }
}
