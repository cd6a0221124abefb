//! Starting a pod: its images (`pull`), volumes, files and environment, its sandbox, then
//! its containers, each in its image's own root, with the events a kubelet records on the
//! way (`Created`, `Started`). A pod that cannot start says why, as the containers'
//! waiting reason.

use crate::container::ContainerRun;
use crate::{ExecTarget, Kubelet, env, events, volumes};
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret, Service};
use kube::api::{Api, ListParams};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a pod could not start: the waiting reason of its containers (`ErrImagePull`,
/// `CreateContainerConfigError`, ...) and the message.
#[derive(Debug)]
pub(crate) struct StartFailure {
    pub reason: &'static str,
    pub message: String,
}

impl StartFailure {
    /// The `Failed` event's message, as `startContainer` words it
    /// (`pkg/kubelet/kuberuntime/kuberuntime_container.go`): `Error: ` and the error, which
    /// for an image is the reason itself (`ErrImagePull`), else the message.
    pub(crate) fn event_message(&self) -> String {
        match self.reason {
            "ErrImagePull" | "ImagePullBackOff" | "ErrImageNeverPull" | "InvalidImageName" => {
                format!("Error: {}", self.reason)
            }
            _ => format!("Error: {}", self.message),
        }
    }

    pub(crate) fn new(reason: &'static str, message: impl ToString) -> StartFailure {
        StartFailure {
            reason,
            message: message.to_string(),
        }
    }
}

/// A pod whose containers all started.
pub(crate) struct StartedPod {
    pub sandbox: Arc<podbox::Sandbox>,
    pub containers: Vec<ContainerRun>,
}

/// What the containers' environments are made from: the service variables and the
/// namespace's ConfigMaps and Secrets.
struct EnvInputs {
    service_env: Vec<(String, String)>,
    config_maps: BTreeMap<String, ConfigMap>,
    secrets: BTreeMap<String, Secret>,
}

impl Kubelet {
    /// Starts `pod` in a new sandbox with its files under `dir` and `pod_ip` as its
    /// address, and makes it reachable for exec.
    pub(crate) async fn start_pod(
        &self,
        pod: &Pod,
        dir: &Path,
        pod_ip: &str,
    ) -> Result<StartedPod, StartFailure> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let spec = pod.spec.clone().unwrap_or_default();
        // Images first: a pod whose image cannot be had waits, with the pull's reason.
        let mut images = Vec::new();
        for c in &spec.containers {
            let image = self.ensure_image(pod, c).await?;
            let root = unpacked(self.image_store()?, image.clone()).await?;
            images.push((image, root));
        }
        std::fs::create_dir_all(dir.join("etc"))
            .map_err(|e| StartFailure::new("CreateContainerError", e))?;
        let cx = volumes::Context {
            client: &self.client,
            pod,
            pod_ip,
            host_ip: &self.config.node_ip,
        };
        let vols = volumes::prepare(&cx, &dir.join("volumes"))
            .await
            .map_err(|e| StartFailure::new("CreateContainerConfigError", e))?;
        let records = self.write_pod_files(dir, &name, &ns, pod_ip).await?;
        let inputs = self
            .env_inputs(pod, spec.enable_service_links.unwrap_or(true))
            .await
            .map_err(|e| StartFailure::new("CreateContainerConfigError", e))?;
        let sources = env::Sources {
            pod,
            config_maps: &inputs.config_maps,
            secrets: &inputs.secrets,
            pod_ip,
            host_ip: &self.config.node_ip,
        };
        let sandbox = Arc::new(self.create_sandbox(&name, pod_ip, &records)?);
        let mut runs = Vec::new();
        for (c, (image, root)) in spec.containers.iter().zip(images) {
            let user = check_user(pod, c, &image.config, &root)?;
            let env = env::container_env(&image.config.env, c, &inputs.service_env, &sources)
                .map_err(|e| StartFailure::new("CreateContainerConfigError", e))?;
            let mounts = container_mounts(c, dir, &vols)?;
            let layer = dir.join("containers").join(&c.name);
            let mut cspec = container_spec(c, &image.config, &root, &layer, env, mounts);
            cspec.user = Some(user);
            let log = dir.join("logs").join(format!("{}.log", c.name));
            let termination = dir.join("termination").join(&c.name);
            let mut run =
                ContainerRun::new(c, cspec, log, &image).with_termination_file(termination);
            self.start_container(pod, &mut run, &sandbox).await?;
            runs.push(run);
        }
        self.add_exec_target(pod, &sandbox, &runs);
        Ok(StartedPod {
            sandbox,
            containers: runs,
        })
    }

    /// Writes the pod's `/etc` files, its DNS records and its log directory under `dir`;
    /// returns the path of the DNS records.
    async fn write_pod_files(
        &self,
        dir: &Path,
        name: &str,
        ns: &str,
        pod_ip: &str,
    ) -> Result<PathBuf, StartFailure> {
        let failed = |e: std::io::Error| StartFailure::new("CreateContainerError", e);
        // /etc/hosts and /etc/resolv.conf as the kubelet writes them
        // (`kubelet_pods.go` managedHostsFileContent, dns.go for ClusterFirst).
        let hosts = format!(
            "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n{pod_ip}\t{name}\n"
        );
        let resolv = format!(
            "search {ns}.svc.cluster.local svc.cluster.local cluster.local\nnameserver {}\noptions ndots:5\n",
            apiserver::CLUSTER_DNS_IP
        );
        let write = |f: &str, s: &str| std::fs::write(dir.join("etc").join(f), s).map_err(failed);
        write("hosts", &hosts)?;
        write("resolv.conf", &resolv)?;
        write("hostname", &format!("{name}\n"))?;
        let records = dir.join("dns");
        std::fs::write(&records, self.dns_records().await).map_err(failed)?;
        std::fs::create_dir_all(dir.join("logs")).map_err(failed)?;
        Ok(records)
    }

    /// The environment's sources: the `kubernetes` Service always, the namespace's other
    /// Services when `service_links`, and the ConfigMaps and Secrets the pod's containers
    /// name, each read by name, as the kubelet reads them (`kubelet_pods.go`,
    /// `makeEnvironmentVariables`): a node may read only the objects its pods reference
    /// (`plugin/pkg/auth/authorizer/node/node_authorizer.go`).
    async fn env_inputs(&self, pod: &Pod, service_links: bool) -> Result<EnvInputs, String> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        let svc_api: Api<Service> = Api::namespaced(self.client.clone(), ns);
        let mut services: Vec<Service> = Vec::new();
        if let Ok(Some(k)) = Api::<Service>::namespaced(self.client.clone(), "default")
            .get_opt("kubernetes")
            .await
        {
            services.push(k);
        }
        if service_links {
            for s in svc_api
                .list(&ListParams::default())
                .await
                .map(|l| l.items)
                .unwrap_or_default()
            {
                if !(ns == "default" && s.metadata.name.as_deref() == Some("kubernetes")) {
                    services.push(s);
                }
            }
        }
        let (config_maps, secrets) = env::referenced(pod);
        Ok(EnvInputs {
            service_env: env::service_vars(&services),
            config_maps: self.by_name(ns, config_maps).await?,
            secrets: self.by_name(ns, secrets).await?,
        })
    }

    /// The objects of kind `K` named `names` in `ns` that exist, by name. Only a missing
    /// object is absent: any other failure to read one (a refusal while the Node
    /// authorizer's graph catches up, say) fails the start, which is tried again, as the
    /// kubelet's `makeEnvironmentVariables` returns it.
    async fn by_name<K: crate::NamespacedObject>(
        &self,
        ns: &str,
        names: BTreeSet<String>,
    ) -> Result<BTreeMap<String, K>, String> {
        let api = Api::<K>::namespaced(self.client.clone(), ns);
        let mut found = BTreeMap::new();
        for name in names {
            match api.get_opt(&name).await {
                Ok(Some(o)) => {
                    found.insert(name, o);
                }
                Ok(None) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(found)
    }

    /// The pod's sandbox: its hostname, its address, and the API server and cluster DNS
    /// reachable inside.
    fn create_sandbox(
        &self,
        name: &str,
        pod_ip: &str,
        records: &Path,
    ) -> Result<podbox::Sandbox, StartFailure> {
        let failed = |e| StartFailure::new("CreatePodSandboxError", e);
        podbox::Sandbox::create(&podbox::SandboxSpec {
            hostname: name.to_string(),
            addresses: vec![
                pod_ip
                    .parse()
                    .map_err(|_| failed(format!("bad pod IP {pod_ip}")))?,
            ],
            api: Some(podbox::ApiBridge {
                service_ip: service_ip(apiserver::KUBERNETES_SERVICE_IP)?,
                socket: self.config.api_socket.display().to_string(),
            }),
            dns: Some(podbox::ClusterDns {
                service_ip: service_ip(apiserver::CLUSTER_DNS_IP)?,
                records: records.display().to_string(),
            }),
        })
        .map_err(|e| failed(e.to_string()))
    }

    /// Starts one container, with the events a kubelet records around it.
    async fn start_container(
        &self,
        pod: &Pod,
        run: &mut ContainerRun,
        sandbox: &podbox::Sandbox,
    ) -> Result<(), StartFailure> {
        run.start(sandbox)
            .await
            .map_err(|e| StartFailure::new("RunContainerError", e))?;
        self.record_started(pod, &run.name).await;
        Ok(())
    }

    /// The events of a container's start, each time it starts (`startContainer`,
    /// `pkg/kubelet/kuberuntime/kuberuntime_container.go`).
    pub(crate) async fn record_started(&self, pod: &Pod, container: &str) {
        let field = events::container_field(container);
        let recorder = self.recorder();
        let created = format!("Created container: {container}");
        recorder
            .record(pod, "Normal", "Created", &created, Some(&field))
            .await;
        let started = format!("Started container {container}");
        recorder
            .record(pod, "Normal", "Started", &started, Some(&field))
            .await;
    }

    /// Makes the started pod reachable for `pods/exec` and `pods/log`.
    fn add_exec_target(&self, pod: &Pod, sandbox: &Arc<podbox::Sandbox>, runs: &[ContainerRun]) {
        let target = ExecTarget {
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            sandbox: sandbox.clone(),
            containers: runs
                .iter()
                .map(|r| (r.name.clone(), r.spec.clone()))
                .collect(),
            pids: runs
                .iter()
                .map(|r| (r.name.clone(), r.pid.clone()))
                .collect(),
            alive: runs
                .iter()
                .map(|r| (r.name.clone(), r.alive.subscribe()))
                .collect(),
            io: runs
                .iter()
                .map(|r| (r.name.clone(), r.io.clone()))
                .collect(),
        };
        let key = (
            pod.metadata.namespace.clone().unwrap_or_default(),
            pod.metadata.name.clone().unwrap_or_default(),
        );
        self.targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, target);
    }
}

