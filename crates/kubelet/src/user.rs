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

/// Who the container runs as, as containerd decides it for the kubelet
/// (`internal/cri/server/container_create_linux.go`: `WithUser`/`WithUserID` from the
/// image's `User` or `runAsUser`, `runAsGroup` over the group, then `WithAdditionalGIDs`
/// from the image's `/etc/group` and the pod's `supplementalGroups` and `fsGroup`): the
/// uid, a name resolved in the image's `/etc/passwd`; the gid, the user's in `/etc/passwd`
/// (0 for a uid it does not list), or the image's `:group`, or `runAsGroup`; and the
/// groups the image's `/etc/group` gives the user's name. `Err` names what the image
/// does not have.
pub(crate) fn resolve(
    pod: &Pod,
    c: &Container,
    image_user: &str,
    root: &std::path::Path,
) -> Result<podbox::User, String> {
    let passwd = read_in_root(root, "etc/passwd").unwrap_or_default();
    let group_file = read_in_root(root, "etc/group").unwrap_or_default();
    // name:x:uid:gid:...
    let users: Vec<(&str, u32, u32)> = passwd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((
                *f.first()?,
                f.get(2)?.parse().ok()?,
                f.get(3)?.parse().ok()?,
            ))
        })
        .collect();
    // name:x:gid:member,member
    let groups: Vec<(&str, u32, Vec<&str>)> = group_file
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let members = f.get(3).map_or(Vec::new(), |m| {
                m.split(',').filter(|m| !m.is_empty()).collect()
            });
            Some((*f.first()?, f.get(2)?.parse().ok()?, members))
        })
        .collect();
    let by_uid = |uid: u32| users.iter().find(|u| u.1 == uid);
    let (_, run_as_user) = effective(pod, c);
    let (user_part, group_part) = match image_user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (image_user, None),
    };
    let id =
        |v: i64, what: &str| u32::try_from(v).map_err(|_| format!("{what} {v} is not a valid id"));
    let (uid, mut gid, name) = match run_as_user {
        Some(uid) => {
            let uid = id(uid, "runAsUser")?;
            (
                uid,
                by_uid(uid).map_or(0, |u| u.2),
                by_uid(uid).map(|u| u.0),
            )
        }
        None => match user_part.parse::<u32>() {
            _ if user_part.is_empty() => (0, by_uid(0).map_or(0, |u| u.2), by_uid(0).map(|u| u.0)),
            Ok(uid) => (
                uid,
                by_uid(uid).map_or(0, |u| u.2),
                by_uid(uid).map(|u| u.0),
            ),
            Err(_) => {
                let u = users.iter().find(|u| u.0 == user_part).ok_or_else(|| {
                    format!("user {user_part:?} is not in the image's /etc/passwd")
                })?;
                (u.1, u.2, Some(u.0))
            }
        },
    };
    if run_as_user.is_none()
        && let Some(g) = group_part.filter(|g| !g.is_empty())
    {
        gid = match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => groups
                .iter()
                .find(|x| x.0 == g)
                .map(|x| x.1)
                .ok_or_else(|| format!("group {g:?} is not in the image's /etc/group"))?,
        };
    }
    let psc = pod.spec.as_ref().and_then(|s| s.security_context.as_ref());
    let run_as_group = c
        .security_context
        .as_ref()
        .and_then(|s| s.run_as_group)
        .or_else(|| psc.and_then(|s| s.run_as_group));
    if let Some(g) = run_as_group {
        gid = id(g, "runAsGroup")?;
    }
    let mut extra: Vec<u32> = Vec::new();
    if let Some(name) = name {
        extra.extend(groups.iter().filter(|g| g.2.contains(&name)).map(|g| g.1));
    }
    for g in psc
        .and_then(|s| s.supplemental_groups.clone())
        .into_iter()
        .flatten()
        .chain(psc.and_then(|s| s.fs_group))
    {
        extra.push(id(g, "supplementalGroups")?);
    }
    let mut all = vec![gid];
    all.extend(extra);
    all.sort_unstable();
    all.dedup();
    Ok(podbox::User {
        uid,
        gid,
        groups: if uid == 0 && all == [0] {
            Vec::new()
        } else {
            all
        },
    })
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

    #[test]
    fn users_resolve_as_containerd_resolves_them() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::fs::write(
            root.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            root.path().join("etc/group"),
            "root:x:0:\nstaff:x:50:app\napp:x:1001:\nwheel:x:10:root,app\n",
        )
        .unwrap();
        let (p, c) = pod(json!({}), json!({}));
        let user = |image: &str| resolve(&p, &c, image, root.path());
        let id = |uid, gid, groups: &[u32]| podbox::User {
            uid,
            gid,
            groups: groups.to_vec(),
        };
        assert_eq!(user(""), Ok(id(0, 0, &[0, 10])));
        assert_eq!(user("app"), Ok(id(1000, 1001, &[10, 50, 1001])));
        assert_eq!(user("1000"), Ok(id(1000, 1001, &[10, 50, 1001])));
        assert_eq!(user("app:staff"), Ok(id(1000, 50, &[10, 50])));
        assert_eq!(user("1234:5"), Ok(id(1234, 5, &[5])));
        assert!(
            user("ghost")
                .unwrap_err()
                .contains("\"ghost\" is not in the image's /etc/passwd")
        );
        assert!(user("app:ghosts").unwrap_err().contains("/etc/group"));
        // runAsUser and runAsGroup over the image's; the pod's groups added.
        let (p, c) = pod(
            json!({"runAsUser": 1000, "supplementalGroups": [7], "fsGroup": 8}),
            json!({"runAsGroup": 9}),
        );
        assert_eq!(
            resolve(&p, &c, "root", root.path()),
            Ok(id(1000, 9, &[7, 8, 9, 10, 50]))
        );
    }
}
