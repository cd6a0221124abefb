//! Who a container runs as: its security context's `runAsUser`, else its image's `User`,
//! and the kubelet's refusal of a `runAsNonRoot` container that would run as root
//! (`pkg/kubelet/kuberuntime/security_context_others.go`, `verifyRunAsNonRoot`; the
//! image's user as containerd reports it, `helpers.go`, `getImageUser`).

use k8s_openapi::api::core::v1::{Container, Pod};

/// The image's user as the runtime reports it: a numeric uid, or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ImageUser {
    Uid(i64),
    Name(String),
}

/// `User` of an image config: `uid`, `uid:gid`, `name` or `name:group`; none is root.
pub(crate) fn image_user(user: &str) -> ImageUser {
    let who = user.split(':').next().unwrap_or("");
    if who.is_empty() {
        return ImageUser::Uid(0);
    }
    match who.parse::<i64>() {
        Ok(uid) => ImageUser::Uid(uid),
        Err(_) => ImageUser::Name(who.to_string()),
    }
}

/// `format.Pod`: `name_namespace(uid)`.
fn pod_ref(pod: &Pod) -> String {
    format!(
        "{}_{}({})",
        pod.metadata.name.as_deref().unwrap_or_default(),
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.uid.as_deref().unwrap_or_default()
    )
}

/// The effective `runAsNonRoot` and `runAsUser`: the container's, else the pod's
/// (`securitycontext.DetermineEffectiveSecurityContext`).
fn effective(pod: &Pod, c: &Container) -> (Option<bool>, Option<i64>) {
    let psc = pod.spec.as_ref().and_then(|s| s.security_context.as_ref());
    let csc = c.security_context.as_ref();
    (
        csc.and_then(|s| s.run_as_non_root)
            .or_else(|| psc.and_then(|s| s.run_as_non_root)),
        csc.and_then(|s| s.run_as_user)
            .or_else(|| psc.and_then(|s| s.run_as_user)),
    )
}

/// `verifyRunAsNonRoot`'s refusal, word for word, if there is one.
pub(crate) fn verify_run_as_non_root(
    pod: &Pod,
    c: &Container,
    image: &ImageUser,
) -> Result<(), String> {
    let (non_root, run_as) = effective(pod, c);
    if non_root != Some(true) {
        return Ok(());
    }
    let pod = format!("{:?}", pod_ref(pod));
    match (run_as, image) {
        (Some(0), _) => Err(format!(
            "container's runAsUser breaks non-root policy (pod: {pod}, container: {})",
            c.name
        )),
        (Some(_), _) => Ok(()),
        (None, ImageUser::Uid(0)) => Err(format!(
            "container has runAsNonRoot and image will run as root (pod: {pod}, container: {})",
            c.name
        )),
        (None, ImageUser::Name(name)) => Err(format!(
            "container has runAsNonRoot and image has non-numeric user ({name}), cannot verify user is non-root (pod: {pod}, container: {})",
            c.name
        )),
        (None, ImageUser::Uid(_)) => Ok(()),
    }
}

/// The uid the container would run as, when it is known: `runAsUser`, else the image's
/// numeric user; a user name resolves in the image's `/etc/passwd` under `root`.
pub(crate) fn uid(
    pod: &Pod,
    c: &Container,
    image: &ImageUser,
    root: &std::path::Path,
) -> Option<i64> {
    if let (_, Some(uid)) = effective(pod, c) {
        return Some(uid);
    }
    match image {
        ImageUser::Uid(uid) => Some(*uid),
        ImageUser::Name(name) => read_in_root(root, "etc/passwd")?.lines().find_map(|l| {
            let mut f = l.split(':');
            (f.next()? == name)
                .then(|| f.nth(1)?.parse().ok())
                .flatten()
        }),
    }
}

/// A regular file of the image's root, read only if it resolves within the root (an
/// image's `/etc/passwd` may be a symlink to anywhere on the host) and at most 1 MiB.
fn read_in_root(root: &std::path::Path, rel: &str) -> Option<String> {
    use std::io::Read;
    let real_root = root.canonicalize().ok()?;
    let path = root.join(rel).canonicalize().ok()?;
    if !path.starts_with(&real_root) || !std::fs::metadata(&path).ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(&path)
        .ok()?
        .take(1 << 20)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(sc: serde_json::Value, csc: serde_json::Value) -> (Pod, Container) {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "default", "uid": "u-1"},
            "spec": {"securityContext": sc, "containers": [{"name": "main", "image": "x", "securityContext": csc}]},
        }))
        .unwrap();
        let c = pod.spec.as_ref().unwrap().containers[0].clone();
        (pod, c)
    }

    #[test]
    fn image_users_are_read_as_containerd_reads_them() {
        assert_eq!(image_user(""), ImageUser::Uid(0));
        assert_eq!(image_user("1000:1000"), ImageUser::Uid(1000));
        assert_eq!(image_user("65532"), ImageUser::Uid(65532));
        assert_eq!(
            image_user("nonroot:nonroot"),
            ImageUser::Name("nonroot".into())
        );
    }

    #[test]
    fn run_as_non_root_is_refused_in_the_kubelet_s_words() {
        let (p, c) = pod(json!({"runAsNonRoot": true}), json!({}));
        assert_eq!(
            verify_run_as_non_root(&p, &c, &ImageUser::Uid(0)).unwrap_err(),
            "container has runAsNonRoot and image will run as root (pod: \"p_default(u-1)\", container: main)"
        );
        assert_eq!(
            verify_run_as_non_root(&p, &c, &ImageUser::Name("app".into())).unwrap_err(),
            "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root (pod: \"p_default(u-1)\", container: main)"
        );
        assert!(verify_run_as_non_root(&p, &c, &ImageUser::Uid(1000)).is_ok());
        let (p, c) = pod(json!({"runAsNonRoot": true}), json!({"runAsUser": 0}));
        assert_eq!(
            verify_run_as_non_root(&p, &c, &ImageUser::Uid(1000)).unwrap_err(),
            "container's runAsUser breaks non-root policy (pod: \"p_default(u-1)\", container: main)"
        );
        // The container's setting wins over the pod's.
        let (p, c) = pod(
            json!({"runAsNonRoot": true}),
            json!({"runAsNonRoot": false}),
        );
        assert!(verify_run_as_non_root(&p, &c, &ImageUser::Uid(0)).is_ok());
    }
}