/// One of the cluster's Service addresses, as an address.
fn service_ip(ip: &str) -> Result<std::net::Ipv4Addr, StartFailure> {
    ip.parse()
        .map_err(|_| StartFailure::new("CreatePodSandboxError", format!("bad service IP {ip}")))
}

/// Who `c` runs as (`user::resolve`), if it may and can run here: `runAsNonRoot` is
/// refused as the kubelet refuses it (`CreateContainerConfigError`); a user the image does
/// not have, or one the pod's user namespace cannot hold, is refused with a clear error
/// rather than run as root. A node that is not root maps one id into a pod, its root.
fn check_user(
    pod: &Pod,
    c: &Container,
    image: &images::ImageConfig,
    root: &Path,
) -> Result<podbox::User, StartFailure> {
    let image_user = crate::user::image_user(&image.user);
    crate::user::verify_run_as_non_root(pod, c, &image_user)
        .map_err(|e| StartFailure::new("CreateContainerConfigError", e))?;
    let user = crate::user::resolve(pod, c, &image.user, root).map_err(|e| {
        StartFailure::new("CreateContainerError", format!("container {}: {e}", c.name))
    })?;
    let root_only = user.uid == 0 && user.gid == 0 && user.groups.is_empty();
    if !root_only && !podbox::maps_id_range() {
        return Err(StartFailure::new(
            "CreateContainerError",
            format!(
                "container {} would run as uid {} gid {}: this node runs without root or subordinate ids, so a pod's user namespace maps one id, its root, and containers run as root only",
                c.name, user.uid, user.gid
            ),
        ));
    }
    let ids = std::iter::once(user.uid)
        .chain(std::iter::once(user.gid))
        .chain(user.groups.iter().copied());
    if let Some(out) = ids.into_iter().find(|i| *i >= podbox::ID_COUNT) {
        return Err(StartFailure::new(
            "CreateContainerError",
            format!(
                "container {}: id {out} is outside the {} ids a pod's user namespace maps",
                c.name,
                podbox::ID_COUNT
            ),
        ));
    }
    Ok(user)
}

