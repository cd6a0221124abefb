//! Who is asking: the authenticated user, as upstream's `user.Info`.

use std::collections::BTreeMap;

pub const SYSTEM_MASTERS: &str = "system:masters";
pub const AUTHENTICATED: &str = "system:authenticated";

#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// A user with the groups a real authenticator would give it (adds `system:authenticated`).
    pub fn authenticated(name: &str, groups: &[&str]) -> UserInfo {
        let mut groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        if !groups.iter().any(|g| g == AUTHENTICATED) {
            groups.push(AUTHENTICATED.into());
        }
        UserInfo {
            name: name.into(),
            groups,
            ..UserInfo::default()
        }
    }

    /// The cluster administrator, as the k3s admin certificate authenticates.
    pub fn admin() -> UserInfo {
        UserInfo::authenticated("system:admin", &[SYSTEM_MASTERS])
    }

    /// `system:serviceaccount:<ns>:<name>` with the service-account groups.
    pub fn service_account(namespace: &str, name: &str, uid: &str) -> UserInfo {
        UserInfo {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            uid: uid.into(),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                AUTHENTICATED.into(),
            ],
            extra: BTreeMap::new(),
        }
    }

    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}