/// The image's root, unpacked once and owned by the pod's root (off the async threads:
/// the first unpacking of an image takes a moment).
async fn unpacked(store: images::Store, image: images::Image) -> Result<PathBuf, StartFailure> {
    // A pod that maps a range of ids sees the image's own owners; one that maps only its
    // root sees every file as root's.
    let owner = match podbox::id_mapping() {
        podbox::IdMapping::Range { base } => images::Owner::Shifted(base, base),
        podbox::IdMapping::Subordinate { .. } => images::Owner::GivenBy(&PodIds),
        podbox::IdMapping::Single { uid, gid } => images::Owner::Ids(uid, gid),
    };
    tokio::task::spawn_blocking(move || store.rootfs_owned(&image, owner))
        .await
        .map_err(|e| StartFailure::new("CreateContainerError", e))?
        .map_err(|e| StartFailure::new("CreateContainerError", e))
}

/// The pod's ids on a rootless node with subordinate ids, to which only a process in a
/// pod's user namespace may give an image's files (`podbox::give_to_pod_ids`).
struct PodIds;

impl images::GiveOwners for PodIds {
    fn name(&self) -> String {
        match podbox::id_mapping() {
            podbox::IdMapping::Subordinate {
                uid,
                gid,
                sub_uid,
                sub_gid,
            } => format!("{uid}.{gid}.sub{sub_uid}.{sub_gid}"),
            other => format!("{other:?}"),
        }
    }

    fn give(&self, root: &Path, owners: &[images::LayerOwner]) -> Result<(), String> {
        let owners: Vec<podbox::FileOwner> = owners
            .iter()
            .map(|o| podbox::FileOwner {
                path: o.path.clone(),
                uid: o.uid,
                gid: o.gid,
                mode: o.mode,
            })
            .collect();
        podbox::give_to_pod_ids(root, &owners)
    }

    fn remove(&self, root: &Path) -> Result<(), String> {
        podbox::remove_as_pod_root(root)
    }
}

/// `command`/`args` over the image's entrypoint/cmd, as the kubelet combines them
/// (`pkg/kubelet/kuberuntime/helpers.go`, via `kubecontainer.ExpandContainerCommandAndArgs`):
/// a command replaces the entrypoint and drops the image's cmd; args replace the cmd.
pub(crate) fn argv(
    image: &images::ImageConfig,
    command: Option<&[String]>,
    args: Option<&[String]>,
) -> Vec<String> {
    let command = command.filter(|c| !c.is_empty());
    let args = args.filter(|a| !a.is_empty());
    match (command, args) {
        (Some(c), Some(a)) => c.iter().chain(a).cloned().collect(),
        (Some(c), None) => c.to_vec(),
        (None, Some(a)) => image.entrypoint.iter().chain(a).cloned().collect(),
        (None, None) => image.entrypoint.iter().chain(&image.cmd).cloned().collect(),
    }
}

/// How `c` runs from its image: its command, environment, working directory (the
/// container's, else the image's, else `/`), mounts, and its root: the image's unpacked
/// `root` under a writable layer in `layer`.
fn container_spec(
    c: &Container,
    image: &images::ImageConfig,
    root: &Path,
    layer: &Path,
    env: Vec<(String, String)>,
    mounts: Vec<podbox::Mount>,
) -> podbox::ContainerSpec {
    let cwd = c
        .working_dir
        .clone()
        .filter(|d| !d.is_empty())
        .or_else(|| (!image.working_dir.is_empty()).then(|| image.working_dir.clone()))
        .unwrap_or_else(|| "/".into());
    podbox::ContainerSpec {
        argv: argv(image, c.command.as_deref(), c.args.as_deref()),
        env,
        cwd,
        mounts,
        tty: false,
        image: Some(podbox::ImageRoot {
            lower: root.display().to_string(),
            // Each run gets its own `<layer>/<run>/{upper,work}` (`ContainerRun::start`).
            upper: layer.join("0").join("upper").display().to_string(),
            work: layer.join("0").join("work").display().to_string(),
        }),
        join: None,
        user: None,
    }
}

/// The container's mounts: the pod's `/etc` files, then its volume mounts.
fn container_mounts(
    c: &Container,
    dir: &Path,
    vols: &BTreeMap<String, PathBuf>,
) -> Result<Vec<podbox::Mount>, StartFailure> {
    let mut mounts: Vec<podbox::Mount> = ["hosts", "resolv.conf", "hostname"]
        .into_iter()
        .map(|f| podbox::Mount {
            source: dir.join("etc").join(f).display().to_string(),
            target: format!("/etc/{f}"),
            read_only: false,
        })
        .collect();
    // The termination message file (`terminationMessagePath`, `/dev/termination-log` by
    // default), a file of the pod's that the kubelet reads when the container ends
    // (`pkg/kubelet/kuberuntime/kuberuntime_container.go`, `makeMounts`; read by
    // `ContainerRun::termination_message`).
    let termination = dir.join("termination").join(&c.name);
    let made = std::fs::create_dir_all(dir.join("termination"))
        .and_then(|()| std::fs::write(&termination, b""))
        .and_then(|()| {
            let (uid, gid) = podbox::pod_root_ids();
            std::os::unix::fs::chown(&termination, Some(uid), Some(gid))
        })
        // Writable by whichever user the container runs as (`kuberuntime_container.go`,
        // `makeMounts`: `Chmod(containerLogPath, 0666)`).
        .and_then(|()| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&termination, std::fs::Permissions::from_mode(0o666))
        });
    made.map_err(|e| StartFailure::new("CreateContainerError", e))?;
    mounts.push(podbox::Mount {
        source: termination.display().to_string(),
        target: c
            .termination_message_path
            .clone()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/dev/termination-log".into()),
        read_only: false,
    });
    for m in c.volume_mounts.iter().flatten() {
        let Some(src) = vols.get(&m.name) else {
            return Err(StartFailure::new(
                "CreateContainerConfigError",
                format!("volume {:?} not found", m.name),
            ));
        };
        let source = match &m.sub_path {
            Some(sp) if !sp.is_empty() => src.join(sp),
            _ => src.clone(),
        };
        mounts.push(podbox::Mount {
            source: source.display().to_string(),
            target: m.mount_path.clone(),
            read_only: m.read_only.unwrap_or(false),
        });
    }
    Ok(mounts)
}
